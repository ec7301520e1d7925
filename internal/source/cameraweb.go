package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/camrelay/camrelay/internal/control"
	"github.com/camrelay/camrelay/internal/frame"
)

// CameraWeb controls a camera that runs arduino-esp32's stock
// CameraWebServer sketch through the HTTP API its own page uses
// (app_httpd.cpp, the server on port 80): GET /control?var=NAME&val=INT,
// one setting per request, 200 with an empty body when the sensor took it,
// 500 when it refused or does not know the name; GET /status, a flat JSON
// object of the current settings. Safe for concurrent use; the fields must
// not change once Control is called.
type CameraWeb struct {
	// URL is the base of the camera's control API, such as
	// http://192.168.1.50/ (not the :81 stream server). A user and password
	// in it are sent with HTTP Basic auth and never logged.
	URL string
	// Resolution returns the width and height of the camera's newest
	// frame, 0, 0 if there is none; it tells the two framesize numberings
	// apart (see FrameSizeTable). Nil means unknown.
	Resolution func() (width, height int)
	// Client makes the requests. Nil means a client of its own without a
	// proxy; the caller's context bounds each request.
	Client *http.Client
	// Log receives what was applied. Nil means slog.Default().
	Log *slog.Logger
}

var _ interface {
	Control(context.Context, control.Settings) (control.Ack, error)
} = (*CameraWeb)(nil)

// FrameSizeTable is one numbering of esp32-camera's framesize_t: /control
// takes the enum's number, not its name, and FRAMESIZE_128X128 and
// FRAMESIZE_320X320 were inserted into the middle of the enum in v2.0.14
// (Nov 2024), moving every size after QQVGA. Arduino core 2.0.x builds
// CameraWebServer with an older driver (legacy numbering); core 3.x takes
// the driver's master branch (current numbering).
type FrameSizeTable int

const (
	// FrameSizesCurrent is esp32-camera v2.0.14 and later (arduino-esp32
	// 3.x): 96X96 0, QQVGA 1, 128X128 2, QCIF 3, … VGA 10, … 5MP 24.
	FrameSizesCurrent FrameSizeTable = iota
	// FrameSizesLegacy is esp32-camera v2.0.4 to v2.0.13 (arduino-esp32
	// 2.0.x): 96X96 0, QQVGA 1, QCIF 2, … VGA 8, … QSXGA 21; no 128X128,
	// 320X320 or 5MP.
	FrameSizesLegacy
)

func (t FrameSizeTable) String() string {
	if t == FrameSizesLegacy {
		return "esp32-camera before v2.0.14"
	}
	return "esp32-camera v2.0.14 or later"
}

// onlyCurrent are the frame sizes the legacy numbering does not have.
var onlyCurrent = map[string]bool{"128X128": true, "320X320": true, "5MP": true}

// Number returns the framesize_t value of name in this numbering, and
// whether the numbering has it.
func (t FrameSizeTable) Number(name string) (int, bool) {
	n := 0
	for _, f := range control.FrameSizes {
		if t == FrameSizesLegacy && onlyCurrent[f.Name] {
			continue
		}
		if f.Name == name {
			return n, true
		}
		n++
	}
	return 0, false
}

// Name returns the frame size name of framesize_t value n in this
// numbering, "" if n is out of range.
func (t FrameSizeTable) Name(n int) string {
	for _, f := range control.FrameSizes {
		if t == FrameSizesLegacy && onlyCurrent[f.Name] {
			continue
		}
		if n == 0 {
			return f.Name
		}
		n--
	}
	return ""
}

// detectTable tells the numbering from the camera's current framesize
// number (its /status) and the size of the frames it sends: from value 2 on
// the two numberings name different sizes, so only one of them can match.
// ok is false when neither does or both do (values 0 and 1, or no frame).
func detectTable(number, width, height int) (FrameSizeTable, bool) {
	match := func(t FrameSizeTable) bool {
		name := t.Name(number)
		i := control.FrameSizeIndex(name)
		return i >= 0 && control.FrameSizes[i].Width == width && control.FrameSizes[i].Height == height
	}
	cur, leg := match(FrameSizesCurrent), match(FrameSizesLegacy)
	switch {
	case cur && !leg:
		return FrameSizesCurrent, true
	case leg && !cur:
		return FrameSizesLegacy, true
	}
	return FrameSizesCurrent, false
}

// cameraWebVar is one setting as CameraWebServer names it, in the order
// they are sent: the frame size first, so that quality applies to the new
// size's encoder.
type cameraWebVar struct {
	key, name string // gateway's key, CameraWebServer's var
}

var cameraWebVars = []cameraWebVar{
	{"framesize", "framesize"}, {"quality", "quality"}, {"brightness", "brightness"},
	{"contrast", "contrast"}, {"saturation", "saturation"}, {"vflip", "vflip"},
	{"hmirror", "hmirror"}, {"led", "led_intensity"},
}

