package server

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/camrelay/camrelay/internal/frame"
	"github.com/camrelay/camrelay/internal/hub"
	"github.com/camrelay/camrelay/internal/wsconn"
)

// viewerReadLimit caps a message from a viewer: viewers send small JSON
// (pings, go2rtc's mode request), never frames.
const viewerReadLimit = 4 << 10

// Close codes for viewer sockets (RFC 6455 §7.4).
const (
	// statusWriteStalled closes a viewer whose socket took nothing for the
	// write timeout.
	statusWriteStalled websocket.StatusCode = 4008
)

// wsViewer is one viewer WebSocket.
type wsViewer struct {
	c     *websocket.Conn
	w     *wsconn.Writer
	meta  atomic.Bool    // the client asked for a frame message before each JPEG
	start chan struct{}  // closed when frames may flow (go2rtc asks first)
	asks  sync.WaitGroup // pings in flight
}

func (v *wsViewer) flush() { _ = v.w.Flush() }

// writeJSON sends one text message; safe from any goroutine (the library
// serialises writes).
func (v *wsViewer) writeJSON(ctx context.Context, msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	err = v.c.Write(ctx, websocket.MessageText, b)
	v.flush()
	return err
}

// serveWS is the page's viewer socket: a hello, then one binary message per
// JPEG and a status message whenever the camera goes online or offline.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request, cam *camera) {
	s.viewWS(w, r, cam, false)
}

// serveGo2rtcWS is go2rtc's /api/ws: frames flow after the client sends
// {"type":"mjpeg"}, and no other events are sent.
func (s *Server) serveGo2rtcWS(w http.ResponseWriter, r *http.Request, cam *camera) {
	s.viewWS(w, r, cam, true)
}

func (s *Server) viewWS(w http.ResponseWriter, r *http.Request, cam *camera, go2rtc bool) {
	release, ok := s.admitOr503(w, cam, tWS)
	if !ok {
		return
	}
	detached := false
	defer func() {
		if !detached {
			release()
		}
	}()

	ww := wsconn.NewWriter(w)
	c, err := websocket.Accept(ww, r, &websocket.AcceptOptions{
		OriginPatterns:  s.opts.AllowedOrigins,
		CompressionMode: websocket.CompressionDisabled, // JPEG does not deflate
	})
	if err != nil {
		s.left(cam, tWS, leftProtocol)
		return
	}
	c.SetReadLimit(viewerReadLimit)
	ww.Release()
	detached = true
	keep := s.keepSlot(r)
	s.detach(func() {
		defer release()
		defer keep()
		s.watchWS(c, ww, cam, go2rtc)
	})
}

// watchWS runs one viewer socket until it ends: a reader goroutine for what
// the viewer sends, and this goroutine for what it is sent.
func (s *Server) watchWS(c *websocket.Conn, ww *wsconn.Writer, cam *camera, go2rtc bool) {
	raw := ww.Conn()
	tuneViewer(raw)
	v := &wsViewer{c: c, w: ww, start: make(chan struct{})}
	ctx, cancel := context.WithCancelCause(s.base)
	defer cancel(nil)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		s.readViewer(ctx, cancel, v, go2rtc)
	}()

	reason := s.streamWS(ctx, cam, v, raw, go2rtc)
	switch reason {
	case leftShutdown:
		wsconn.CloseWithin(c, raw, websocket.StatusGoingAway, "gateway shutting down", time.Second)
	case leftWriteTimeout:
		wsconn.CloseWithin(c, raw, statusWriteStalled, "write stalled: viewer too slow", 100*time.Millisecond)
	case leftProtocol:
		// readViewer closed the socket with its reason.
	default:
		_ = c.CloseNow()
	}
	<-readDone
	v.asks.Wait()
	if cause := context.Cause(ctx); errors.Is(cause, errProtocol) {
		reason = leftProtocol
	}
	s.left(cam, tWS, reason)
}

