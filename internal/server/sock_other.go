//go:build !linux

package server

import (
	"net"
	"time"
)

func tuneViewer(net.Conn) {}

// pacer is Linux-only; elsewhere every frame is written when ready and the
// write timeout alone guards against stalled viewers.
type pacer struct{}

func newPacer(net.Conn) *pacer { return nil }

type readiness int

const (
	drained readiness = iota
	notYet
	unsure
)

func (p *pacer) ready(time.Time, int, bool) readiness { return drained }
func (p *pacer) closed() bool                         { return false }
