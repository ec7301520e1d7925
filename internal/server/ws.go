package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/camrelay/camrelay/internal/control"
	"github.com/camrelay/camrelay/internal/frame"
	"github.com/camrelay/camrelay/internal/hub"
	"github.com/camrelay/camrelay/internal/metrics"
	"github.com/camrelay/camrelay/internal/wsconn"
)

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
	ctl   sync.WaitGroup // control commands in flight
	busy  atomic.Int32   // how many: at most maxViewerControls

	timeout time.Duration // the server's WriteTimeout
}

// maxViewerControls bounds the control commands one viewer may have
// waiting for their cameras: enough for an admin moving a few sliders on a
// slow camera, few enough that a viewer cannot pile up goroutines.
const maxViewerControls = 4

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

// writeEvent sends a text message that is not part of a frame (a pong, an
// ack, an online/offline event) from any goroutine. It first moves the
// socket's write deadline: the frame loop moves it only when it writes a
// frame, so once a camera has been silent for longer than the write
// timeout the deadline has passed, and the write would fail at once and
// drop a viewer that did nothing wrong. A frame write stalled at that
// moment gets the later deadline too: it is still cut off within twice
// the write timeout.
func (v *wsViewer) writeEvent(msg any) error {
	if raw := v.w.Conn(); raw != nil {
		_ = raw.SetWriteDeadline(time.Now().Add(v.timeout))
	}
	return v.writeJSON(context.Background(), msg)
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
	// A message of exactly the limit is fine; one byte more and the
	// library closes the socket with 1009 (RFC 6455 §7.4.1), which
	// readViewer counts.
	c.SetReadLimit(s.opts.MaxViewerMessage)
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
	v := &wsViewer{c: c, w: ww, start: make(chan struct{}), timeout: s.opts.WriteTimeout}
	ctx, cancel := context.WithCancelCause(s.base)
	defer cancel(nil)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		s.readViewer(ctx, cancel, v, cam, go2rtc)
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
	v.ctl.Wait()
	if cause := context.Cause(ctx); errors.Is(cause, errProtocol) {
		reason = leftProtocol
	}
	s.left(cam, tWS, reason)
}

