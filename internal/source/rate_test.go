package source

import (
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/frame"
)

func TestLimitRate(t *testing.T) {
	t.Run("a flood keeps to the rate plus one burst", func(t *testing.T) {
		sink := newLinkSink()
		lim := LimitRate(sink, 20).(*rateSink)
		start := time.Now()
		// 1000 frames within one simulated second.
		for i := range 1000 {
			if lim.take(start.Add(time.Duration(i) * time.Millisecond)) {
				lim.Sink.Publish(&frame.Frame{Received: start})
			} else {
				lim.Sink.Dropped(DropRate)
			}
		}
		got, _, _ := sink.snapshot()
		// 10 tokens to start with, 20 more over the second.
		if n := len(got); n < 29 || n > 31 {
			t.Errorf("%d frames passed, want about 30", n)
		}
		if n := sink.dropped(DropRate); n != 1000-len(got) {
			t.Errorf("%d counted as rate drops, want %d", n, 1000-len(got))
		}
	})
	t.Run("a camera at the rate with jitter loses nothing", func(t *testing.T) {
		lim := LimitRate(newLinkSink(), 30).(*rateSink)
		now := time.Now()
		for i := range 300 {
			// 30 fps on average, but frames come in clumps of three.
			step := 100 * time.Millisecond
			if i%3 != 0 {
				step = 0
			}
			now = now.Add(step)
			if !lim.take(now) {
				t.Fatalf("frame %d dropped", i)
			}
		}
	})
	t.Run("zero means no limit", func(t *testing.T) {
		sink := newLinkSink()
		if LimitRate(sink, 0) != Sink(sink) {
			t.Error("LimitRate(sink, 0) wrapped the sink")
		}
	})
	t.Run("a real flood through Publish", func(t *testing.T) {
		sink := newLinkSink()
		lim := LimitRate(sink, 10)
		jpg := testFrames(t, 1)[0]
		for range 200 {
			if err := Deliver(lim, jpg, DefaultMaxFrame, time.Now(), time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		got, _, _ := sink.snapshot()
		if len(got) < 5 || len(got) > 10 || sink.dropped(DropRate) != 200-len(got) {
			t.Errorf("%d passed, %d dropped; want the burst of 5 (plus what the test's time refilled)", len(got), sink.dropped(DropRate))
		}
	})
}
