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

func (p *pacer) init(net.Conn) bool { return false }

type readiness int

const (
	drained readiness = iota
	notYet
	unsure
)

func (p *pacer) ready(time.Time, int, bool) readiness { return drained }
func (p *pacer) closed() bool                         { return false }
func (p *pacer) trusted() bool                        { return false }
func (p *pacer) distrust()                            {}

// directWriter is Linux-only: elsewhere viewers are never written to by
// the camera's direct fan-out.
type directWriter struct{}

func (d *directWriter) init(net.Conn) bool { return false }

func (d *directWriter) write([][]byte) (int, error) { return 0, errWouldBlock }
