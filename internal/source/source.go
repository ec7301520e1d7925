// Package source holds the camera links: each source owns one link, turns
// its bytes into frames and hands them to a Sink. A Supervisor restarts a
// failed source with capped exponential backoff and jitter, and marks the
// camera offline while its source is down or silent.
package source

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"time"

	"github.com/coder/websocket"

	"github.com/camrelay/camrelay/internal/frame"
)

// Sink receives what a source produces. The gateway's sink publishes into the
// camera's hub and counts everything in metrics. Implementations must be safe
// for concurrent use and must never block on viewers.
type Sink interface {
	// Publish hands over a checked frame; the sink owns it from then on.
	Publish(f *frame.Frame) uint64
	// SetOnline records that the link is delivering, or not.
	SetOnline(online bool)
	// Message keeps a JSON text message from the camera; typ is its "type"
	// field ("hello", "status", ...).
	Message(typ string, msg json.RawMessage)
	// Dropped counts a rejected frame or message by reason.
	Dropped(reason string)
	// Connected counts a link coming up.
	Connected()
}

// Runner is a source whose link the gateway opens itself (demo, serial,
// mjpeg, ws-pull). Run returns when the link fails or ctx ends; the
// Supervisor calls it again after a backoff.
type Runner interface {
	Run(ctx context.Context, sink Sink) error
}

// Deliver checks data as a JPEG frame of at most max bytes and publishes it,
// or counts it as dropped. It returns the check's error, if any, so that a
// source can log it; a bad frame never ends a link.
func Deliver(sink Sink, data []byte, max int64, received, captured time.Time) error {
	if err := frame.Check(data, max); err != nil {
		sink.Dropped(frame.Reason(err))
		return err
	}
	f := &frame.Frame{Data: data, Received: received, Captured: captured}
	f.Width, f.Height, _ = frame.Size(data)
	sink.Publish(f)
	return nil
}

// Backoff is a capped exponential backoff with full jitter (the AWS
// architecture blog's "full jitter": a uniform pick in [0, cap)), so that
// cameras restarted together by a power cut do not retry in lockstep.
type Backoff struct {
	// Min is the first delay's ceiling. Zero means 250 ms.
	Min time.Duration
	// Max caps the delay. Zero means 30 s.
	Max time.Duration

	attempt int
}

// Next returns the delay before the next attempt and counts the attempt.
func (b *Backoff) Next() time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = 250 * time.Millisecond
	}
	if hi <= 0 {
		hi = 30 * time.Second
	}
	ceil := lo << min(b.attempt, 30)
	if ceil > hi || ceil <= 0 {
		ceil = hi
	}
	b.attempt++
	// Never less than a tenth of the ceiling: a zero delay would spin.
	return ceil/10 + rand.N(ceil-ceil/10+1)
}

// Reset starts the sequence again after a link that worked.
func (b *Backoff) Reset() { b.attempt = 0 }

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// messageReader reads WebSocket messages as Conn.Read does, but into a
// buffer sized for the previous message of its kind instead of one that
// grows from 512 bytes: io.ReadAll costs a 35 KB frame seven reallocations
// and twice its size in garbage, at every frame. The buffer is the frame's
// own: frames are kept in the ring, never reused.
type messageReader struct {
	last [2]int // the previous message's size, by type (text, binary)
}

func (m *messageReader) read(ctx context.Context, c *websocket.Conn) (websocket.MessageType, []byte, error) {
	typ, r, err := c.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	k := 0
	if typ == websocket.MessageBinary {
		k = 1
	}
	b := make([]byte, 0, m.last[k]+m.last[k]/8+512)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			m.last[k] = len(b)
			return typ, b, nil
		}
		if err != nil {
			return 0, nil, err
		}
	}
}