// values returns the settings of s that are set, as integers by key.
func values(s control.Settings) map[string]int {
	out := map[string]int{}
	put := func(k string, v *int) {
		if v != nil {
			out[k] = *v
		}
	}
	flag := func(k string, v *bool) {
		if v != nil {
			out[k] = 0
			if *v {
				out[k] = 1
			}
		}
	}
	put("quality", s.Quality)
	put("brightness", s.Brightness)
	put("contrast", s.Contrast)
	put("saturation", s.Saturation)
	flag("vflip", s.VFlip)
	flag("hmirror", s.HMirror)
	put("led", s.LED)
	return out
}

// Control sends each setting of s as its own GET /control?var=&val=, in a
// fixed order, and stops at the first that fails: the error is then a
// *control.KeyError naming it, with what was applied before it. A camera
// that cannot be reached before anything was applied is
// control.ErrOffline. The ack lists what was applied, by the gateway's
// names (framesize by name).
func (c *CameraWeb) Control(ctx context.Context, s control.Settings) (control.Ack, error) {
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	vals := values(s)
	table := FrameSizesCurrent
	if s.FrameSize != nil || s.LED != nil {
		status, err := c.Status(ctx)
		if err != nil {
			return control.Ack{}, c.failed(ctx, "status", nil, err)
		}
		if s.LED != nil {
			if _, ok := status["led_intensity"]; !ok {
				return control.Ack{}, &control.KeyError{Key: "led",
					Err: errors.New("this CameraWebServer build has no flash LED control (no led_intensity in its /status)")}
			}
		}
		if s.FrameSize != nil {
			table = c.table(status, log)
			n, ok := table.Number(*s.FrameSize)
			if !ok {
				return control.Ack{}, &control.KeyError{Key: "framesize",
					Err: fmt.Errorf("%s is not a frame size of this camera's driver (%s)", *s.FrameSize, table)}
			}
			vals["framesize"] = n
		}
	}
	applied := control.Settings{}
	appliedJSON := func() json.RawMessage {
		if applied.Empty() {
			return nil
		}
		b, _ := json.Marshal(applied)
		return b
	}
	for _, v := range cameraWebVars {
		val, ok := vals[v.key]
		if !ok {
			continue
		}
		if err := c.set(ctx, v.name, val); err != nil {
			return control.Ack{}, c.failed(ctx, v.key, appliedJSON(), err)
		}
		markApplied(&applied, s, v.key)
	}
	log.Debug("camera settings applied through /control", "framesizes", table.String())
	return control.Ack{Type: "ack", OK: true, Applied: appliedJSON()}, nil
}

// markApplied copies the setting key from s into applied.
func markApplied(applied *control.Settings, s control.Settings, key string) {
	switch key {
	case "framesize":
		applied.FrameSize = s.FrameSize
	case "quality":
		applied.Quality = s.Quality
	case "brightness":
		applied.Brightness = s.Brightness
	case "contrast":
		applied.Contrast = s.Contrast
	case "saturation":
		applied.Saturation = s.Saturation
	case "vflip":
		applied.VFlip = s.VFlip
	case "hmirror":
		applied.HMirror = s.HMirror
	case "led":
		applied.LED = s.LED
	}
}

// failed turns a request's error into the error of Control: offline when
// the camera could not be reached and nothing was applied yet, otherwise a
// KeyError (a timeout when ctx ran out).
func (c *CameraWeb) failed(ctx context.Context, key string, applied json.RawMessage, err error) error {
	var op *net.OpError
	if applied == nil && errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("%w: %v", control.ErrOffline, err)
	}
	return &control.KeyError{Key: key, Applied: applied, Timeout: ctx.Err() != nil, Err: err}
}

// table picks the framesize numbering from the camera's /status and its
// newest frame; the current numbering when they cannot tell.
func (c *CameraWeb) table(status map[string]json.RawMessage, log *slog.Logger) FrameSizeTable {
	var number int
	if json.Unmarshal(status["framesize"], &number) != nil || c.Resolution == nil {
		return FrameSizesCurrent
	}
	w, h := c.Resolution()
	t, ok := detectTable(number, w, h)
	if !ok {
		log.Debug("framesize numbering not detected; assuming the current one", "status_framesize", number, "width", w, "height", h)
	}
	return t
}

// set sends one GET /control?var=name&val=value and checks for 200.
func (c *CameraWeb) set(ctx context.Context, name string, value int) error {
	// Built by hand, not with url.Values: the firmware reads the query
	// with httpd_query_key_value in this order, and the values are plain
	// integers that need no escaping.
	resp, err := c.get(ctx, "control?var="+name+"&val="+strconv.Itoa(value))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the camera answered %s to %s=%d", resp.Status, name, value)
	}
	return nil
}

// maxStatus bounds /status: about 1 KiB of settings plus the sensor's
// registers on newer sketches.
const maxStatus = 64 << 10

// Status returns the camera's /status object.
func (c *CameraWeb) Status(ctx context.Context) (map[string]json.RawMessage, error) {
	resp, err := c.get(ctx, "status")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/status answered %s", resp.Status)
	}
	var m map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxStatus)).Decode(&m); err != nil {
		return nil, fmt.Errorf("/status is not a JSON object: %w", err)
	}
	return m, nil
}

