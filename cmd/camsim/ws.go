package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// What the firmware's WebSocket library (Links2004/arduinoWebSockets) does,
// and camsim does the same.
const (
	// wsConnectTimeout is WEBSOCKETS_TCP_TIMEOUT: connect and handshake.
	wsConnectTimeout = 5 * time.Second
	// wsWriteTimeout: the library gives up a write after 5 s without
	// progress.
	wsWriteTimeout = 5 * time.Second
	// wsMaxReceive is WEBSOCKETS_MAX_DATA_SIZE on ESP32: a larger message
	// from the gateway closes the link with 1009.
	wsMaxReceive = 15 << 10
)

// errUnauthorized is a gateway that refused the token.
var errUnauthorized = errors.New("the gateway refused the token (401): check --token or CAMSIM_TOKEN")

// wsUplink dials one camera's uplink WebSocket.
type wsUplink struct {
	url    string // ws://GATEWAY/cam/ID/ingest
	header http.Header
	client *http.Client
}

// ingestURL returns the uplink URL of camera id on gateway (ws://, wss://,
// http:// or https://, with or without a trailing slash or a path prefix).
func ingestURL(gateway, id string) (string, error) {
	u, err := url.Parse(gateway)
	if err != nil {
		return "", fmt.Errorf("--gateway %q: %w", gateway, err)
	}
	switch u.Scheme {
	case "ws", "wss", "http", "https":
	default:
		return "", fmt.Errorf("--gateway %q: use ws://HOST:PORT (or wss://)", gateway)
	}
	if u.Host == "" {
		return "", fmt.Errorf("--gateway %q: no host", gateway)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/cam/" + url.PathEscape(id) + "/ingest"
	return u.String(), nil
}

// newWSUplink returns the uplink of one camera. token may be empty (a
// camera configured insecure); origin empty sends no Origin, as
// setExtraHeaders(nullptr) does on the board.
func newWSUplink(gateway, id, token, origin string) (*wsUplink, error) {
	u, err := ingestURL(gateway, id)
	if err != nil {
		return nil, err
	}
	h := http.Header{"User-Agent": {"arduino-WebSocket-Client"}}
	if origin != "" {
		h.Set("Origin", origin)
	}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: wsConnectTimeout}).DialContext,
		TLSHandshakeTimeout: wsConnectTimeout,
	}
	return &wsUplink{url: u, header: h, client: &http.Client{Transport: tr}}, nil
}

// dial connects; it is the camera's dialer.
func (w *wsUplink) dial(ctx context.Context) (link, error) {
	ctx, cancel := context.WithTimeout(ctx, wsConnectTimeout)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, w.url, &websocket.DialOptions{
		HTTPClient:      w.client,
		HTTPHeader:      w.header,
		Subprotocols:    []string{"arduino"},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, errUnauthorized
		}
		return nil, fmt.Errorf("dial %s: %w", w.url, err)
	}
	c.SetReadLimit(wsMaxReceive)
	return &wsLink{c: c}, nil
}

// close frees the idle connections of failed handshakes.
func (w *wsUplink) close() { w.client.CloseIdleConnections() }

// wsLink is a connected uplink WebSocket: each frame one binary message
// (sendBIN), each JSON message one text message (sendTXT).
type wsLink struct{ c *websocket.Conn }

func (l *wsLink) SendFrame(ctx context.Context, jpeg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	defer cancel()
	return l.c.Write(ctx, websocket.MessageBinary, jpeg)
}

func (l *wsLink) SendText(ctx context.Context, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	defer cancel()
	return l.c.Write(ctx, websocket.MessageText, msg)
}

// Receive returns the next text message; the gateway sends no binary ones,
// and any it did would be ignored as the firmware ignores them.
func (l *wsLink) Receive(ctx context.Context) ([]byte, error) {
	for {
		typ, data, err := l.c.Read(ctx)
		if err != nil {
			return nil, err
		}
		if typ == websocket.MessageText {
			return data, nil
		}
	}
}

// Close sends a close frame (1001, going away) and waits a little for the
// gateway's; on a dead link it returns at once.
func (l *wsLink) Close() error {
	return l.c.Close(websocket.StatusGoingAway, "camera going away")
}
