package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/mjpeg"
)

// DefaultReadTimeout is how long a pulled link may stay silent (no byte of
// an MJPEG stream, no WebSocket message) before it counts as stalled and
// is dropped, so that the Supervisor reconnects. A stalled TCP connection
// (a camera that lost power, a WiFi drop) is otherwise noticed only after
// minutes of TCP retries.
const DefaultReadTimeout = 10 * time.Second

// MJPEG pulls a multipart/x-mixed-replace stream: the stock
// CameraWebServer's http://CAM:81/stream, ESPHome's camera web server,
// µStreamer, mjpg-streamer, go2rtc, ffmpeg. Run delivers every part and
// returns when the stream fails, ends or stalls; the Supervisor reconnects.
// The fields are read by Run and must not change while it runs; MJPEG
// keeps no other state, so several Runs may share one.
type MJPEG struct {
	// URL is the stream's http or https URL. A user and password in it
	// (http://user:pass@cam/stream) are sent with HTTP Basic auth and
	// never logged.
	URL string
	// MaxFrame is the largest part accepted. Zero means DefaultMaxFrame.
	MaxFrame int64
	// ReadTimeout is how long the stream may send nothing (from the
	// request on) before Run gives up on it. Zero means
	// DefaultReadTimeout.
	ReadTimeout time.Duration
	// Client makes the request. Nil means a client of its own with dial
	// and TLS handshake timeouts, no proxy, and no overall timeout (a
	// stream has no end).
	Client *http.Client
	// Log receives lifecycle messages. Nil means slog.Default().
	Log *slog.Logger
}

var _ Runner = (*MJPEG)(nil)

// errPullStalled is the cause of a request cancelled by the read timeout.
var errPullStalled = errors.New("no data within the read timeout")

// Run GETs the stream and delivers its frames until it fails or ctx ends.
func (m *MJPEG) Run(ctx context.Context, sink Sink) error {
	req, shown, err := newGet(m.URL)
	if err != nil {
		return err
	}
	maxFrame := orDefault(m.MaxFrame, DefaultMaxFrame)
	timeout := orDefault(m.ReadTimeout, DefaultReadTimeout)
	log := m.Log
	if log == nil {
		log = slog.Default()
	}
	client := m.Client
	if client == nil {
		tr := newTransport()
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr}
	}

	// The watchdog cancels the request when nothing has come for the
	// read timeout: first the response header, then each read of the body
	// pushes it back.
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(timeout, func() { cancel(errPullStalled) })
	defer watchdog.Stop()
	// failed explains a failure, naming a stall or the end of ctx rather
	// than the "context canceled" they show up as.
	failed := func(what string, err error) error {
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case context.Cause(rctx) == errPullStalled:
			return fmt.Errorf("%s %s: nothing received for %v", what, shown, timeout)
		}
		return fmt.Errorf("%s %s: %w", what, shown, err)
	}

	resp, err := client.Do(req.WithContext(rctx))
	if err != nil {
		return failed("GET", unwrapURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s%s", shown, resp.Status, statusHint(resp.StatusCode))
	}
	ct := resp.Header.Get("Content-Type")
	switch media := mediaType(ct); {
	case strings.HasPrefix(media, "multipart/"):
	case media == "image/jpeg":
		return fmt.Errorf("GET %s: the camera sent one JPEG (Content-Type image/jpeg), not a stream: "+
			"use `source: jpeg` to poll a snapshot URL, or the stream URL (CameraWebServer: http://CAM:81/stream)", shown)
	case media == "text/html":
		return fmt.Errorf("GET %s: the camera sent a web page (text/html), not a stream: "+
			"use the stream URL (CameraWebServer: http://CAM:81/stream, mjpg-streamer: /?action=stream)", shown)
	default:
		// Leave the boundary to the body: ffmpeg -listen 1 serves its
		// mpjpeg stream as application/octet-stream. A body that is not
		// multipart fails at its first line.
		ct = ""
	}
	sink.Connected()
	log.Info("stream connected", "url", shown, "content_type", resp.Header.Get("Content-Type"))

	r := mjpeg.NewReader(&watchedReader{r: resp.Body, t: watchdog, d: timeout}, ct, maxFrame)
	for {
		p, err := r.Next()
		if err != nil {
			switch {
			case errors.Is(err, mjpeg.ErrTooLarge):
				sink.Dropped("too_large")
				return fmt.Errorf("stream %s: %w (max_frame_bytes is %d)", shown, err, maxFrame)
			case err == io.EOF:
				return fmt.Errorf("stream %s ended", shown)
			}
			return failed("stream", err)
		}
		now := time.Now()
		if err := Deliver(sink, p.Data, maxFrame, now, captureTime(p.Timestamp, now)); err != nil {
			log.Debug("frame dropped", "err", err, "bytes", len(p.Data))
		}
	}
}

// watchedReader pushes its watchdog back after every read that returns
// data.
type watchedReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.t.Reset(w.d)
	}
	return n, err
}

// captureSkew bounds how far a camera's timestamp may be from the
// gateway's clock to be taken as the capture time. CameraWebServer's
// X-Timestamp counts from boot and mjpg-streamer's from an arbitrary
// epoch, so both land years away and are ignored; µStreamer's is the
// host's clock, right when the hosts keep time with NTP.
const captureSkew = 5 * time.Second

// captureTime returns ts as a capture time if it is plausible against the
// gateway's clock now, and the zero time otherwise. A time slightly ahead
// of now (clock skew) is taken as now.
func captureTime(ts, now time.Time) time.Time {
	if ts.IsZero() {
		return time.Time{}
	}
	d := now.Sub(ts)
	switch {
	case d < -captureSkew || d > captureSkew:
		return time.Time{}
	case d < 0:
		return now
	}
	return ts
}

// newGet builds a GET of rawURL with Basic auth from its userinfo, and the
// URL as it may be logged (without the password).
func newGet(rawURL string) (*http.Request, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("camera url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, "", fmt.Errorf("camera url %s: scheme must be http or https", u.Redacted())
	}
	shown := u.Redacted()
	user := u.User
	u.User = nil
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("camera url %s: %w", shown, err)
	}
	if user != nil {
		pass, _ := user.Password()
		req.SetBasicAuth(user.Username(), pass)
	}
	req.Header.Set("User-Agent", "camrelay")
	return req, shown, nil
}

// newTransport returns the transport of a source's own client. Cameras sit
// on the local network, so a proxy from the environment would be wrong for
// them; JPEG does not compress, so neither does the transport.
func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		DisableCompression:  true,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     30 * time.Second,
	}
}

// unwrapURL drops the *url.Error around a client error, whose message
// repeats the method and URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// statusHint adds a hint to an HTTP status that has a usual cause.
func statusHint(code int) string {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden:
		return " (check the user and password in the url: http://USER:PASS@host/...)"
	case http.StatusNotFound:
		return " (check the path: CameraWebServer streams on http://CAM:81/stream and takes stills on http://CAM/capture)"
	}
	return ""
}

// mediaType returns the lower-case media type of a Content-Type value,
// without parameters.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// orDefault returns v, or def when v is zero or less.
func orDefault[T int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
