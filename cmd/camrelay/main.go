// Command camrelay is the gateway: it takes JPEG frames from camera boards
// and fans them out to any number of viewers over WebSocket, MJPEG and
// snapshots. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// gcPercent is the garbage collector's target unless GOGC says otherwise.
// The gateway holds little live data (a ring of frames per camera, a few
// KiB per viewer) and allocates mostly short-lived frames, so Go's default
// of 100, which lets the heap grow to twice what is live between
// collections, mostly buys idle memory: on a Raspberry Pi with a thousand
// viewers that is megabytes. At 50 the heap stays within 1.5× of what is
// live; the extra collections scan a small heap and cost well under 1 % of
// a core (docs/BENCHMARKS.md).
const gcPercent = 50

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "camrelay:", err)
		os.Exit(1)
	}
}
