package source

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/camrelay/camrelay/internal/control"
)

// maxBoardMessage is the largest message a board's arduinoWebSockets
// accepts (WEBSOCKETS_MAX_DATA_SIZE, 15 KiB on ESP32); it closes the link
// with 1009 on a larger one.
const maxBoardMessage = 15 << 10

// WSPull dials a board that runs a WebSocket server, as the classic ESP32
// camera tutorials do (arduinoWebSockets' WebSocketsServer on port 81,
// every frame sent with sendBIN): each binary message is one JPEG, each
// text message a JSON message with a "type". Run reads until the link
// fails, closes or stays silent for ReadTimeout; the Supervisor reconnects.
// Send writes to the board while Run is connected, and Control carries
// settings as push does: a {"type":"control","id":N,...} text message and
// the board's ack with the same id. The configuration
// fields must not change while Run runs; Run and Send may be called
// concurrently, but only one Run at a time.
type WSPull struct {
	// URL is the board's ws:// or wss:// URL, e.g. ws://192.168.1.51:81/.
	// A user and password in it are sent with HTTP Basic auth and never
	// logged.
	URL string
	// MaxFrame is the largest message accepted; a larger one ends the
	// link with 1009. Zero means DefaultMaxFrame.
	MaxFrame int64
	// ReadTimeout is how long the board may send nothing before the link
	// is dropped; it bounds the handshake too. Zero means
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// Log receives lifecycle messages. Nil means slog.Default().
	Log *slog.Logger

	mu   sync.Mutex
	conn *websocket.Conn // the link while Run is connected
	acks acks            // control commands awaiting their ack
}

var _ Runner = (*WSPull)(nil)

// Run dials the board and delivers its frames until the link ends or ctx
// ends.
func (w *WSPull) Run(ctx context.Context, sink Sink) error {
	u, err := url.Parse(w.URL)
	if err != nil {
		return fmt.Errorf("camera url: %w", err)
	}
	shown := u.Redacted()
	switch u.Scheme {
	case "ws", "wss":
	default:
		return fmt.Errorf("camera url %s: scheme must be ws or wss", shown)
	}
	header := http.Header{"User-Agent": {"camrelay"}}
	if u.User != nil {
		pass, _ := u.User.Password()
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass)))
		u.User = nil
	}
	maxFrame := orDefault(w.MaxFrame, DefaultMaxFrame)
	timeout := orDefault(w.ReadTimeout, DefaultReadTimeout)
	log := w.Log
	if log == nil {
		log = slog.Default()
	}

	tr := newTransport()
	defer tr.CloseIdleConnections()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	c, _, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{
		HTTPClient:      &http.Client{Transport: tr},
		HTTPHeader:      header,
		CompressionMode: websocket.CompressionDisabled,
	})
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("dial %s: %w", shown, unwrapURL(err))
	}
	defer c.CloseNow()
	// A frame of exactly maxFrame bytes is fine; one byte more closes the
	// link with 1009, which the library sends for us.
	c.SetReadLimit(maxFrame)

	w.mu.Lock()
	w.conn = c
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.conn = nil
		w.mu.Unlock()
	}()
	sink.Connected()
	log.Info("board connected", "url", shown)

	var m messageReader
	for {
		// The library closes the connection when a Read's context ends,
		// which is what a stall or the end of ctx should do.
		rctx, cancel := context.WithTimeout(ctx, timeout)
		typ, data, err := m.read(rctx, c)
		stalled := rctx.Err() != nil
		cancel()
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case stalled:
				return fmt.Errorf("board %s: nothing received for %v", shown, timeout)
			case errors.Is(err, websocket.ErrMessageTooBig):
				sink.Dropped("too_large")
				return fmt.Errorf("board %s: frame over the size limit of %d bytes (max_frame_bytes)", shown, maxFrame)
			case websocket.CloseStatus(err) != -1:
				return fmt.Errorf("board %s closed the link: %w", shown, err)
			}
			return fmt.Errorf("board %s: link lost: %w", shown, err)
		}
		if typ == websocket.MessageBinary {
			if err := Deliver(sink, data, maxFrame, time.Now(), time.Time{}); err != nil {
				log.Debug("frame dropped", "err", err, "bytes", len(data))
			}
			continue
		}
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(data, &head); err != nil || head.Type == "" {
			sink.Dropped("bad_message")
			log.Debug("board message ignored: not a JSON object with a type", "bytes", len(data))
			continue
		}
		if head.Type == "ack" {
			w.acks.deliver(data)
		}
		sink.Message(head.Type, json.RawMessage(data))
	}
}

// Send writes msg to the board as a text message. It returns
// control.ErrOffline when Run is not connected or the write fails, and an
// error for a message over the 15 KiB that the board's library accepts.
func (w *WSPull) Send(ctx context.Context, msg []byte) error {
	if len(msg) > maxBoardMessage {
		return fmt.Errorf("message of %d bytes: the board accepts at most %d", len(msg), maxBoardMessage)
	}
	w.mu.Lock()
	c := w.conn
	w.mu.Unlock()
	if c == nil {
		return control.ErrOffline
	}
	if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
		return fmt.Errorf("%w: send to the board: %v", control.ErrOffline, err)
	}
	return nil
}

// Control sends settings to the board as a JSON text message with a fresh
// id and waits for its ack or for ctx to end, as Push does:
// control.ErrOffline while Run is not connected, control.ErrNoAck when no
// ack comes.
func (w *WSPull) Control(ctx context.Context, s control.Settings) (control.Ack, error) {
	return w.acks.control(ctx, s, w.Send)
}
