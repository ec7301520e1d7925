package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/camrelay/camrelay/internal/frame"
	"github.com/camrelay/camrelay/internal/mjpeg"
)

// DefaultPollInterval is how often JPEG polls when no Interval is given.
const DefaultPollInterval = time.Second

// jpegMaxFailures is how many polls in a row may fail before Run returns,
// so that the Supervisor marks the camera offline and backs off. One lost
// request on a busy WiFi should not do that.
const jpegMaxFailures = 3

// JPEG polls a still-image URL: CameraWebServer's http://CAM/capture,
// ESPHome's snapshot mode, mjpg-streamer's ?action=snapshot, go2rtc's
// /api/frame.jpeg. One request at a time, at most one per Interval: a slow
// camera lowers the rate instead of piling up requests. The fields are read
// by Run and must not change while it runs.
type JPEG struct {
	// URL is the picture's http or https URL; a user and password in it
	// are sent with HTTP Basic auth and never logged.
	URL string
	// Interval is the time between the starts of two requests. Zero means
	// DefaultPollInterval.
	Interval time.Duration
	// Timeout bounds one request, body included. Zero means
	// DefaultReadTimeout.
	Timeout time.Duration
	// MaxFrame is the largest picture accepted. Zero means
	// DefaultMaxFrame.
	MaxFrame int64
	// Client makes the requests. Nil means a client of its own, like
	// MJPEG's, that keeps the connection to the camera open between
	// polls.
	Client *http.Client
	// Log receives lifecycle messages. Nil means slog.Default().
	Log *slog.Logger
}

var _ Runner = (*JPEG)(nil)

// Run polls until jpegMaxFailures polls in a row have failed or ctx ends.
func (j *JPEG) Run(ctx context.Context, sink Sink) error {
	req, shown, err := newGet(j.URL)
	if err != nil {
		return err
	}
	interval := orDefault(j.Interval, DefaultPollInterval)
	timeout := orDefault(j.Timeout, DefaultReadTimeout)
	maxFrame := orDefault(j.MaxFrame, DefaultMaxFrame)
	log := j.Log
	if log == nil {
		log = slog.Default()
	}
	client := j.Client
	if client == nil {
		tr := newTransport()
		defer tr.CloseIdleConnections()
		client = &http.Client{Transport: tr}
	}

	// A ticker drops ticks while a request is slower than the interval,
	// so requests never overlap and never come in a burst afterwards.
	t := time.NewTicker(interval)
	defer t.Stop()
	failures, connected := 0, false
	for {
		data, captured, err := j.poll(ctx, client, req, timeout, maxFrame)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case errors.Is(err, errNotSnapshot):
			return fmt.Errorf("GET %s: %w", shown, err)
		case errors.Is(err, frame.ErrTooLarge):
			sink.Dropped("too_large")
		case err == nil:
			if !connected {
				connected = true
				sink.Connected()
				log.Info("camera answering", "url", shown)
			}
			now := time.Now()
			if err = Deliver(sink, data, maxFrame, now, captureTime(captured, now)); err != nil {
				err = fmt.Errorf("not a good JPEG: %w", err)
			}
		}
		if err == nil {
			failures = 0
		} else {
			failures++
			log.Debug("poll failed", "url", shown, "err", err, "in_a_row", failures)
			if failures >= jpegMaxFailures {
				return fmt.Errorf("GET %s: %d requests in a row failed, the last: %w", shown, failures, err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// errNotSnapshot is a URL that answers with a stream: polling it would
// hold one stream after another open.
var errNotSnapshot = errors.New("the camera sent an MJPEG stream (multipart/x-mixed-replace), not one picture: use `source: mjpeg` for this URL")

// poll makes one request and returns its body, checked for size only, and
// the X-Timestamp if the camera sent one.
func (j *JPEG) poll(ctx context.Context, client *http.Client, req *http.Request, timeout time.Duration, maxFrame int64) ([]byte, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return nil, time.Time{}, unwrapURL(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, time.Time{}, fmt.Errorf("%s%s", resp.Status, statusHint(resp.StatusCode))
	}
	if strings.HasPrefix(mediaType(resp.Header.Get("Content-Type")), "multipart/") {
		return nil, time.Time{}, errNotSnapshot
	}
	if resp.ContentLength > maxFrame {
		return nil, time.Time{}, j.tooLarge(resp.ContentLength, maxFrame)
	}
	// One byte over the limit is enough to know the picture is too big. A
	// body cut short (the camera reset mid-picture) is io.ErrUnexpectedEOF.
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFrame+1))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read picture: %w", err)
	}
	if int64(len(data)) > maxFrame {
		return nil, time.Time{}, j.tooLarge(-1, maxFrame)
	}
	ts, _ := mjpeg.ParseTimestamp(resp.Header.Get("X-Timestamp"))
	return data, ts, nil
}

// tooLarge is the error for a picture over the limit; size is -1 when the
// camera did not say.
func (j *JPEG) tooLarge(size, limit int64) error {
	if size < 0 {
		return fmt.Errorf("%w: more than %d bytes", frame.ErrTooLarge, limit)
	}
	return fmt.Errorf("%w: %d > %d bytes", frame.ErrTooLarge, size, limit)
}
