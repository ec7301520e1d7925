package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const pushConfig = `
limits:
  offline_after: 1s
cameras:
  - id: front
    name: Front door
    source: push
    token: s3cret
  - id: other
    source: push
    token: other-token
`

// TestPushFramesReachEveryViewerInOrder is the relay's core promise: one
// uplink, 100 WebSocket and 20 MJPEG viewers, every frame intact and in
// order.
func TestPushFramesReachEveryViewerInOrder(t *testing.T) {
	g := startGateway(t, pushConfig)
	up := uplink(t, g, "front", "s3cret")
	frames := testFrames(t, 60)

	const wsViewers, mjpegViewers = 100, 20
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	results := make(chan error, wsViewers+mjpegViewers)
	// check follows one viewer: frames must be exact copies, in strictly
	// increasing order, ending with the last one; at this gentle pace at
	// most a few may be skipped (newest wins when a viewer lags, e.g. on a
	// machine busy running -race).
	check := func(name string, next func() ([]byte, error)) {
		last, got := -1, 0
		for last < len(frames)-1 {
			b, err := next()
			if err != nil {
				results <- fmt.Errorf("%s after frame %d: %w", name, last, err)
				return
			}
			i := indexOf(b)
			switch {
			case i < 0 || !bytes.Equal(b, frames[i]):
				results <- fmt.Errorf("%s: frame after %d is corrupted (%d bytes)", name, last, len(b))
				return
			case i <= last:
				results <- fmt.Errorf("%s: frame %d after %d", name, i, last)
				return
			}
			last = i
			got++
		}
		if got < len(frames)*9/10 {
			results <- fmt.Errorf("%s got %d of %d frames", name, got, len(frames))
			return
		}
		results <- nil
	}
	for i := range wsViewers {
		c := viewerWS(t, g, "front")
		wg.Go(func() { check(fmt.Sprintf("ws viewer %d", i), func() ([]byte, error) { return nextJPEG(ctx, c) }) })
	}
	for i := range mjpegViewers {
		m := openMJPEG(t, g.url("/cam/front/stream.mjpeg"))
		wg.Go(func() { check(fmt.Sprintf("mjpeg viewer %d", i), m.next) })
	}
	waitFor(t, 5*time.Second, "all viewers counted", func() bool {
		return g.metric(t, `camrelay_viewers{camera="front",transport="ws"}`) == wsViewers &&
			g.metric(t, `camrelay_viewers{camera="front",transport="mjpeg"}`) == mjpegViewers
	})
	for _, f := range frames {
		send(t, up, websocket.MessageBinary, f)
		time.Sleep(40 * time.Millisecond) // 25 fps: a camera's pace, not a flood
	}
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Error(err)
		}
	}
	if got := g.metric(t, `camrelay_frames_received_total{camera="front"}`); got != float64(len(frames)) {
		t.Errorf("frames received = %v, want %d", got, len(frames))
	}
}

// TestFFmpegDecodesTheMJPEGStream: a real MJPEG client reads our stream.
func TestFFmpegDecodesTheMJPEGStream(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg is not installed: run `make test`, which installs it")
	}
	g := startArgs(t, "camrelay", "--demo", "--listen", "127.0.0.1:0")
	out := filepath.Join(t.TempDir(), "frame%02d.png")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-v", "error", "-f", "mpjpeg",
		"-i", g.url("/cam/demo/stream.mjpeg"), "-frames:v", "10", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	pngs, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*.png"))
	if len(pngs) != 10 {
		t.Fatalf("ffmpeg wrote %d frames, want 10", len(pngs))
	}
	// The same stream read without naming the format: ffmpeg must detect it
	// from our headers, as VLC and Home Assistant do.
	cmd = exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-v", "error",
		"-i", g.url("/cam/demo/stream.mjpeg"), "-frames:v", "5", "-f", "null", "-")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg (format detected): %v\n%s", err, b)
	}
}

