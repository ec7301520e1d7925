package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/camrelay/camrelay/internal/auth"
	"github.com/camrelay/camrelay/internal/control"
	"github.com/camrelay/camrelay/internal/wsconn"
)

// Close codes the gateway sends on a camera uplink. 4000–4999 are for
// applications (RFC 6455 §7.4.2); 1008 and 1001 are the standard ones.
const (
	// StatusReplaced closes an uplink that a newer uplink of the same
	// camera replaced (a rebooted board must not be locked out by its own
	// half-open connection).
	StatusReplaced websocket.StatusCode = 4001
)

// DefaultMaxFrame is the largest frame a camera may send: a UXGA OV2640
// frame at the best quality is about 400 KiB, so 4 MiB leaves room for
// bigger sensors without letting one message eat the gateway's memory.
const DefaultMaxFrame = 4 << 20

// Push is the camera uplink: the board dials /cam/{id}/ingest and sends each
// frame as one binary WebSocket message. One uplink per camera: a new
// authenticated uplink replaces the old one. Push is an http.Handler; its
// uplinks live as long as their requests. Safe for concurrent use.
type Push struct {
	camera   string
	token    auth.Token
	insecure bool
	maxFrame int64
	sink     Sink
	log      *slog.Logger
	authFail func()

	mu      sync.Mutex
	current *uplink

	idle atomic.Bool // the camera should run at its idle rate
	acks acks        // control commands awaiting their ack
}

// PushOptions configure a Push. Token is required unless Insecure.
type PushOptions struct {
	Camera string
	Token  string
	// TokenHash is Token stored as "sha256:<hex>" (auth.HashToken); set at
	// most one of the two.
	TokenHash string
	Insecure  bool
	// MaxFrame is the largest accepted message. Zero means DefaultMaxFrame.
	MaxFrame int64
	// AuthFailed is called for each refused uplink; may be nil.
	AuthFailed func()
	Log        *slog.Logger
}

// NewPush returns the uplink handler of one camera; frames go to sink.
func NewPush(opts PushOptions, sink Sink) (*Push, error) {
	token, err := auth.TokenFrom(opts.Token, opts.TokenHash)
	if err != nil {
		return nil, fmt.Errorf("uplink token: %w", err)
	}
	if !token.IsSet() && !opts.Insecure {
		return nil, errors.New("a push camera needs a token (or insecure: true)")
	}
	if opts.MaxFrame <= 0 {
		opts.MaxFrame = DefaultMaxFrame
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.AuthFailed == nil {
		opts.AuthFailed = func() {}
	}
	return &Push{
		camera:   opts.Camera,
		token:    token,
		insecure: opts.Insecure && !token.IsSet(),
		maxFrame: opts.MaxFrame,
		sink:     sink,
		log:      opts.Log,
		authFail: opts.AuthFailed,
	}, nil
}

// authorized compares the offered token with the camera's in constant time.
// Both sides are hashed first so that the comparison does not leak the
// token's length either.
func (p *Push) authorized(r *http.Request) bool {
	if p.insecure {
		return true
	}
	offered, ok := bearer(r)
	if !ok {
		return false
	}
	return p.token.Match(offered)
}

// bearer returns the token from "Authorization: Bearer T" or, for clients
// that cannot set headers, from "?token=T".
func bearer(r *http.Request) (string, bool) {
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), true
		}
		return "", false
	}
	if t := r.URL.Query().Get("token"); t != "" {
		return t, true
	}
	return "", false
}

// uplink is one accepted camera connection.
type uplink struct {
	conn     *websocket.Conn
	w        *wsconn.Writer
	raw      net.Conn
	replaced chan struct{} // closed when a newer uplink takes over
}

