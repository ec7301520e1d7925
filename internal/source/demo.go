package source

import (
	"context"
	"fmt"
	"time"

	"github.com/camrelay/camrelay/internal/testpattern"
)

// Demo is the built-in camera: an animated test pattern (moving shapes, a
// clock with milliseconds, a frame counter) at a fixed size and rate. It
// needs no hardware, so `camrelay --demo` shows live video on a fresh machine.
type Demo struct {
	// Width and Height in pixels, multiples of 16. Zero means 640x480.
	Width, Height int
	// FPS is the frame rate. Zero means 20.
	FPS int
	// Label is drawn in the picture. Empty means "demo WxH".
	Label string
	// MaxFrame is the size limit frames are checked against. Zero means
	// DefaultMaxFrame.
	MaxFrame int64
}

var _ Runner = (*Demo)(nil)

// Run renders and publishes frames until ctx ends.
func (d *Demo) Run(ctx context.Context, sink Sink) error {
	w, h, fps := d.Width, d.Height, d.FPS
	if w == 0 || h == 0 {
		w, h = 640, 480
	}
	if fps <= 0 {
		fps = 20
	}
	label := d.Label
	if label == "" {
		label = fmt.Sprintf("demo %dx%d", w, h)
	}
	maxFrame := d.MaxFrame
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	p, err := testpattern.New(testpattern.Options{Width: w, Height: h, Label: label})
	if err != nil {
		return fmt.Errorf("demo pattern: %w", err)
	}
	sink.Connected()
	// A ticker drops ticks when rendering falls behind, instead of
	// bursting to catch up.
	t := time.NewTicker(time.Second / time.Duration(fps))
	defer t.Stop()
	var n uint64
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-t.C:
			n++
			data := p.Render(n, now)
			if err := Deliver(sink, data, maxFrame, time.Now(), now); err != nil {
				return fmt.Errorf("demo frame %d: %w", n, err)
			}
		}
	}
}
