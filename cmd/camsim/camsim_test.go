package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/camrelay/camrelay/internal/control"
	"github.com/camrelay/camrelay/internal/frame"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// uplink is one camera connection accepted by the test gateway. Like the
// real gateway it reads all the time (so pings and close frames are
// answered); the messages wait in msgs for the test.
type uplink struct {
	camera string
	header http.Header
	proto  string
	c      *websocket.Conn
	msgs   chan message // closed when the connection ends
}

// uplinkBacklog bounds the messages kept for the test; frames beyond it
// are dropped, as a test that reads a few frames need not read them all.
const uplinkBacklog = 256

// gateway is a stand-in for camrelay's /cam/{id}/ingest, accepting
// uplinks the way the real endpoint does (any Origin, the "arduino"
// subprotocol echoed) and handing them to the test.
type gateway struct {
	srv     *httptest.Server
	uplinks chan *uplink
	quit    chan struct{} // closed when the test ends
	mu      sync.Mutex
	open    []*uplink
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{uplinks: make(chan *uplink, 16), quit: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cam/{id}/ingest", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer wrong" {
			http.Error(w, "wrong token", http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
			InsecureSkipVerify: true,
			Subprotocols:       []string{"arduino"},
		})
		if err != nil {
			return
		}
		c.SetReadLimit(4 << 20)
		u := &uplink{camera: r.PathValue("id"), header: r.Header, proto: c.Subprotocol(), c: c,
			msgs: make(chan message, uplinkBacklog)}
		g.mu.Lock()
		g.open = append(g.open, u)
		g.mu.Unlock()
		g.uplinks <- u
		defer close(u.msgs)
		for {
			typ, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			m := message{typ, data}
			if typ == websocket.MessageBinary {
				select {
				case u.msgs <- m:
				default: // the test reads only a few frames
				}
				continue
			}
			select { // never drop a text message
			case u.msgs <- m:
			case <-g.quit:
				return
			}
		}
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(g.quit)
		g.mu.Lock()
		for _, u := range g.open {
			u.c.CloseNow()
		}
		g.mu.Unlock()
		g.srv.Close()
	})
	return g
}

// url is the gateway's address as --gateway takes it.
func (g *gateway) url() string { return "ws://" + strings.TrimPrefix(g.srv.URL, "http://") }

// accept waits for the next uplink.
func (g *gateway) accept(t *testing.T) *uplink {
	t.Helper()
	select {
	case u := <-g.uplinks:
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("no uplink within 10 s")
		return nil
	}
}

// startCamsim runs camsim with args until the test ends.
func startCamsim(t *testing.T, getenv func(string) string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"camsim"}, args...), getenv, io.Discard, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("run did not return 15 s after its context ended")
		}
	})
}

func noEnv(string) string { return "" }

// message is one message read from an uplink.
type message struct {
	typ  websocket.MessageType
	data []byte
}

func (u *uplink) read(t *testing.T) message {
	t.Helper()
	select {
	case m, ok := <-u.msgs:
		if !ok {
			t.Fatal("the uplink closed")
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message from camsim within 10 s")
		return message{}
	}
}

// text reads until a text message of type typ and decodes it.
func (u *uplink) text(t *testing.T, typ string) map[string]any {
	t.Helper()
	for range 1000 {
		m := u.read(t)
		if m.typ != websocket.MessageText {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal(m.data, &v); err != nil {
			t.Fatalf("text message %q is not a JSON object: %v", m.data, err)
		}
		if v["type"] == typ {
			return v
		}
	}
	t.Fatalf("no %q message", typ)
	return nil
}

// frame reads until a frame and checks it is a whole JPEG that decodes.
func (u *uplink) frame(t *testing.T) (data []byte, width, height int) {
	t.Helper()
	for range 1000 {
		m := u.read(t)
		if m.typ != websocket.MessageBinary {
			continue
		}
		if err := frame.Check(m.data, 0); err != nil {
			t.Fatalf("frame: %v", err)
		}
		img, err := jpeg.Decode(bytes.NewReader(m.data))
		if err != nil {
			t.Fatalf("frame does not decode: %v", err)
		}
		w, h, _ := frame.Size(m.data)
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Fatalf("frame header says %dx%d, picture is %v", w, h, b)
		}
		return m.data, w, h
	}
	t.Fatal("no frame")
	return nil, 0, 0
}

func (u *uplink) send(t *testing.T, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write to camsim: %v", err)
	}
}

