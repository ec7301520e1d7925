package main

import "context"

// link is one connected uplink to the gateway as the firmware's transport
// sees it: JPEG frames out, JSON text both ways. ws.go implements it over
// the WebSocket uplink; a UART link (framed packets over a serial device)
// implements the same four methods, and the camera needs no change.
//
// One goroutine sends (SendFrame, SendText) while another receives; Close
// may be called from either and ends Receive.
type link interface {
	// SendFrame sends one complete JPEG.
	SendFrame(ctx context.Context, jpeg []byte) error
	// SendText sends one JSON message.
	SendText(ctx context.Context, msg []byte) error
	// Receive returns the next JSON message from the gateway; it fails
	// once the link has ended.
	Receive(ctx context.Context) ([]byte, error)
	// Close ends the link, politely where the transport can.
	Close() error
}

// dialer connects a camera's uplink; the camera calls it again after a
// backoff whenever the link ends.
type dialer func(ctx context.Context) (link, error)
