package source

import (
	"time"

	"golang.org/x/time/rate"

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
	return &rateSink{Sink: sink, lim: rate.NewLimiter(rate.Limit(fps), max(2, fps/2))}
}

// rateSink is LimitRate's Sink. Safe for concurrent use.
type rateSink struct {
	Sink
	lim *rate.Limiter
}

func (r *rateSink) Publish(f *frame.Frame) uint64 {
	if !r.take(time.Now()) {
		r.Sink.Dropped(DropRate)
		return 0
	}
	return r.Sink.Publish(f)
}

// take takes a token for a frame that came at now, if there is one.
func (r *rateSink) take(now time.Time) bool { return r.lim.AllowN(now, 1) }
