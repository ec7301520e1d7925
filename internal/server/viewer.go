package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/frame"
	"github.com/camrelay/camrelay/internal/hub"
	"github.com/camrelay/camrelay/internal/metrics"
	"github.com/camrelay/camrelay/internal/wsconn"
)

// transports indexes camera.viewers and camera.perT.
var transports = [2]string{metrics.TransportWS, metrics.TransportMJPEG}

const (
	tWS = iota
	tMJPEG
)

// transportMetrics are one camera's collectors for one transport, looked up
// once: a label lookup per frame per viewer would cost more than the rest of
// the bookkeeping.
type transportMetrics struct {
	viewers, direct      prometheus.Gauge
	joined               prometheus.Counter
	sent, skipped, bytes prometheus.Counter
	fanout               prometheus.Observer
	handbacks            [nHandbacks]prometheus.Counter
	camera, transport    string
	m                    *metrics.Metrics
}

func newTransportMetrics(m *metrics.Metrics, cam, t string) transportMetrics {
	if m == nil {
		return transportMetrics{}
	}
	tm := transportMetrics{
		viewers: m.Viewers.WithLabelValues(cam, t),
		direct:  m.ViewersDirect.WithLabelValues(cam, t),
		joined:  m.ViewersTotal.WithLabelValues(cam, t),
		sent:    m.FramesSent.WithLabelValues(cam, t),
		skipped: m.FramesSkipped.WithLabelValues(cam, t),
		bytes:   m.BytesOut.WithLabelValues(cam, t),
		fanout:  m.FanoutDelay.WithLabelValues(cam, t),
		camera:  cam, transport: t, m: m,
	}
	for i := range tm.handbacks {
		tm.handbacks[i] = m.LaneHandbacks.WithLabelValues(cam, t, metrics.LaneHandbacks[i])
	}
	return tm
}

// Reasons a viewer leaves, for camrelay_viewer_disconnects_total.
const (
	leftClosed       = "closed"
	leftWriteTimeout = "write_timeout"
	leftWriteError   = "write_error"
	leftShutdown     = "shutdown"
	leftProtocol     = "protocol"
)

var errClientGone = errors.New("viewer closed the connection")

// admit counts a viewer in if the limits allow; ok is false with the limit's
// name otherwise. release must be called when the viewer leaves.
func (s *Server) admit(cam *camera, t int) (release func(), limit string) {
	if n := s.viewers.Add(1); n > int64(s.opts.MaxViewers) {
		s.viewers.Add(-1)
		return nil, metrics.LimitViewersTotal
	}
	if n := cam.viewers[0].Load() + cam.viewers[1].Load(); n >= int64(s.opts.MaxViewersPerCamera) {
		s.viewers.Add(-1)
		return nil, metrics.LimitViewersPerCamera
	}
	cam.viewers[t].Add(1)
	leave := cam.Hub.Join()
	tm := &cam.perT[t]
	if tm.m != nil {
		tm.viewers.Inc()
		tm.joined.Inc()
	}
	s.active.Add(1)
	return func() {
		s.active.Done()
		leave()
		cam.viewers[t].Add(-1)
		s.viewers.Add(-1)
		if tm.m != nil {
			tm.viewers.Dec()
		}
	}, ""
}

// admitOr503 is admit for a handler: over a limit it answers 503 naming the
// limit and counts it.
func (s *Server) admitOr503(w http.ResponseWriter, cam *camera, t int) (release func(), ok bool) {
	release, limit := s.admit(cam, t)
	if release == nil {
		s.limitHit(limit)
		http.Error(w, "camrelay: too many viewers ("+limit+")", http.StatusServiceUnavailable)
		return nil, false
	}
	return release, true
}

func (s *Server) limitHit(reason string) {
	if s.m != nil {
		s.m.LimitHits.WithLabelValues(reason).Inc()
	}
	s.log.Warn("viewer refused: limit reached", "limit", reason)
}

func (s *Server) left(cam *camera, t int, reason string) {
	if reason == leftWriteTimeout {
		s.slow.dropped(cam.ID, time.Now())
	}
	if s.m != nil {
		s.m.Disconnects.WithLabelValues(cam.ID, transports[t], reason).Inc()
	}
}

