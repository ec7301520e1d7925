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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "camrelay:", err)
		os.Exit(1)
	}
}