// get GETs path (with its query) relative to the base URL.
func (c *CameraWeb) get(ctx context.Context, path string) (*http.Response, error) {
	req, _, err := newGet(strings.TrimSuffix(c.URL, "/") + "/" + path)
	if err != nil {
		return nil, err
	}
	client := c.Client
	if client == nil {
		client = cameraWebClient
	}
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return nil, unwrapURL(err)
	}
	return resp, nil
}

// cameraWebClient is shared by every CameraWeb without a client. It keeps
// no connection open: control is rare, and the sketch's esp_http_server
// has only a handful of sockets, one of which the stream already holds.
var cameraWebClient = &http.Client{Transport: func() *http.Transport {
	t := newTransport()
	t.DisableKeepAlives = true
	return t
}()}

// CameraWebControlURL returns the control API base that the stock
// CameraWebServer serves next to a stream or snapshot URL, or "" when the
// URL does not look like that sketch's. The sketch serves its stream on
// port 81 at /stream and /capture, /control and /status on port 80 of the
// same host (INTEROP.md §1); anything else may be another server, which a
// guessed /control would only confuse.
func CameraWebControlURL(streamOrCapture string) string {
	u, err := url.Parse(streamOrCapture)
	if err != nil || u.Scheme != "http" {
		return ""
	}
	port := u.Port()
	switch {
	case u.Path == "/stream" && port == "81":
	case u.Path == "/capture" && (port == "" || port == "80"):
	default:
		return ""
	}
	u.Host = u.Hostname()
	if strings.Contains(u.Host, ":") {
		u.Host = "[" + u.Host + "]" // IPv6 literal
	}
	u.Path, u.RawQuery, u.Fragment = "/", "", ""
	return u.String()
}

// Settings reads the camera's /status and returns its settings by the
// gateway's names, as a push camera's status message would carry them:
// framesize by name (when the numbering can be told, see FrameSizeTable),
// quality, brightness, contrast, saturation, vflip and hmirror as booleans,
// led from led_intensity where the build has it.
func (c *CameraWeb) Settings(ctx context.Context) (json.RawMessage, error) {
	status, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	out := map[string]any{"type": "status"}
	num := func(key string) (int, bool) {
		var n int
		raw, ok := status[key]
		return n, ok && json.Unmarshal(raw, &n) == nil
	}
	if n, ok := num("framesize"); ok {
		if name := c.table(status, log).Name(n); name != "" {
			out["framesize"] = name
		}
	}
	for _, k := range []string{"quality", "brightness", "contrast", "saturation"} {
		if n, ok := num(k); ok {
			out[k] = n
		}
	}
	for _, k := range []string{"vflip", "hmirror"} {
		if n, ok := num(k); ok {
			out[k] = n != 0
		}
	}
	if n, ok := num("led_intensity"); ok {
		out["led"] = n
	}
	return json.Marshal(out)
}

// CameraWebStatus wraps the Runner of a CameraWebServer camera (its MJPEG
// stream or its snapshots) so that each time the link delivers its first
// frame after connecting, the camera's current settings are read from
// /status and handed to the sink as a "status" message: /api/cameras then
// shows them, and the page starts its controls from them. The first frame
// is the moment because the frame size tells the framesize numberings
// apart. Run owns the one goroutine that reads /status and waits for it.
type CameraWebStatus struct {
	Runner
	Web *CameraWeb
}

// statusTimeout bounds one /status read.
const statusTimeout = 5 * time.Second

// Run runs the wrapped Runner and reads /status after each connect's first
// frame; a failed read is logged at debug level and never ends the link.
func (s *CameraWebStatus) Run(ctx context.Context, sink Sink) error {
	w := &firstFrameSink{Sink: sink, first: make(chan struct{}, 1)}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-rctx.Done():
				return
			case <-w.first:
			}
			sctx, stop := context.WithTimeout(rctx, statusTimeout)
			msg, err := s.Web.Settings(sctx)
			stop()
			if err != nil {
				if s.Web.Log != nil && rctx.Err() == nil {
					s.Web.Log.Debug("camera settings not read from /status", "err", err)
				}
				continue
			}
			sink.Message("status", msg)
		}
	}()
	err := s.Runner.Run(ctx, w)
	cancel()
	<-done
	return err
}

// firstFrameSink signals first after the first frame of each connect.
type firstFrameSink struct {
	Sink
	armed atomic.Bool
	first chan struct{} // buffered 1: a signal is never lost, never blocks
}

func (f *firstFrameSink) Connected() {
	f.armed.Store(true)
	f.Sink.Connected()
}

func (f *firstFrameSink) Publish(fr *frame.Frame) uint64 {
	seq := f.Sink.Publish(fr)
	if f.armed.CompareAndSwap(true, false) {
		select {
		case f.first <- struct{}{}:
		default:
		}
	}
	return seq
}