func (s *Server) streamWS(ctx context.Context, cam *camera, v *wsViewer, raw net.Conn, go2rtc bool) string {
	var cur *hub.Cursor
	if go2rtc {
		select {
		case <-v.start:
		case <-ctx.Done():
			return leftReason(ctx)
		}
	} else {
		close(v.start)
		cur = cam.Hub.Follow()
		snap := cur.Start() // the hello and the status events after it agree
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
	vw := viewer{cam: cam, t: tWS, cur: cur, raw: raw, ask: v.ask(ctx), probe: v.probe, ws: v.w, meta: &v.meta}
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
			return v.writeEvent(map[string]any{
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
// switch, go2rtc's mode request and control commands. It ends when the
// connection does, and cancels the viewer's context with the reason.
// Garbage below the size limit (not JSON, an unknown type) is answered with
// an error message and counted; the viewer keeps its frames. A message over
// the size limit or a binary message closes the viewer.
func (s *Server) readViewer(ctx context.Context, cancel context.CancelCauseFunc, v *wsViewer, cam *camera, go2rtc bool) {
	started := !go2rtc
	for {
		// Not ctx: cancelling a read makes the library drop the connection
		// without a close frame. Closing the connection ends this read.
		typ, data, err := v.c.Read(context.Background())
		if err != nil {
			if errors.Is(err, websocket.ErrMessageTooBig) {
				// The library has sent 1009 already.
				s.rejected(cam, "too_large")
				if s.m != nil {
					s.m.LimitHits.WithLabelValues(metrics.LimitViewerMessage).Inc()
				}
				s.log.Debug("viewer closed: message over the size limit", "camera", cam.ID, "limit_bytes", s.opts.MaxViewerMessage)
				cancel(errProtocol)
				return
			}
			cancel(errClientGone)
			return
		}
		t1 := time.Now()
		if typ != websocket.MessageText {
			s.rejected(cam, "binary")
			cancel(errProtocol)
			wsconn.CloseWithin(v.c, v.w.Conn(), websocket.StatusUnsupportedData, "viewers send only JSON text messages", time.Second)
			return
		}
		var reply any
		var msg clientMessage
		switch err := json.Unmarshal(data, &msg); {
		case err != nil || msg.Type == "":
			s.rejected(cam, "not_json")
			reply = map[string]string{"type": "error", "value": "viewer messages must be JSON objects with a type"}
		case msg.Type == "ping":
			// NTP-style: t0 is the client's send time, t1 our receive
			// time, t2 our send time (all ms since the epoch).
			reply = map[string]any{"type": "pong", "id": msg.ID, "t0": msg.T0, "t1": millis(t1), "t2": millis(time.Now())}
		case msg.Type == "meta":
			v.meta.Store(msg.On == nil || *msg.On)
		case msg.Type == "mjpeg":
			reply = map[string]string{"type": "mjpeg"}
		case msg.Type == "control" && !go2rtc:
			reply = s.viewerControl(ctx, v, cam, data, msg.ID)
		default:
			s.rejected(cam, "unknown_type")
			reply = map[string]string{"type": "error", "value": "unknown message type " + quote(msg.Type)}
		}
		if reply != nil {
			if err := v.writeEvent(reply); err != nil {
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

// rejected counts a refused viewer message by reason.
func (s *Server) rejected(cam *camera, reason string) {
	if s.m != nil {
		s.m.ViewerRejects.WithLabelValues(cam.ID, reason).Inc()
	}
}

// controlAck answers a control command on the viewer socket: ok with what
// the camera applied, or the status and error that POST /cam/{id}/control
// would have answered.
type controlAck struct {
	Type     string           `json:"type"` // "ack"
	ID       *int64           `json:"id"`
	OK       bool             `json:"ok"`
	Applied  any              `json:"applied,omitempty"`
	Status   int              `json:"status,omitempty"`
	Error    string           `json:"error,omitempty"`
	Key      string           `json:"key,omitempty"`
	Problems control.Problems `json:"problems,omitempty"`
}

// viewerControl handles {"type":"control","id":N,"token":"…",…settings}
// from the page. A browser cannot set headers on a WebSocket, so the admin
// token travels in the message (never in a cookie, which another site's
// page could make the browser send). It returns an immediate refusal, or
// nil after starting the command: the camera may take seconds to answer,
// and meanwhile this viewer's reader must keep reading (pongs, pings). At
// most maxViewerControls commands per viewer are in flight; more are
// refused with 429, not queued.
func (s *Server) viewerControl(ctx context.Context, v *wsViewer, cam *camera, data []byte, id *int64) any {
	refuse := func(status int, msg string) any {
		return controlAck{Type: "ack", ID: id, Status: status, Error: msg}
	}
	if !s.admin.IsSet() {
		return refuse(http.StatusForbidden, msgControlOff)
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(data, &raw) // readViewer parsed it already
	var token string
	if t, ok := raw["token"]; !ok || json.Unmarshal(t, &token) != nil || !s.tokenOK(token) {
		s.controlAuthFailed()
		return refuse(http.StatusUnauthorized, msgBadToken+` (send it as "token" in the control message)`)
	}
	delete(raw, "type")
	delete(raw, "id")
	delete(raw, "token")
	body, _ := json.Marshal(raw)
	if v.busy.Add(1) > maxViewerControls {
		v.busy.Add(-1)
		return refuse(http.StatusTooManyRequests, fmt.Sprintf("%d control commands of this viewer are still waiting for the camera; send the next one after an ack", maxViewerControls))
	}
	v.ctl.Add(1)
	go func() {
		defer v.ctl.Done()
		defer v.busy.Add(-1)
		cctx, cancel := context.WithTimeout(ctx, controlTimeout)
		defer cancel()
		status, answer := s.control(cctx, cam, body)
		ack := controlAck{Type: "ack", ID: id, OK: status == http.StatusOK, Applied: answer["applied"]}
		if !ack.OK {
			ack.Status = status
			ack.Error, _ = answer["error"].(string)
			ack.Key, _ = answer["key"].(string)
			ack.Problems, _ = answer["problems"].(control.Problems)
		}
		// The viewer may have gone meanwhile: then the write fails and the
		// viewer's own goroutines notice.
		_ = v.writeEvent(ack)
	}()
	return nil
}

func quote(s string) string {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