// TestAViewerThatReadsNothingDoesNotSlowTheOthers: newest-wins fan-out.
func TestAViewerThatReadsNothingDoesNotSlowTheOthers(t *testing.T) {
	g := startGateway(t, pushConfig)
	up := uplink(t, g, "front", "s3cret")
	// Big frames fill the stuck viewer's socket buffers quickly.
	big := testFrames(t, 1)[0]
	pad := bytes.Repeat([]byte{0}, 100<<10)
	frame := append(append(append([]byte{}, big[:len(big)-2]...), pad...), 0xFF, 0xD9)

	// Stuck viewers: connected, never read.
	for range 3 {
		viewerWS(t, g, "front")
		resp, err := http.Get(g.url("/cam/front/stream.mjpeg"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n = 100
	counts := make([]int, 4)
	var wg sync.WaitGroup
	for i := range 4 {
		c := viewerWS(t, g, "front")
		wg.Go(func() {
			for {
				if _, err := nextJPEG(ctx, c); err != nil {
					return
				}
				counts[i]++
				if counts[i] == n {
					return
				}
			}
		})
	}
	for range n {
		send(t, up, websocket.MessageBinary, frame)
		time.Sleep(50 * time.Millisecond)
	}
	// Give the last frames a moment to arrive, then stop the readers.
	ctxWait, cancelWait := context.WithTimeout(ctx, 2*time.Second)
	defer cancelWait()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctxWait.Done():
		cancel()
		<-done
	}
	for i, c := range counts {
		if c < n*95/100 {
			t.Errorf("fast viewer %d got %d of %d frames while stuck viewers held on", i, c, n)
		}
	}
}

// TestNewUplinkReplacesTheOld: a rebooted board must not be locked out by
// its own half-open connection.
func TestNewUplinkReplacesTheOld(t *testing.T) {
	g := startGateway(t, pushConfig)
	frames := testFrames(t, 2)
	old := uplink(t, g, "front", "s3cret")
	send(t, old, websocket.MessageBinary, frames[0])
	viewer := viewerWS(t, g, "front")
	fresh := uplink(t, g, "front", "s3cret")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := old.Read(ctx)
	if s := websocket.CloseStatus(err); s != 4001 {
		t.Fatalf("old uplink closed with %v (%v), want 4001 replaced", s, err)
	}
	send(t, fresh, websocket.MessageBinary, frames[1])
	for {
		b, err := nextJPEG(ctx, viewer)
		if err != nil {
			t.Fatal(err)
		}
		if indexOf(b) == 1 {
			break
		}
	}
	if got := g.metric(t, `camrelay_uplink_connects_total{camera="front"}`); got != 2 {
		t.Errorf("uplink connects = %v, want 2", got)
	}
}

// TestUplinkNeedsItsToken: no token, a wrong one, another camera's.
func TestUplinkNeedsItsToken(t *testing.T) {
	g := startGateway(t, pushConfig)
	cases := []struct{ name, header, query string }{
		{"no token", "", ""},
		{"wrong bearer", "Bearer nope", ""},
		{"another camera's token", "Bearer other-token", ""},
		{"wrong query token", "", "?token=nope"},
		{"basic instead of bearer", "Basic czNjcmV0", ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			h := http.Header{}
			if tc.header != "" {
				h.Set("Authorization", tc.header)
			}
			_, resp, err := websocket.Dial(ctx, g.ws("/cam/front/ingest"+tc.query), &websocket.DialOptions{HTTPHeader: h})
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("dial = %v, %v; want 401", resp, err)
			}
			if got := g.metric(t, `camrelay_auth_failures_total{endpoint="ingest"}`); got != float64(i+1) {
				t.Errorf("auth failures = %v, want %d", got, i+1)
			}
		})
	}
	// The query form works for clients that cannot set headers.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, g.ws("/cam/front/ingest?token=s3cret"), nil)
	if err != nil {
		t.Fatalf("?token= uplink: %v", err)
	}
	c.CloseNow()
	if strings.Contains(g.logs.String(), "s3cret") {
		t.Error("a token reached the log")
	}
}