// viewer is what a transport gives the shared frame loop.
type viewer struct {
	cam  *camera
	t    int
	cur  *hub.Cursor // where the viewer follows the hub from; nil: from now
	raw  net.Conn    // the TCP connection, for pacing and write deadlines; may be nil
	send func(f *frame.Frame, skipped uint64) error
	// state is called when the camera goes online or offline; may be nil.
	state func(ev hub.Event) error
	// watchClose makes the loop check now and then whether the viewer
	// closed its connection, for transports that never read from it.
	watchClose bool
	// ask, if set, asks the viewer whether it has read everything sent so
	// far; the channel yields nil when it has. Only one ask is in flight.
	ask func() <-chan error
	// probe, if set, asks the same and waits for the answer, at most d.
	probe func(ctx context.Context, d time.Duration) error
	// A viewer with a raw connection may ride its camera's lane (lane.go)
	// while meta, if set, is false; ws is its WebSocket writer, nil for
	// MJPEG.
	meta *atomic.Bool
	ws   *wsconn.Writer
}

// A viewer that can be asked (WebSocket) starts on probation: before each
// frame after the first, a ping, and the frame waits for the pong. After probation
// answers that came within answerPromptly it is trusted and asked no more,
// until its socket shows it has fallen behind. The kernel cannot tell us
// about the first frames a viewer leaves unread (Linux offers a window
// smaller than its free buffer while it tunes it), so without probation a
// viewer that reads slowly from the start would begin two frames behind.
const (
	probation      = 4
	answerPromptly = 250 * time.Millisecond
)

// closeCheck is how often a viewer that is never read from is checked for
// having gone away: it bounds how long a closed MJPEG viewer of a silent
// camera is still counted.
const closeCheck = 2 * time.Second

// pollDrain is how often a viewer whose socket has not drained checks again.
// It bounds the extra delay a slow viewer's frames get, and is paid only by
// viewers that are behind.
const pollDrain = 10 * time.Millisecond

