package main

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/frame"
	"github.com/camrelay/camrelay/internal/hub"
	"github.com/camrelay/camrelay/internal/metrics"
	"github.com/camrelay/camrelay/internal/source"
)

// sink is a camera's source.Sink: it publishes into the camera's hub and
// counts everything in metrics. Collectors are looked up once.
type sink struct {
	hub *hub.Hub
	m   *metrics.Metrics
	id  string

	framesIn, bytesIn, connects prometheus.Counter
	size, interval, capture     prometheus.Observer
	up                          prometheus.Gauge

	log *slog.Logger

	mu       sync.Mutex // guards the fields below
	last     time.Time  // receive time of the previous frame, for the interval
	drops    map[string]int
	lastWarn time.Time
}

// dropWarnEvery is how often at most dropped frames are logged: one line per
// interval with counts by reason, never one per frame.
const dropWarnEvery = time.Minute

var _ source.Sink = (*sink)(nil)

func newSink(h *hub.Hub, m *metrics.Metrics, id string, log *slog.Logger) *sink {
	return &sink{
		hub: h, m: m, id: id, log: log,
		framesIn: m.FramesIn.WithLabelValues(id),
		bytesIn:  m.BytesIn.WithLabelValues(id),
		connects: m.Reconnects.WithLabelValues(id),
		size:     m.FrameBytes.WithLabelValues(id),
		interval: m.FrameInterval.WithLabelValues(id),
		capture:  m.CaptureDelay.WithLabelValues(id),
		up:       m.CameraUp.WithLabelValues(id),
	}
}

func (s *sink) Publish(f *frame.Frame) uint64 {
	seq := s.hub.Publish(f)
	s.framesIn.Inc()
	s.bytesIn.Add(float64(len(f.Data)))
	s.size.Observe(float64(len(f.Data)))
	if !f.Captured.IsZero() {
		s.capture.Observe(f.Received.Sub(f.Captured).Seconds())
	}
	s.mu.Lock()
	prev := s.last
	s.last = f.Received
	s.mu.Unlock()
	if !prev.IsZero() {
		s.interval.Observe(f.Received.Sub(prev).Seconds())
	}
	s.up.Set(1)
	return seq
}

func (s *sink) SetOnline(online bool) {
	s.hub.SetOnline(online)
	if online {
		s.up.Set(1)
	} else {
		s.up.Set(0)
	}
}

// knownMessages bound the "type" label: anything else counts as "other".
var knownMessages = map[string]bool{"hello": true, "status": true, "ack": true, "log": true}

func (s *sink) Message(typ string, msg json.RawMessage) {
	switch typ {
	case "hello":
		s.hub.SetHello(msg)
	case "status":
		s.hub.SetStatus(msg)
	}
	if !knownMessages[typ] {
		typ = "other"
	}
	s.m.Messages.WithLabelValues(s.id, typ).Inc()
}

func (s *sink) Dropped(reason string) {
	s.m.FramesDropped.WithLabelValues(s.id, reason).Inc()
	now := time.Now()
	s.mu.Lock()
	if s.drops == nil {
		s.drops = map[string]int{}
	}
	s.drops[reason]++
	if now.Sub(s.lastWarn) < dropWarnEvery {
		s.mu.Unlock()
		return
	}
	drops := s.drops
	s.drops, s.lastWarn = nil, now
	s.mu.Unlock()
	args := []any{"period", dropWarnEvery}
	for r, n := range drops {
		args = append(args, r, n)
	}
	s.log.Warn("frames from the camera dropped", args...)
}

func (s *sink) Connected() { s.connects.Inc() }
