package source

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/camrelay/camrelay/internal/frame"
)

// DefaultOfflineAfter is how long a camera may stay silent before it is shown
// offline.
const DefaultOfflineAfter = 5 * time.Second

// Supervisor runs one camera's source for the lifetime of the gateway. It
// restarts a Runner that fails, and, for every kind of source, marks the
// camera offline after a silence.
type Supervisor struct {
	source  Runner
	sink    *watchedSink
	offline time.Duration
	log     *slog.Logger
	backoff Backoff
}

// NewSupervisor returns the supervisor of one camera. src is nil for a push
// camera, whose links arrive through its HTTP handler; such a source must
// publish into Sink() so that its silence is noticed. offlineAfter zero
// means DefaultOfflineAfter; log nil means slog.Default().
func NewSupervisor(src Runner, sink Sink, offlineAfter time.Duration, log *slog.Logger) *Supervisor {
	if offlineAfter <= 0 {
		offlineAfter = DefaultOfflineAfter
	}
	if log == nil {
		log = slog.Default()
	}
	return &Supervisor{source: src, sink: &watchedSink{Sink: sink}, offline: offlineAfter, log: log}
}

// Sink returns the sink that the camera's source publishes into.
func (s *Supervisor) Sink() Sink { return s.sink }

// stableRun is how long a run must last to count as having worked, so that
// the next failure starts the backoff from its minimum again.
const stableRun = 10 * time.Second

// Run blocks until ctx ends. It returns nil then: a source failing is not an
// error of the gateway, it is logged and retried.
func (s *Supervisor) Run(ctx context.Context) error {
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		s.watchSilence(ctx)
	}()
	defer func() { <-watchDone }()

	if s.source == nil {
		<-ctx.Done()
		return nil
	}
	failing := false // log the first failure of a streak, not every retry
	for {
		start := time.Now()
		err := s.source.Run(ctx, s.sink)
		s.sink.SetOnline(false)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > stableRun {
			s.backoff.Reset()
			failing = false
		}
		delay := s.backoff.Next()
		if !failing {
			s.log.Warn("camera link down, retrying", "err", err, "retry_in", delay.Round(time.Millisecond))
		} else {
			s.log.Debug("camera link still down", "err", err, "retry_in", delay.Round(time.Millisecond))
		}
		failing = true
		if !sleep(ctx, delay) {
			return nil
		}
	}
}

// watchSilence marks the camera offline once no frame has come for
// offline. It checks four times per period, so offline shows within a
// quarter period of the deadline.
func (s *Supervisor) watchSilence(ctx context.Context) {
	t := time.NewTicker(s.offline / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			last := s.sink.last.Load()
			if last != 0 && now.Sub(time.Unix(0, last)) >= s.offline {
				s.sink.SetOnline(false)
			}
		}
	}
}

// watchedSink records the time of each publish for the silence watch.
type watchedSink struct {
	Sink
	last atomic.Int64 // unix nanoseconds of the last publish
}

func (w *watchedSink) Publish(f *frame.Frame) uint64 {
	w.last.Store(f.Received.UnixNano())
	return w.Sink.Publish(f)
}
