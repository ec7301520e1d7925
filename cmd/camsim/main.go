// Command camsim is a software ESP32-CAM: it speaks to a camrelay gateway
// exactly what the companion firmware speaks, so the gateway can be
// demonstrated, tested and load-tested without a board.
//
// Over the WebSocket uplink it dials ws://GATEWAY/cam/ID/ingest with the
// headers arduinoWebSockets sends (Authorization: Bearer TOKEN,
// Origin: file://, subprotocol "arduino"), sends a hello, a status every
// 5 s and real JPEG frames (a test pattern with a frame counter and a
// clock, labelled with the camera id), answers control commands with acks,
// follows demand (idle or full rate), and reconnects with capped
// exponential backoff and jitter when the gateway goes away.
//
//	camsim --gateway ws://127.0.0.1:8080 --id front --token "$FRONT_TOKEN"
//	camsim --cameras 50 --id load --fps 10 --framesize QVGA   # load test: load-1 … load-50
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
		fmt.Fprintln(os.Stderr, "camsim:", err)
		os.Exit(1)
	}
}