func (s *Server) streamWS(ctx context.Context, cam *camera, v *wsViewer, raw net.Conn, go2rtc bool) string {
	if go2rtc {
		select {
		case <-v.start:
		case <-ctx.Done():
			return leftReason(ctx)
		}
	} else {
		close(v.start)
		snap := cam.Hub.Snapshot()
		hello := map[string]any{
			"type": "hello", "camera": cam.ID, "name": cam.Name, "source": cam.Source,
			"online": snap.Online, "since": snap.Since.UTC(), "version": s.opts.Version,
		}
		if snap.Frame != nil && snap.Frame.Width > 0 {
			hello["width"], hello["height"] = snap.Frame.Width, snap.Frame.Height
		}
		if err := v.writeJSON(context.Background(), hello); err != nil {
			return writeReason(ctx, err)
		}
	}
	vw := viewer{cam: cam, t: tWS, raw: raw, ask: v.ask(ctx), probe: v.probe}
	vw.send = func(f *frame.Frame, skipped uint64) error {
		if v.meta.Load() {
			if err := v.writeJSON(context.Background(), frameMeta{
				Type: "frame", Seq: f.Seq, Received: millis(f.Received), Captured: millis(f.Captured),
				Skipped: skipped, Width: f.Width, Height: f.Height, Bytes: len(f.Data),
			}); err != nil {
				return err
			}
		}
		// context.Background: no per-message timer in the library; the
		// write deadline on the socket bounds the write instead.
		err := v.c.Write(context.Background(), websocket.MessageBinary, f.Data)
		v.flush()
		return err
	}
	if !go2rtc {
		vw.state = func(ev hub.Event) error {
			return v.writeJSON(context.Background(), map[string]any{
				"type": "status", "online": ev.Online, "since": ev.Since.UTC(),
			})
		}
	}
	return s.run(ctx, vw)
}

// ask returns the viewer loop's way to ask whether the viewer has read
// everything: a WebSocket ping, whose pong (RFC 6455 §5.5.3) the client
// sends only once it has read all that came before it. Every client must
// answer pings; browsers do so by themselves.
func (v *wsViewer) ask(ctx context.Context) func() <-chan error {
	return func() <-chan error {
		answer := make(chan error, 1)
		v.asks.Add(1)
		go func() {
			defer v.asks.Done()
			// No timeout of its own: a slow viewer answers when it gets
			// to the ping, and the write timeout bounds the wait.
			answer <- v.c.Ping(ctx)
		}()
		return answer
	}
}

// probe pings the viewer and waits at most d for the pong.
func (v *wsViewer) probe(ctx context.Context, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return v.c.Ping(ctx)
}

// frameMeta precedes each JPEG for a client that asked for it.
type frameMeta struct {
	Type     string  `json:"type"`
	Seq      uint64  `json:"seq"`
	Received float64 `json:"received"`
	Captured float64 `json:"captured,omitempty"`
	Skipped  uint64  `json:"skipped"`
	Width    int     `json:"width,omitempty"`
	Height   int     `json:"height,omitempty"`
	Bytes    int     `json:"bytes"`
}

// millis is t in milliseconds since the epoch with microsecond precision, as
// JavaScript's Date.now() and performance.timeOrigin count; 0 for zero t.
func millis(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMicro()) / 1e3
}

var errProtocol = errors.New("viewer broke the protocol")

// clientMessage is any message a viewer may send.
type clientMessage struct {
	Type string  `json:"type"`
	ID   *int64  `json:"id,omitempty"`
	T0   float64 `json:"t0"`
	On   *bool   `json:"on,omitempty"`
}

// readViewer handles what a viewer sends: clock pings, the frame-metadata
// switch and go2rtc's mode request. It ends when the connection does, and
// cancels the viewer's context with the reason.
func (s *Server) readViewer(ctx context.Context, cancel context.CancelCauseFunc, v *wsViewer, go2rtc bool) {
	started := !go2rtc
	for {
		// Not ctx: cancelling a read makes the library drop the connection
		// without a close frame. Closing the connection ends this read.
		typ, data, err := v.c.Read(context.Background())
		if err != nil {
			cancel(errClientGone)
			return
		}
		t1 := time.Now()
		if typ != websocket.MessageText {
			cancel(errProtocol)
			wsconn.CloseWithin(v.c, v.w.Conn(), websocket.StatusUnsupportedData, "viewers send only JSON text messages", time.Second)
			return
		}
		var msg clientMessage
		if err := json.Unmarshal(data, &msg); err != nil || msg.Type == "" {
			cancel(errProtocol)
			wsconn.CloseWithin(v.c, v.w.Conn(), websocket.StatusUnsupportedData, "viewer messages must be JSON objects with a type", time.Second)
			return
		}
		var reply any
		switch msg.Type {
		case "ping":
			// NTP-style: t0 is the client's send time, t1 our receive
			// time, t2 our send time (all ms since the epoch).
			reply = map[string]any{"type": "pong", "id": msg.ID, "t0": msg.T0, "t1": millis(t1), "t2": millis(time.Now())}
		case "meta":
			v.meta.Store(msg.On == nil || *msg.On)
		case "mjpeg":
			reply = map[string]string{"type": "mjpeg"}
		default:
			reply = map[string]string{"type": "error", "value": "unknown message type " + quote(msg.Type)}
		}
		if reply != nil {
			if err := v.writeJSON(context.Background(), reply); err != nil {
				cancel(errClientGone)
				return
			}
		}
		if msg.Type == "mjpeg" && !started {
			// Frames may flow once the mode answer is on the wire.
			started = true
			close(v.start)
		}
	}
}

func quote(s string) string {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
