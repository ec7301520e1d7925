package server

import (
	"log/slog"
	"sync"
	"time"
)

// slowLogEvery is how often at most the slow-viewer warning is logged: one
// line per interval with the counts, not one per viewer, so a flood of bad
// clients cannot flood the log.
const slowLogEvery = time.Minute

// slowLog aggregates viewers dropped for stalling. Safe for concurrent use.
type slowLog struct {
	log *slog.Logger

	mu      sync.Mutex
	last    time.Time
	pending map[string]int // camera → viewers dropped since the last line
}

func (l *slowLog) dropped(camera string, now time.Time) {
	l.mu.Lock()
	if l.pending == nil {
		l.pending = map[string]int{}
	}
	l.pending[camera]++
	if now.Sub(l.last) < slowLogEvery {
		l.mu.Unlock()
		return
	}
	counts := l.pending
	l.pending, l.last = nil, now
	l.mu.Unlock()
	for cam, n := range counts {
		l.log.Warn("slow viewers disconnected: their sockets took nothing for the write timeout",
			"camera", cam, "viewers", n, "period", slowLogEvery)
	}
}