func TestCamsim(t *testing.T) {
	g := newGateway(t)
	startCamsim(t, func(k string) string {
		if k == "CAMSIM_TOKEN" {
			return "tok-from-env"
		}
		return ""
	}, "--gateway", g.url(), "--id", "yard", "--fps", "50", "--status-interval", "100ms")
	u := g.accept(t)

	// The handshake, as arduinoWebSockets sends it.
	if u.camera != "yard" {
		t.Errorf("uplink for camera %q, want yard", u.camera)
	}
	for k, want := range map[string]string{"Authorization": "Bearer tok-from-env", "Origin": "file://"} {
		if got := u.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if u.proto != "arduino" {
		t.Errorf("subprotocol %q, want arduino", u.proto)
	}

	// hello first, then frames and status.
	m := u.read(t)
	var hello map[string]any
	if m.typ != websocket.MessageText || json.Unmarshal(m.data, &hello) != nil {
		t.Fatalf("first message %q is not the hello", m.data)
	}
	for k, want := range map[string]any{"type": "hello", "board": "camsim", "sensor": "OV2640", "framesize": "VGA", "psram": true, "reset": "POWERON"} {
		if hello[k] != want {
			t.Errorf("hello %s = %v, want %v", k, hello[k], want)
		}
	}
	if fw, _ := hello["fw"].(string); !strings.HasPrefix(fw, "camsim-") {
		t.Errorf("hello fw %q", fw)
	}
	var first []byte
	for i := range 3 {
		data, w, h := u.frame(t)
		if w != 640 || h != 480 {
			t.Fatalf("frame %d is %dx%d, want 640x480", i, w, h)
		}
		if bytes.Equal(data, first) {
			t.Fatal("frames do not change")
		}
		first = data
	}
	st := u.text(t, "status")
	for _, k := range []string{"rssi", "heap", "fps", "failed"} {
		if _, ok := st[k].(float64); !ok {
			t.Errorf("status %s = %v, want a number", k, st[k])
		}
	}

	// Control: applied, acknowledged, and the picture changes size.
	u.send(t, `{"type":"control","id":7,"framesize":"SVGA","quality":10,"led":255}`)
	ack := u.text(t, "ack")
	if ack["id"] != 7.0 || ack["ok"] != true {
		t.Fatalf("ack %v, want id 7 ok", ack)
	}
	applied, _ := ack["applied"].(map[string]any)
	if applied["framesize"] != "SVGA" || applied["quality"] != 10.0 || applied["led"] != 255.0 {
		t.Errorf("applied %v", applied)
	}
	for i := 0; ; i++ {
		if _, w, h := u.frame(t); w == 800 && h == 600 {
			break
		} else if i > 10 {
			t.Fatalf("frames still %dx%d after the ack", w, h)
		}
	}

	// Refused: a size over --max-framesize, an unknown setting. Nothing
	// is applied.
	for _, tc := range []struct{ cmd, want string }{
		{`{"type":"control","id":8,"framesize":"QXGA"}`, "larger than this camera's largest, UXGA"},
		{`{"type":"control","id":9,"framesize":"QVGA","zoom":2}`, "unknown setting"},
	} {
		u.send(t, tc.cmd)
		ack := u.text(t, "ack")
		if ack["ok"] != false || !strings.Contains(ack["error"].(string), tc.want) {
			t.Errorf("%s: ack %v, want an error with %q", tc.cmd, ack, tc.want)
		}
	}
	if _, w, h := u.frame(t); w != 800 || h != 600 {
		t.Errorf("a refused command changed the size to %dx%d", w, h)
	}

	// Demand: idle slows the frames down, full brings the rate back. A
	// control command after the demand fences it: frames after its ack
	// were sent after the demand took effect.
	u.send(t, `{"type":"demand","rate":"idle","idle_fps":4}`)
	fence(t, u, 20)
	if gap := frameGap(t, u); gap < 200*time.Millisecond {
		t.Errorf("idle at 4 fps: frames %v apart", gap)
	}
	u.send(t, `{"type":"demand","rate":"full"}`)
	fence(t, u, 21)
	if gap := frameGap(t, u); gap > 100*time.Millisecond {
		t.Errorf("full at 50 fps: frames %v apart", gap)
	}

	// The gateway goes away: camsim reconnects and keeps its settings.
	u.c.Close(websocket.StatusGoingAway, "gateway restarting")
	u2 := g.accept(t)
	hello = u2.text(t, "hello")
	if hello["framesize"] != "SVGA" {
		t.Errorf("hello after reconnect: framesize %v, want SVGA", hello["framesize"])
	}
	if _, w, h := u2.frame(t); w != 800 || h != 600 {
		t.Errorf("after reconnect frames are %dx%d", w, h)
	}
}

// fence sends a control command and reads up to its ack.
func fence(t *testing.T, u *uplink, id int) {
	t.Helper()
	u.send(t, fmt.Sprintf(`{"type":"control","id":%d,"led":0}`, id))
	if ack := u.text(t, "ack"); ack["id"] != float64(id) {
		t.Fatalf("ack %v, want id %d", ack, id)
	}
}

// frameGap returns the median time between the next frames as they arrive
// (decoding them here would slow the test's clock, not camsim). The median
// ignores a frame that was already on its way.
func frameGap(t *testing.T, u *uplink) time.Duration {
	t.Helper()
	next := func() time.Time {
		for {
			if m := u.read(t); m.typ == websocket.MessageBinary {
				return time.Now()
			}
		}
	}
	prev := next()
	gaps := make([]time.Duration, 5)
	for i := range gaps {
		now := next()
		gaps[i], prev = now.Sub(prev), now
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

func TestCamsimManyCameras(t *testing.T) {
	g := newGateway(t)
	startCamsim(t, noEnv, "--gateway", g.url(), "--id", "load", "--cameras", "3", "--token", "t",
		"--fps", "10", "--framesize", "QVGA", "--origin", "")
	seen := map[string]bool{}
	for range 3 {
		u := g.accept(t)
		if u.header.Get("Origin") != "" {
			t.Errorf("Origin %q with --origin \"\"", u.header.Get("Origin"))
		}
		hello := u.text(t, "hello")
		if hello["framesize"] != "QVGA" {
			t.Errorf("hello framesize %v", hello["framesize"])
		}
		if _, w, h := u.frame(t); w != 320 || h != 240 {
			t.Errorf("%s: frame %dx%d", u.camera, w, h)
		}
		seen[u.camera] = true
	}
	for _, id := range []string{"load-1", "load-2", "load-3"} {
		if !seen[id] {
			t.Errorf("no uplink for %s (saw %v)", id, seen)
		}
	}
}

func TestCamsimRefusedToken(t *testing.T) {
	g := newGateway(t)
	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := run(ctx, []string{"camsim", "--gateway", g.url(), "--token", "wrong"}, noEnv, io.Discard, &out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if n := strings.Count(out.String(), "refused the token"); n != 1 {
		t.Errorf("the refusal is logged %d times, want once:\n%s", n, out.String())
	}
	if strings.Contains(out.String(), "wrong") {
		t.Errorf("the token is in the log:\n%s", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad id", []string{"--id", "Front Door"}, "--id"},
		{"fps 0", []string{"--fps", "0"}, "--fps 0"},
		{"unknown frame size", []string{"--framesize", "4K"}, "use one of"},
		{"over the maximum", []string{"--framesize", "UXGA", "--max-framesize", "SVGA"}, "larger than --max-framesize"},
		{"bad gateway", []string{"--gateway", "tcp://x"}, "--gateway"},
		{"too many cameras", []string{"--cameras", "100000"}, "--cameras"},
		{"stray argument", []string{"extra"}, "flags only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), append([]string{"camsim"}, tc.args...), noEnv, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%v) = %v, want an error with %q", tc.args, err, tc.want)
			}
		})
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"camsim", "--version"}, noEnv, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "camsim-") {
		t.Errorf("--version: %q, %v", out.String(), err)
	}
}

// TestEveryFrameSize renders every frame size up to UXGA and checks the
// JPEG decodes at exactly that size, including those (QQVGA, CIF, SVGA) that
// are not multiples of 16.
func TestEveryFrameSize(t *testing.T) {
	c, err := newCamera(cameraOptions{ID: "t", FW: "camsim-test", FPS: 1, FrameSize: "VGA", MaxFrameSize: "UXGA",
		StatusEvery: time.Second, Log: slog.New(slog.DiscardHandler), InitialQuality: 12})
	if err != nil {
		t.Fatal(err)
	}
	for i := range control.FrameSizeIndex("UXGA") + 1 {
		fs := control.FrameSizes[i]
		ack := c.handle([]byte(`{"type":"control","id":1,"framesize":"` + fs.Name + `","led":1}`))
		if !strings.Contains(string(ack), `"ok":true`) {
			t.Fatalf("%s: %s", fs.Name, ack)
		}
		b := c.render(time.Now())
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", fs.Name, err)
		}
		if r := img.Bounds(); r.Dx() != fs.Width || r.Dy() != fs.Height {
			t.Errorf("%s: %v, want %dx%d", fs.Name, r, fs.Width, fs.Height)
		}
	}
}
