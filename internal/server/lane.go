package server

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camrelay/camrelay/internal/frame"
	"github.com/camrelay/camrelay/internal/wsconn"
)

// A camera's lane is the fast path of its fan-out: one goroutine that
// writes each new frame to every viewer that keeps up, one non-blocking
// writev per viewer, as the simplest relay would. Waking a goroutine per
// viewer per frame and going through the WebSocket library's per-message
// locks cost about as much again as the write itself.
//
// A viewer starts in its own goroutine (see run), which paces it, puts it
// on probation and deals with everything slow. Once it has kept up for a
// while it rides the lane: its goroutine parks, and the lane writes its
// frames. The lane lets it go back to its goroutine as soon as anything is
// not simple: its socket has not drained (the pacer, read as before), a
// write would block or was partial, the WebSocket library is writing to it,
// the camera went online or offline (the goroutine sends that event), or
// the viewer asked for frame metadata. What a partial write left unsent
// goes out first, from the goroutine, with the write timeout.

// errWouldBlock is a direct write that found the socket full.
var errWouldBlock = errors.New("socket full")

// handback is why the lane lets a rider go, counted in
// camrelay_lane_handbacks_total (the order of metrics.LaneHandbacks).
type handback int

const (
	hbBehind   handback = iota // the pacer: the socket has not drained the last frame
	hbFull                     // the socket took nothing
	hbPartial                  // the socket took part of the frame
	hbBusy                     // the WebSocket library was writing
	hbDeadline                 // a write deadline set by another writer has passed
	hbError                    // the write failed
	hbState                    // the camera went online or offline
	hbViewer                   // the viewer no longer qualifies (frame metadata)
	nHandbacks
)

// rider is a viewer on the lane. Its fields belong to the lane while the
// viewer rides, and to the viewer's goroutine before and after.
type rider struct {
	t     int
	dw    *directWriter
	ws    *wsconn.Writer // WebSocket viewers: the library's writer, locked around direct writes
	pacer *pacer
	meta  *atomic.Bool // set: the viewer wants frame metadata, which only its goroutine sends
	seq   uint64       // the last frame written to the viewer
	bufs  [3][]byte

	// Set when the lane lets the viewer go.
	off  chan struct{} // buffered: one signal
	rest net.Buffers   // MJPEG: the unsent end of a frame
	err  error         // the socket failed
}

type lane struct {
	s     *Server
	cam   *camera
	kick  chan struct{} // wakes an idle lane to see it has no riders
	mu    sync.Mutex
	rides []*rider
	on    bool         // the lane's goroutine runs
	last  *frame.Frame // the newest frame the lane took
	heads [2][]byte    // last's WebSocket and MJPEG headers, made once for all riders
}

func newLane(s *Server, cam *camera) *lane {
	return &lane{s: s, cam: cam, kick: make(chan struct{}, 1)}
}

// ride puts r on the lane and parks until the lane lets it go or ctx ends.
// It returns with r's fields back in the caller's hands.
func (l *lane) ride(ctx context.Context, r *rider) {
	r.off = make(chan struct{}, 1)
	r.rest, r.err = nil, nil
	l.mu.Lock()
	l.rides = append(l.rides, r)
	l.gauge(r.t, 1)
	if !l.on {
		l.on = true
		l.s.detach(l.run)
	} else if l.last != nil && l.last.Seq > r.seq {
		// The lane took a frame its goroutine has not: newest wins, so
		// it is owed that frame now, not at the next one.
		l.send(l.last)
	}
	l.mu.Unlock()
	select {
	case <-r.off:
	case <-ctx.Done():
		l.mu.Lock()
		if l.remove(r) {
			l.gauge(r.t, -1)
		}
		empty := len(l.rides) == 0
		l.mu.Unlock()
		if empty {
			select {
			case l.kick <- struct{}{}:
			default:
			}
		}
	}
}

// remove takes r off the lane; false if the lane had let it go already.
// l.mu must be held.
func (l *lane) remove(r *rider) bool {
	for i, x := range l.rides {
		if x == r {
			last := len(l.rides) - 1
			l.rides[i], l.rides[last] = l.rides[last], nil
			l.rides = l.rides[:last]
			return true
		}
	}
	return false
}

// letGo hands rider i back to its goroutine. l.mu must be held.
func (l *lane) letGo(i int, rest net.Buffers, err error, why handback) {
	r := l.rides[i]
	if tm := &l.cam.perT[r.t]; tm.m != nil {
		tm.handbacks[why].Inc()
	}
	last := len(l.rides) - 1
	l.rides[i], l.rides[last] = l.rides[last], nil
	l.rides = l.rides[:last]
	r.rest, r.err = rest, err
	l.gauge(r.t, -1)
	r.off <- struct{}{}
}

func (l *lane) gauge(t int, d float64) {
	if tm := &l.cam.perT[t]; tm.m != nil {
		tm.direct.Add(d)
	}
}

