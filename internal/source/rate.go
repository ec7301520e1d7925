package source

import (
	"sync"
	"time"

	"github.com/camrelay/camrelay/internal/frame"
)

// DropRate is the Dropped reason of a frame over a link's rate limit.
const DropRate = "rate"

// LimitRate returns a Sink that passes at most fps frames per second on to
// sink and counts the rest as Dropped(DropRate); everything else goes
// straight through. The link itself stays up: a board that floods (a
// firmware bug, a capture loop without a delay, a hostile uplink) costs the
// gateway the reading and checking of its frames, but never the fan-out of
// every one of them to every viewer. fps <= 0 returns sink unchanged.
//
// It is a token bucket that holds half a second of frames, at least two:
// WiFi delivers frames in clumps, and a camera that keeps to the rate on
// average must not lose frames to its jitter.
func LimitRate(sink Sink, fps int) Sink {
	if fps <= 0 {
		return sink
	}
	burst := max(2, float64(fps)/2)
	return &rateSink{Sink: sink, rate: float64(fps), burst: burst, tokens: burst}
}

// rateSink is LimitRate's Sink. Safe for concurrent use.
type rateSink struct {
	Sink
	rate, burst float64 // frames per second, bucket size

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func (r *rateSink) Publish(f *frame.Frame) uint64 {
	if !r.take(time.Now()) {
		r.Sink.Dropped(DropRate)
		return 0
	}
	return r.Sink.Publish(f)
}

// take refills the bucket for the time since the last frame and takes a
// token if there is one.
func (r *rateSink) take(now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() {
		r.tokens = min(r.burst, r.tokens+now.Sub(r.last).Seconds()*r.rate)
	}
	r.last = now
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	return true
}
