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
// viewer and its goroutines' stacks) and makes garbage at its cameras'
// rate, one buffer per frame, whatever the number of viewers. How often it
// collects depends on the headroom alone: what the heap may grow past what
// the last collection kept. Go's default (GOGC 100: as much again) was
// megabytes of idle memory per hundred viewers, while a small gateway's
// share was a heap its camera filled in a second, each collection scanning
// every viewer's stack. So the headroom is gcFloor, enough for several
// seconds of one camera's frames, and a quarter of what is kept once that
// is more (past 16 MiB kept: a thousand viewers).
const (
	gcPercent = 25
	gcFloor   = 4 << 20
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