// run takes frames from the camera's hub and sends them until ctx ends or a
// write fails, and returns why the viewer left. A frame is written only when
// the viewer's socket has drained the previous one; while it has not, newer
// frames replace the pending one (newest wins), so a slow viewer gets fewer
// but fresh frames and never holds up anyone.
func (s *Server) run(ctx context.Context, v viewer) string {
	tm := &v.cam.perT[v.t]
	cur := v.cur
	if cur == nil {
		cur = v.cam.Hub.Follow()
	}
	st := new(seat)
	var p *pacer // nil: not a TCP socket, never paced
	if st.pacer.init(v.raw) {
		p = &st.pacer
	}
	var wait *time.Timer
	var deadline time.Time // the socket's write deadline
	var asked <-chan error // the viewer's answer to the ask in flight
	prompt := 0            // consecutive probes answered within answerPromptly
	sent := 0
	defer func() {
		if wait != nil {
			wait.Stop()
		}
	}()
	var closeTick <-chan time.Time
	if v.watchClose {
		t := time.NewTicker(closeCheck)
		defer t.Stop()
		closeTick = t.C
	}
	rd := v.rider(st, p)
	rideAfter := 0 // after the lane lets it go, the viewer sends a frame itself first
	for {
		if rd != nil && sent >= rideAfter && p.trusted() && (v.probe == nil || prompt >= probation) && rd.qualifies() {
			// Kept up long enough: the camera's lane writes the frames
			// until something needs this goroutine again.
			_ = v.raw.SetWriteDeadline(time.Time{}) // a direct write must not meet an old deadline
			rd.seq = cur.Seq()
			v.cam.lane.ride(ctx, rd)
			if ctx.Err() != nil {
				return leftReason(ctx)
			}
			cur.SkipTo(rd.seq)
			rideAfter = sent + 1
			deadline = time.Now().Add(s.opts.WriteTimeout)
			_ = v.raw.SetWriteDeadline(deadline)
			if rd.err != nil {
				return writeReason(ctx, rd.err)
			}
			if err := rd.finish(v.raw); err != nil {
				return writeReason(ctx, err)
			}
		}
		ev, ok := cur.Poll()
		if !ok {
			if closeTick == nil {
				// The common case, kept to a two-way select: this wait
				// runs once per frame per viewer.
				select {
				case <-cur.Changed():
				case <-ctx.Done():
					return leftReason(ctx)
				}
				continue
			}
			select {
			case <-cur.Changed():
			case <-ctx.Done():
				return leftReason(ctx)
			case <-closeTick:
				if p.closed() {
					return leftClosed
				}
			}
			continue
		}
		skipped := ev.Skipped
		if ev.OnlineChanged && v.state != nil {
			if err := v.state(ev); err != nil {
				return writeReason(ctx, err)
			}
		}
		if ev.Frame == nil {
			continue
		}
		if v.probe != nil && prompt < probation && sent > 0 {
			// On probation: the last frame must be read before the next is
			// written, so a viewer that reads slowly from the start never
			// has more than one frame waiting for it. The probe runs on
			// this goroutine: no goroutine per question.
			t0 := time.Now()
			switch err := v.probe(ctx, s.opts.WriteTimeout); {
			case err == nil && time.Since(t0) <= answerPromptly:
				prompt++
			case err == nil:
				prompt = 0
			case ctx.Err() != nil:
				return leftReason(ctx)
			case errors.Is(err, context.DeadlineExceeded):
				return leftWriteTimeout
			default:
				return writeReason(ctx, err)
			}
			if newer, ok := cur.Poll(); ok {
				if newer.OnlineChanged && v.state != nil {
					if err := v.state(newer); err != nil {
						return writeReason(ctx, err)
					}
				}
				if newer.Frame != nil {
					ev.Frame = newer.Frame
					skipped += newer.Skipped + 1
				}
			}
		}
		now := time.Now()
		if r := p.ready(now, len(ev.Frame.Data), v.ask != nil); r != drained {
			prompt = 0 // behind: back on probation
			giveUp := now.Add(s.opts.WriteTimeout)
			for r != drained {
				if r == unsure && asked == nil {
					asked = v.ask()
				}
				if now.After(giveUp) {
					return leftWriteTimeout
				}
				if wait == nil {
					wait = time.NewTimer(pollDrain)
				} else {
					wait.Reset(pollDrain)
				}
				select {
				case <-ctx.Done():
					return leftReason(ctx)
				case now = <-wait.C:
					r = p.ready(now, len(ev.Frame.Data), v.ask != nil)
				case err := <-asked:
					asked = nil
					if err == nil {
						r = drained // the viewer answered: it has read everything
					}
				}
			}
			// Frames that came while waiting replace the one in hand.
			if newer, ok := cur.Poll(); ok {
				if newer.OnlineChanged && v.state != nil {
					if err := v.state(newer); err != nil {
						return writeReason(ctx, err)
					}
				}
				if newer.Frame != nil {
					ev.Frame = newer.Frame
					skipped += newer.Skipped + 1
				}
			}
		}
		f := ev.Frame
		start := time.Now()
		// Move the deadline only when half of it is used up: a write that
		// stalls is still cut off between half and all of WriteTimeout,
		// and a fast viewer does not reset a timer for every frame.
		if v.raw != nil && start.Add(s.opts.WriteTimeout/2).After(deadline) {
			deadline = start.Add(s.opts.WriteTimeout)
			_ = v.raw.SetWriteDeadline(deadline)
		}
		if err := v.send(f, skipped); err != nil {
			return writeReason(ctx, err)
		}
		sent++
		if tm.m != nil {
			tm.sent.Inc()
			tm.bytes.Add(float64(len(f.Data)))
			if skipped > 0 {
				tm.skipped.Add(float64(skipped))
			}
			tm.fanout.Observe(start.Sub(f.Received).Seconds())
		}
	}
}

// seat is a viewer's pacer and its place on the lane in one allocation:
// the lane touches both for every frame, and a hundred viewers, cold after
// a frame's pause, should cost the fewest cache misses.
type seat struct {
	rider rider
	dw    directWriter
	pacer pacer
}

// rider returns the viewer's place on its camera's lane in st, or nil if
// it can never ride (not a plain TCP socket, not Linux, no pacer).
func (v viewer) rider(st *seat, p *pacer) *rider {
	if v.raw == nil || p == nil || !st.dw.init(v.raw) {
		return nil
	}
	st.rider = rider{t: v.t, dw: &st.dw, ws: v.ws, pacer: p, meta: v.meta}
	return &st.rider
}

// finish sends what the lane could not: the end of a frame a partial
// write left, so that the next write starts on a message boundary.
func (r *rider) finish(raw net.Conn) error {
	if r.ws != nil {
		return r.ws.Flush() // the WebSocket writer kept the rest
	}
	if len(r.rest) == 0 {
		return nil
	}
	_, err := r.rest.WriteTo(raw)
	r.rest = nil
	return err
}

// leftReason says why ctx ended: the viewer closed, or the gateway stops.
func leftReason(ctx context.Context) string {
	if errors.Is(context.Cause(ctx), errClientGone) {
		return leftClosed
	}
	return leftShutdown
}

func writeReason(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		return leftReason(ctx)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return leftWriteTimeout
	}
	if errors.Is(err, net.ErrClosed) {
		return leftClosed
	}
	return leftWriteError
}