// run writes frames to the riders until none is left or the gateway stops.
func (l *lane) run() {
	cur := l.cam.Hub.Follow()
	for {
		ev, ok := cur.Poll()
		l.mu.Lock()
		if len(l.rides) == 0 || l.s.base.Err() != nil {
			l.on, l.last = false, nil
			l.mu.Unlock()
			return
		}
		if ok && ev.OnlineChanged {
			// The riders' goroutines tell their viewers.
			for len(l.rides) > 0 {
				l.letGo(0, nil, nil, hbState)
			}
		} else if ok && ev.Frame != nil {
			l.send(ev.Frame)
		}
		l.mu.Unlock()
		if ok {
			continue
		}
		select {
		case <-cur.Changed():
		case <-l.kick:
		case <-l.s.base.Done():
		}
	}
}

// send writes f to every rider that has not had it. l.mu must be held.
func (l *lane) send(f *frame.Frame) {
	if l.last != f {
		l.last = f
		l.heads[tWS] = wsconn.AppendBinaryHeader(l.heads[tWS][:0], len(f.Data))
		l.heads[tMJPEG] = appendPartHead(l.heads[tMJPEG][:0], f)
	}
	var sent, skipped [2]uint64
	for i := 0; i < len(l.rides); {
		r := l.rides[i]
		if f.Seq <= r.seq {
			i++ // written by its goroutine before it joined
			continue
		}
		start := time.Now()
		if !r.qualifies() {
			l.letGo(i, nil, nil, hbViewer)
			continue
		}
		if r.pacer.ready(start, len(f.Data), false) != drained {
			l.letGo(i, nil, nil, hbBehind)
			continue
		}
		wrote, rest, why, err := r.write(f, l.heads[r.t])
		if wrote {
			if r.seq > 0 {
				skipped[r.t] += f.Seq - r.seq - 1
			}
			r.seq = f.Seq
			sent[r.t]++
			if tm := &l.cam.perT[r.t]; tm.m != nil {
				tm.fanout.Observe(start.Sub(f.Received).Seconds())
			}
		}
		if err != nil || rest != nil || !wrote {
			l.letGo(i, rest, err, why)
			continue
		}
		i++
	}
	for t := range sent {
		if tm := &l.cam.perT[t]; tm.m != nil && sent[t] > 0 {
			tm.sent.Add(float64(sent[t]))
			tm.bytes.Add(float64(sent[t]) * float64(len(f.Data)))
			if skipped[t] > 0 {
				tm.skipped.Add(float64(skipped[t]))
			}
		}
	}
}

// qualifies reports whether the viewer may ride now; checked every frame.
func (r *rider) qualifies() bool { return r.meta == nil || !r.meta.Load() }

// write writes f without waiting. wrote is true once any of it is on its
// way (the rest, if any, is for the viewer's goroutine to finish); false
// with no error means the socket or the library was busy and nothing was
// written. why says what kept the write from being whole.
func (r *rider) write(f *frame.Frame, head []byte) (wrote bool, rest net.Buffers, why handback, err error) {
	var bufs [][]byte
	if r.ws != nil {
		if !r.ws.TryLockDirect() {
			return false, nil, hbBusy, nil
		}
		defer r.ws.UnlockDirect()
		r.bufs = [3][]byte{head, f.Data}
		bufs = r.bufs[:2]
	} else {
		r.bufs = [3][]byte{head, f.Data, crlf}
		bufs = r.bufs[:3]
	}
	defer func() { r.bufs = [3][]byte{} }()
	n, err := r.dw.write(bufs)
	switch {
	case errors.Is(err, errWouldBlock), err == nil && n == 0:
		// Full: the viewer fell behind; its goroutine paces it again.
		r.pacer.distrust()
		return false, nil, hbFull, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		// A text message from another goroutine set a write deadline that
		// has passed: the viewer's goroutine takes over and sets a new one.
		return false, nil, hbDeadline, nil
	case err != nil:
		return false, nil, hbError, err
	}
	rest = unsent(bufs, n)
	if rest != nil && r.ws != nil {
		// Anything else written to this WebSocket must come after it.
		r.ws.KeepRest(rest)
		rest = net.Buffers{}
	}
	return true, rest, hbPartial, nil
}

// unsent returns what follows the first n bytes of bufs, or nil if n
// covers them all. The header (bufs[0]) is shared by all riders and made
// anew for the next frame, so what is left of it is copied; the JPEG is
// immutable and the trailer constant.
func unsent(bufs [][]byte, n int) net.Buffers {
	for i, b := range bufs {
		if n < len(b) {
			rest := b[n:]
			if i == 0 {
				rest = bytes.Clone(rest)
			}
			out := net.Buffers{rest}
			for _, c := range bufs[i+1:] {
				if len(c) > 0 {
					out = append(out, c)
				}
			}
			return out
		}
		n -= len(b)
	}
	return nil
}