// ServeHTTP accepts an uplink, replaces the camera's previous one and reads
// frames until the link ends, the camera is replaced or the gateway stops.
func (p *Push) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(r) {
		p.authFail()
		p.log.Warn("uplink refused: missing or wrong token", "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="camrelay"`)
		http.Error(w, "camrelay: missing or wrong uplink token for camera "+p.camera, http.StatusUnauthorized)
		return
	}
	ww := wsconn.NewWriter(w)
	c, err := websocket.Accept(ww, r, &websocket.AcceptOptions{
		// The board's library sends "Origin: file://" and may offer the
		// "arduino" subprotocol: this endpoint is guarded by the token, not
		// by the Origin, and echoes the subprotocol only when offered.
		InsecureSkipVerify: true,
		Subprotocols:       []string{"arduino"},
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		p.log.Warn("uplink handshake failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	// A frame of exactly maxFrame bytes is fine; one byte more closes the
	// link with 1009 (message too big), which the library sends for us.
	c.SetReadLimit(p.maxFrame)
	ww.Release()

	up := &uplink{conn: c, w: ww, raw: ww.Conn(), replaced: make(chan struct{})}
	p.mu.Lock()
	old := p.current
	p.current = up
	p.mu.Unlock()
	if old != nil {
		close(old.replaced)
		p.log.Info("uplink replaced by a newer one", "remote", r.RemoteAddr)
	} else {
		p.log.Info("uplink connected", "remote", r.RemoteAddr)
	}
	p.sink.Connected()
	if p.idle.Load() {
		// A camera boots at full rate: tell a new uplink at once that
		// nobody watches.
		p.sendDemand(r.Context(), up, false)
	}

	readDone := make(chan error, 1)
	go func() { readDone <- p.read(c) }()

	var code websocket.StatusCode
	var reason string
	select {
	case err = <-readDone:
	case <-up.replaced:
		code, reason = StatusReplaced, "replaced by a newer uplink for camera "+p.camera
	case <-r.Context().Done():
		code, reason = websocket.StatusGoingAway, "gateway shutting down"
	}
	if code != 0 {
		wsconn.CloseWithin(c, up.raw, code, reason, time.Second)
		err = <-readDone
	}

	p.mu.Lock()
	last := p.current == up
	if last {
		p.current = nil
	}
	p.mu.Unlock()
	if last {
		p.sink.SetOnline(false)
	}
	switch {
	case code == StatusReplaced:
	case errors.Is(err, websocket.ErrMessageTooBig):
		p.sink.Dropped("too_large")
		p.log.Warn("uplink closed: frame over the size limit", "limit_bytes", p.maxFrame)
	case code != 0 || isNormalClose(err):
		p.log.Info("uplink closed", "reason", reason, "status", websocket.CloseStatus(err))
	default:
		p.log.Warn("uplink lost", "err", err)
	}
}

// read takes messages until the connection fails: binary messages are
// frames, text messages JSON.
func (p *Push) read(c *websocket.Conn) error {
	ctx := context.Background() // the conn is closed to stop reading
	var m messageReader
	for {
		typ, data, err := m.read(ctx, c)
		if err != nil {
			return err
		}
		now := time.Now()
		if typ == websocket.MessageBinary {
			if err := Deliver(p.sink, data, p.maxFrame, now, time.Time{}); err != nil {
				p.log.Debug("frame dropped", "err", err, "bytes", len(data))
			}
			continue
		}
		p.text(data)
	}
}

// text handles a JSON message from the camera. A message that is not a JSON
// object with a string "type" is counted and ignored: the link stays up.
func (p *Push) text(data []byte) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.Type == "" {
		p.sink.Dropped("bad_message")
		p.log.Debug("camera message ignored: not a JSON object with a type", "bytes", len(data))
		return
	}
	if head.Type == "ack" {
		p.acks.deliver(data)
	}
	p.sink.Message(head.Type, json.RawMessage(data))
}

// Release closes the current uplink, if any, with StatusReplaced: in a
// cluster, the camera's newest uplink reached another gateway (a board that
// reconnected through a load balancer), and newest wins there as it does
// here. The camera is not marked offline: its frames now come from the
// other gateway.
func (p *Push) Release() {
	p.mu.Lock()
	up := p.current
	p.current = nil
	p.mu.Unlock()
	if up != nil {
		close(up.replaced)
		p.log.Info("uplink replaced by a newer one on another gateway")
	}
}

// Demand records the wanted rate and tells the current uplink, if any.
func (p *Push) Demand(full bool) {
	p.idle.Store(!full)
	p.mu.Lock()
	up := p.current
	p.mu.Unlock()
	if up != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.sendDemand(ctx, up, full)
	}
}

// demandMsg is the demand command: "full" or "idle" rate.
type demandMsg struct {
	Type string `json:"type"` // "demand"
	Rate string `json:"rate"`
}

func (p *Push) sendDemand(ctx context.Context, up *uplink, full bool) {
	rate := "idle"
	if full {
		rate = "full"
	}
	msg, _ := json.Marshal(demandMsg{Type: "demand", Rate: rate})
	if err := up.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		p.log.Debug("demand not sent", "rate", rate, "err", err)
		return
	}
	_ = up.w.Flush()
}

// Control sends settings down the current uplink as a JSON text message
// with a fresh id and waits for the camera's ack or for ctx to end.
func (p *Push) Control(ctx context.Context, s control.Settings) (control.Ack, error) {
	p.mu.Lock()
	up := p.current
	p.mu.Unlock()
	if up == nil {
		return control.Ack{}, control.ErrOffline
	}
	return p.acks.control(ctx, s, func(ctx context.Context, msg []byte) error {
		if err := up.conn.Write(ctx, websocket.MessageText, msg); err != nil {
			return err
		}
		_ = up.w.Flush()
		return nil
	})
}

// isNormalClose reports whether err is the peer closing normally or going away.
func isNormalClose(err error) bool {
	s := websocket.CloseStatus(err)
	return s == websocket.StatusNormalClosure || s == websocket.StatusGoingAway
}