// TestBadFramesAreDroppedAndCountedWhileTheUplinkStays.
func TestBadFramesAreDroppedAndCountedWhileTheUplinkStays(t *testing.T) {
	g := startGateway(t, pushConfig)
	up := uplink(t, g, "front", "s3cret")
	viewer := viewerWS(t, g, "front")
	good := testFrames(t, 2)
	send(t, up, websocket.MessageBinary, []byte("this is not a jpeg"))
	send(t, up, websocket.MessageBinary, good[0][:len(good[0])/2])
	send(t, up, websocket.MessageText, []byte("not json"))
	send(t, up, websocket.MessageText, []byte(`{"type":"status","rssi":-61,"heap":81234}`))
	send(t, up, websocket.MessageBinary, good[1])

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := nextJPEG(ctx, viewer)
	if err != nil || indexOf(b) != 1 {
		t.Fatalf("viewer got frame %d, %v; want the good frame 1", indexOf(b), err)
	}
	for reason, want := range map[string]float64{"not_jpeg": 1, "truncated": 1, "bad_message": 1} {
		if got := g.metric(t, `camrelay_frames_dropped_total{camera="front",reason="`+reason+`"}`); got != want {
			t.Errorf("dropped %s = %v, want %v", reason, got, want)
		}
	}
	resp, err := http.Get(g.url("/api/cameras"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(body, []byte(`"rssi": -61`)) {
		t.Errorf("camera status not in /api/cameras:\n%s", body)
	}
}

// TestOversizeFrameClosesTheUplinkWith1009 and the board reconnects at once.
func TestOversizeFrameClosesTheUplinkWith1009(t *testing.T) {
	g := startGateway(t, pushConfig+"    max_frame_bytes: 65536\n")
	up := uplink(t, g, "other", "other-token")
	big := make([]byte, 65537)
	big[0], big[1] = 0xFF, 0xD8
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = up.Write(ctx, websocket.MessageBinary, big)
	_, _, err := up.Read(ctx)
	if s := websocket.CloseStatus(err); s != websocket.StatusMessageTooBig {
		t.Fatalf("uplink closed with %v (%v), want 1009", s, err)
	}
	waitFor(t, 2*time.Second, "too_large counted", func() bool {
		return g.metric(t, `camrelay_frames_dropped_total{camera="other",reason="too_large"}`) == 1
	})
	again := uplink(t, g, "other", "other-token")
	send(t, again, websocket.MessageBinary, testFrames(t, 1)[0])
	waitFor(t, 2*time.Second, "the reconnected uplink's frame", func() bool {
		return g.metric(t, `camrelay_frames_received_total{camera="other"}`) == 1
	})
}

// TestCameraGoesOfflineAfterSilenceAndViewersAreTold.
func TestCameraGoesOfflineAfterSilenceAndViewersAreTold(t *testing.T) {
	g := startGateway(t, pushConfig)
	up := uplink(t, g, "front", "s3cret")
	viewer := viewerWS(t, g, "front")
	send(t, up, websocket.MessageBinary, testFrames(t, 1)[0])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var states []string
	start := time.Now()
	for len(states) < 2 {
		typ, msg, err := viewer.Read(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", states, err)
		}
		if typ == websocket.MessageText && bytes.Contains(msg, []byte(`"type":"status"`)) {
			states = append(states, string(msg))
		}
	}
	if !strings.Contains(states[0], `"online":true`) || !strings.Contains(states[1], `"online":false`) {
		t.Fatalf("status messages %v, want online then offline", states)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("offline shown after %v, want within offline_after (1s) + 1s", d)
	}
	if got := g.metric(t, `camrelay_camera_up{camera="front"}`); got != 0 {
		t.Errorf("camera_up = %v while silent", got)
	}
	// The snapshot still serves the last frame.
	resp, err := http.Get(g.url("/cam/front/snapshot.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("snapshot while offline: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestGracefulShutdownWithViewersAttached: 1001 to WebSocket viewers, a
// closing boundary to MJPEG viewers, the uplink told too, exit within 5 s.
func TestGracefulShutdownWithViewersAttached(t *testing.T) {
	g := startGateway(t, pushConfig)
	up := uplink(t, g, "front", "s3cret")
	send(t, up, websocket.MessageBinary, testFrames(t, 1)[0])
	viewer := viewerWS(t, g, "front")
	m := openMJPEG(t, g.url("/cam/front/stream.mjpeg"))
	if _, err := m.next(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	g.stop(t)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, err = nextJPEG(ctx, viewer)
	}
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("viewer socket ended with %v, want 1001 going away", err)
	}
	if _, _, err := up.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("uplink ended with %v, want 1001 going away", err)
	}
	for {
		_, err := m.next()
		if errors.Is(err, errEndOfStream) {
			break
		}
		if err != nil {
			t.Fatalf("MJPEG stream ended with %v, want its closing boundary", err)
		}
	}
}

// TestEndpointsAnswerClearly: unknown cameras, no frame yet, go2rtc aliases.
func TestEndpointsAnswerClearly(t *testing.T) {
	g := startGateway(t, pushConfig)
	get := func(path string) (int, string, http.Header) {
		resp, err := http.Get(g.url(path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	cases := []struct {
		path     string
		status   int
		contains string
	}{
		{"/cam/nope/snapshot.jpg", 404, `no camera "nope"`},
		{"/cam/nope/ws", 404, `cameras: front, other`},
		{"/api/frame.jpeg?src=nope", 404, `no camera "nope"`},
		{"/api/frame.jpeg", 400, "missing ?src="},
		{"/cam/front/snapshot.jpg", 503, "has not sent a frame yet"},
		{"/healthz", 200, "ok"},
		{"/readyz", 200, "ready"},
		{"/api/cameras", 200, `"id": "front"`},
		{"/metrics", 200, "camrelay_build_info"},
		{"/", 200, "<html"},
		{"/cam/front", 200, "<html"},
	}
	for _, tc := range cases {
		status, body, _ := get(tc.path)
		if status != tc.status || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s = %d %q, want %d containing %q", tc.path, status, trim(body), tc.status, tc.contains)
		}
	}

	up := uplink(t, g, "front", "s3cret")
	f := testFrames(t, 1)[0]
	send(t, up, websocket.MessageBinary, f)
	waitFor(t, 2*time.Second, "a frame", func() bool { s, _, _ := get("/cam/front/snapshot.jpg"); return s == 200 })
	for _, path := range []string{"/cam/front/snapshot.jpg", "/api/frame.jpeg?src=front"} {
		status, body, h := get(path)
		if status != 200 || body != string(f) || h.Get("Content-Type") != "image/jpeg" {
			t.Errorf("GET %s = %d, %d bytes, %s", path, status, len(body), h.Get("Content-Type"))
		}
	}
	m := openMJPEG(t, g.url("/api/stream.mjpeg?src=front"))
	if b, err := m.next(); err != nil || !bytes.Equal(b, f) {
		t.Errorf("go2rtc MJPEG alias: %v", err)
	}

	// go2rtc's WebSocket API: frames only after {"type":"mjpeg"}.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, g.ws("/api/ws?src=front"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	send(t, c, websocket.MessageText, []byte(`{"type":"mjpeg"}`))
	typ, msg, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageText || string(msg) != `{"type":"mjpeg"}` {
		t.Fatalf("go2rtc answer: %v %q %v", typ, msg, err)
	}
	typ, msg, err = c.Read(ctx)
	if err != nil || typ != websocket.MessageBinary || !bytes.Equal(msg, f) {
		t.Fatalf("go2rtc frame: %v %d bytes %v", typ, len(msg), err)
	}
}

// TestViewerClockPingAndFrameMeta: the optional messages the page uses.
func TestViewerClockPingAndFrameMeta(t *testing.T) {
	g := startGateway(t, pushConfig)
	up := uplink(t, g, "front", "s3cret")
	viewer := viewerWS(t, g, "front")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	send(t, viewer, websocket.MessageText, []byte(`{"type":"ping","id":7,"t0":1000.5}`))
	_, msg, err := viewer.Read(ctx)
	if err != nil || !bytes.Contains(msg, []byte(`"type":"pong"`)) || !bytes.Contains(msg, []byte(`"id":7`)) || !bytes.Contains(msg, []byte(`"t0":1000.5`)) {
		t.Fatalf("pong: %q %v", msg, err)
	}
	send(t, viewer, websocket.MessageText, []byte(`{"type":"meta","on":true}`))
	time.Sleep(50 * time.Millisecond) // the switch is read by another goroutine
	send(t, up, websocket.MessageBinary, testFrames(t, 1)[0])
	for {
		typ, msg, err := viewer.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if typ == websocket.MessageText && bytes.Contains(msg, []byte(`"type":"frame"`)) {
			typ, _, err := viewer.Read(ctx)
			if err != nil || typ != websocket.MessageBinary {
				t.Fatalf("after frame meta: %v %v", typ, err)
			}
			break
		}
	}
	// Binary from a viewer closes it with 1003, and the gateway stays up
	// (garbage text is answered instead: TestViewerSendsGarbageText).
	send(t, viewer, websocket.MessageBinary, []byte(`{{{`))
	for {
		if _, _, err = viewer.Read(ctx); err != nil {
			break
		}
	}
	if s := websocket.CloseStatus(err); s != websocket.StatusUnsupportedData {
		t.Errorf("binary from a viewer: closed with %v, want 1003", s)
	}
}

// TestConfigErrorsNameFileAndLine: start-up refuses a bad file, saying
// where and what.
func TestConfigErrorsNameFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	cfg := "cameras:\n  - id: Front\n    source: push\n    tokn: x\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"camrelay", "--config", path}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("a bad config started the gateway")
	}
	for _, want := range []string{"bad.yaml:2", "bad.yaml:4", "tokn"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	err = run(context.Background(), []string{"camrelay"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--demo") {
		t.Errorf("no cameras: %v, want a hint to use --demo", err)
	}
}

func TestVersionFlag(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"camrelay", "--version"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "camrelay ") {
		t.Errorf("--version printed %q", out.String())
	}
}

func trim(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// TestAStalledViewerIsClosedAfterTheWriteTimeout: a viewer that takes
// nothing is disconnected with a clear status and counted, while a reading
// viewer carries on.
func TestAStalledViewerIsClosedAfterTheWriteTimeout(t *testing.T) {
	g := startGateway(t, `
limits:
  write_timeout: 1s
cameras:
  - {id: front, source: push, token: s3cret}
`)
	up := uplink(t, g, "front", "s3cret")
	stalled := viewerWS(t, g, "front") // never reads again
	reading := viewerWS(t, g, "front")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got atomic.Int64
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			if _, err := nextJPEG(ctx, reading); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	big := testFrames(t, 1)[0]
	frame := append(append(append([]byte{}, big[:len(big)-2]...), make([]byte, 300<<10)...), 0xFF, 0xD9)
	waitFor(t, 15*time.Second, "the stalled viewer to be dropped", func() bool {
		send(t, up, websocket.MessageBinary, frame)
		time.Sleep(20 * time.Millisecond)
		return g.metric(t, `camrelay_viewer_disconnects_total{camera="front",reason="write_timeout",transport="ws"}`) == 1
	})
	if n := g.metric(t, `camrelay_viewers{camera="front",transport="ws"}`); n != 1 {
		t.Errorf("viewers = %v after the stalled one left, want 1", n)
	}
	// The reading viewer carries on: it gets the frames that follow.
	before := got.Load()
	waitFor(t, 10*time.Second, "the reading viewer to get 10 more frames", func() bool {
		send(t, up, websocket.MessageBinary, frame)
		time.Sleep(20 * time.Millisecond)
		return got.Load() >= before+10
	})
	// The stalled client, reading at last, finds the socket closed.
	for {
		if _, err := nextJPEG(ctx, stalled); err != nil {
			break
		}
	}
	cancel()
	<-readerDone
}

// TestViewerLimitsAnswer503AndCount.
func TestViewerLimitsAnswer503AndCount(t *testing.T) {
	g := startGateway(t, `
limits:
  max_viewers_per_camera: 2
cameras:
  - {id: front, source: push, token: s3cret}
`)
	viewerWS(t, g, "front")
	openMJPEG(t, g.url("/cam/front/stream.mjpeg"))
	resp, err := http.Get(g.url("/cam/front/stream.mjpeg"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "too many viewers") {
		t.Errorf("third viewer: %d %q", resp.StatusCode, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, g.ws("/cam/front/ws"), nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("third WebSocket viewer: %v", err)
	}
	if n := g.metric(t, `camrelay_limit_hits_total{reason="viewers_per_camera"}`); n != 2 {
		t.Errorf("limit hits = %v, want 2", n)
	}
}

// TestThePageCarriesSecurityHeaders: no inline script, no sniffing, no
// referrer, no framing.
func TestThePageCarriesSecurityHeaders(t *testing.T) {
	g := startArgs(t, "camrelay", "--demo", "--listen", "127.0.0.1:0")
	for _, path := range []string{"/", "/cam/demo", "/static/style.css"} {
		resp, err := http.Get(g.url(path))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
	}
}

// TestViewersThatLeaveAreCountedOut, while the camera streams and while it
// is silent (an MJPEG client never sends anything that would tell us).
func TestViewersThatLeaveAreCountedOut(t *testing.T) {
	g := startGateway(t, pushConfig)
	up := uplink(t, g, "front", "s3cret")
	frame := testFrames(t, 1)[0]
	viewers := func() float64 {
		return g.metric(t, `camrelay_viewers{camera="front",transport="mjpeg"}`) +
			g.metric(t, `camrelay_viewers{camera="front",transport="ws"}`)
	}
	for _, streaming := range []bool{true, false} {
		var closers []func()
		for range 5 {
			resp, err := http.Get(g.url("/cam/front/stream.mjpeg"))
			if err != nil {
				t.Fatal(err)
			}
			closers = append(closers, func() { resp.Body.Close() })
			c := viewerWS(t, g, "front")
			closers = append(closers, func() { c.Close(websocket.StatusNormalClosure, "") })
		}
		waitFor(t, 5*time.Second, "10 viewers", func() bool { return viewers() == 10 })
		for _, c := range closers {
			c()
		}
		waitFor(t, 5*time.Second, fmt.Sprintf("viewers counted out (camera streaming: %v)", streaming), func() bool {
			if streaming {
				send(t, up, websocket.MessageBinary, frame)
			}
			return viewers() == 0
		})
	}
}
