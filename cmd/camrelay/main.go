// Command camrelay is the gateway: it takes JPEG frames from camera boards
// and fans them out to any number of viewers over WebSocket, MJPEG and
// snapshots. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/camrelay/camrelay/internal/gctune"
)

// The garbage collector's pace, unless GOGC says otherwise. The gateway
// holds little live data (a ring of frames per camera, a few KiB per
// viewer) and makes garbage at its cameras' rate, one buffer per frame.
// Go's default of 100 lets the heap grow to twice what is live between
// collections, which with a thousand viewers is megabytes of idle memory
// on a Raspberry Pi: at 50 it stays within 1.5×. A small gateway's 1.5× is
// a heap its camera fills in a second, though, and each collection scans
// every viewer's goroutine stack, so the headroom never drops below
// gcFloor: one camera then collects every ten seconds or so.
const (
	gcPercent = 50
	gcFloor   = 8 << 20
)

func main() {
	if os.Getenv("GOGC") == "" {
		gctune.Start(gcPercent, gcFloor)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "camrelay:", err)
		os.Exit(1)
	}
}
