package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/frame"
)

// This file holds the helpers that the pull sources' tests share: a sink
// that records, a raw TCP server for cameras that write HTTP by hand, and
// test JPEGs.

// linkSink records what a source hands over. Like the hub, a published
// frame puts the camera online. Safe for concurrent use.
type linkSink struct {
	mu       sync.Mutex
	frames   []*frame.Frame
	online   bool
	connects int
	drops    map[string]int
	messages []string          // types
	raw      []json.RawMessage // the messages themselves
	changed  chan struct{}
}

var _ Sink = (*linkSink)(nil)

func newLinkSink() *linkSink {
	return &linkSink{drops: map[string]int{}, changed: make(chan struct{})}
}

// update runs f under the lock and wakes waiters.
func (s *linkSink) update(f func()) {
	s.mu.Lock()
	f()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
}

func (s *linkSink) Publish(f *frame.Frame) uint64 {
	var n uint64
	s.update(func() {
		s.frames = append(s.frames, f)
		s.online = true
		n = uint64(len(s.frames))
	})
	return n
}
func (s *linkSink) SetOnline(online bool) { s.update(func() { s.online = online }) }
func (s *linkSink) Message(typ string, msg json.RawMessage) {
	s.update(func() { s.messages = append(s.messages, typ); s.raw = append(s.raw, msg) })
}
func (s *linkSink) Dropped(reason string) { s.update(func() { s.drops[reason]++ }) }
func (s *linkSink) Connected()            { s.update(func() { s.connects++ }) }

// snapshot returns a copy of the recorded frames and state.
func (s *linkSink) snapshot() (frames []*frame.Frame, online bool, connects int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*frame.Frame(nil), s.frames...), s.online, s.connects
}

func (s *linkSink) dropped(reason string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.drops[reason]
}

// waitFor polls cond on every change of the sink until it holds or d
// passes.
func (s *linkSink) waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			frames, online, connects := s.snapshot()
			t.Fatalf("timed out after %v waiting for %s (frames %d, online %v, connects %d)", d, what, len(frames), online, connects)
		}
	}
}

// waitFrames waits until the sink holds at least n frames.
func (s *linkSink) waitFrames(t *testing.T, n int) []*frame.Frame {
	t.Helper()
	s.waitFor(t, 10*time.Second, fmt.Sprintf("%d frames", n), func() bool {
		f, _, _ := s.snapshot()
		return len(f) >= n
	})
	f, _, _ := s.snapshot()
	return f
}

// quiet is a logger for tests.
var quiet = slog.New(slog.DiscardHandler)

// testFrames returns n distinct small JPEGs; every third carries an EXIF
// thumbnail, whose own FFD9 a careless reader takes for the frame's end.
func testFrames(t testing.TB, n int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		img := image.NewRGBA(image.Rect(0, 0, 64, 48))
		for y := range 48 {
			for x := range 64 {
				img.Set(x, y, color.RGBA{uint8(x*4 + i*50), uint8(y * 5), uint8(i * 30), 255})
			}
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 70}); err != nil {
			t.Fatal(err)
		}
		out[i] = b.Bytes()
		if i%3 == 2 {
			out[i] = withEXIFThumbnail(out[i], out[0])
		}
	}
	return out
}

// withEXIFThumbnail puts thumb inside an APP1 EXIF segment of j.
func withEXIFThumbnail(j, thumb []byte) []byte {
	payload := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"), thumb...)
	n := len(payload) + 2
	out := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, byte(n >> 8), byte(n)}, payload...)
	return append(out, j[2:]...)
}

// checkFrames fails unless got holds exactly want's bytes, in order.
func checkFrames(t *testing.T, got []*frame.Frame, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].Data, want[i]) {
			t.Fatalf("frame %d: %d bytes differ from the %d sent", i, len(got[i].Data), len(want[i]))
		}
		if got[i].Width != 64 || got[i].Height != 48 {
			t.Errorf("frame %d: size %dx%d, want 64x48", i, got[i].Width, got[i].Height)
		}
	}
}

// rawServer is a TCP server on 127.0.0.1 for cameras that write their
// HTTP by hand (ESPHome, µStreamer) or that need to misbehave at the byte
// level. Close stops it, closes every connection and waits for every
// handler.
type rawServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func newRawServer(t *testing.T, serve func(c net.Conn)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() {
					s.mu.Lock()
					delete(s.conns, c)
					s.mu.Unlock()
					c.Close()
				}()
				serve(c)
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

func (s *rawServer) Addr() string { return s.ln.Addr().String() }

func (s *rawServer) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// readRequest reads an HTTP request head from c.
func readRequest(c net.Conn) (*http.Request, *bufio.Reader, error) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	return req, br, err
}

// running is a source's Run in the background.
type running struct {
	done chan struct{}
	err  error // Run's result, once done is closed
}

// runSource runs src.Run in the background until the test ends.
func runSource(t *testing.T, src Runner, sink Sink) (cancel context.CancelFunc, r *running) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r = &running{done: make(chan struct{})}
	go func() {
		r.err = src.Run(ctx, sink)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return 10 s after its context ended")
		}
	})
	return cancel, r
}

// result waits for Run's result.
func (r *running) result(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(within):
		t.Fatalf("Run did not return within %v", within)
		return nil
	}
}

// returned reports whether Run has returned.
func (r *running) returned() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

const cwsBoundary = "123456789000000000000987654321"

// cameraWebServer serves frames exactly as arduino-esp32's CameraWebServer
// does on :81/stream (app_httpd.cpp stream_handler): the multipart
// Content-Type with no space, X-Framerate, chunked encoding (the httpd
// sends chunks; net/http does the same for a body without length), and per
// frame three chunks: CRLF "--boundary" CRLF, the part header with
// X-Timestamp since boot, the JPEG. No closing boundary. After the frames
// it holds the stream open until the client leaves.
func cameraWebServer(frames [][]byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace;boundary="+cwsBoundary)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("X-Framerate", "60")
		f := w.(http.Flusher)
		boot := 12 * time.Second // the board booted 12 s ago
		for i, j := range frames {
			io.WriteString(w, "\r\n--"+cwsBoundary+"\r\n")
			f.Flush()
			ts := boot + time.Duration(i)*50*time.Millisecond
			fmt.Fprintf(w, "Content-Type: image/jpeg\r\nContent-Length: %d\r\nX-Timestamp: %d.%06d\r\n\r\n",
				len(j), ts/time.Second, (ts%time.Second)/time.Microsecond)
			f.Flush()
			w.Write(j)
			f.Flush()
		}
		<-r.Context().Done()
	}
}

func TestMJPEGCameraWebServer(t *testing.T) {
	frames := testFrames(t, 6)
	srv := httptest.NewServer(cameraWebServer(frames))
	t.Cleanup(srv.Close) // after Run has returned: the handler waits for it
	// The body is chunked on the wire, as the camera's httpd sends it.
	probe, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	probe.Body.Close()
	if te := probe.TransferEncoding; len(te) != 1 || te[0] != "chunked" {
		t.Fatalf("test server is not chunked: %v", te)
	}

	sink := newLinkSink()
	_, run := runSource(t, &MJPEG{URL: srv.URL + "/stream", Log: quiet}, sink)
	got := sink.waitFrames(t, len(frames))
	checkFrames(t, got, frames)
	for i, f := range got {
		// X-Timestamp is time since boot: not a capture time.
		if !f.Captured.IsZero() {
			t.Errorf("frame %d: Captured %v from a since-boot X-Timestamp", i, f.Captured)
		}
	}
	if _, _, c := sink.snapshot(); c != 1 {
		t.Errorf("Connected %d times, want 1", c)
	}
	if run.returned() {
		t.Fatalf("Run returned while the stream was open: %v", run.err)
	}
}

// esphomeHeader is ESPHome's hand-written response head (camera_web_server.cpp
// STREAM_HEADER), which ends with the first boundary line.
const esphomeHeader = "HTTP/1.0 200 OK\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n" +
	"Content-Type: multipart/x-mixed-replace;boundary=" + cwsBoundary + "\r\n\r\n--" + cwsBoundary + "\r\n"

func TestMJPEGESPHome(t *testing.T) {
	frames := testFrames(t, 5)
	for _, tc := range []struct {
		name   string
		frames [][]byte
	}{
		{"frames", frames},
		{"no frames", nil}, // "No frames send." as text/plain, then close
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t, func(c net.Conn) {
				if _, _, err := readRequest(c); err != nil {
					return
				}
				io.WriteString(c, esphomeHeader)
				for _, j := range tc.frames {
					fmt.Fprintf(c, "Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(j))
					c.Write(j)
					io.WriteString(c, "\r\n--"+cwsBoundary+"\r\n")
				}
				if len(tc.frames) == 0 {
					io.WriteString(c, "Content-Type: text/plain\r\n\r\nNo frames send.\r\n--"+cwsBoundary+"\r\n")
				}
			})
			sink := newLinkSink()
			_, run := runSource(t, &MJPEG{URL: "http://" + srv.Addr() + "/", Log: quiet}, sink)
			err := run.result(t, 10*time.Second)
			if err == nil || !strings.Contains(err.Error(), "ended") {
				t.Errorf("Run = %v, want the stream ended", err)
			}
			got, _, _ := sink.snapshot()
			checkFrames(t, got, tc.frames)
			if n := sink.dropped("not_jpeg"); n != 0 {
				t.Errorf("%d parts dropped as not_jpeg: the text part must be skipped", n)
			}
		})
	}
}

func TestMJPEGUStreamerTimestamps(t *testing.T) {
	frames := testFrames(t, 3)
	stamps := make(chan time.Time, len(frames))
	srv := newRawServer(t, func(c net.Conn) {
		if _, _, err := readRequest(c); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.0 200 OK\r\nCache-Control: no-store\r\nSet-Cookie: stream_client=0/1; path=/; max-age=30\r\n"+
			"Content-Type: multipart/x-mixed-replace;boundary=boundarydonotcross\r\n\r\n--boundarydonotcross\r\n")
		for _, j := range frames {
			now := time.Now().Add(-20 * time.Millisecond).Truncate(time.Microsecond)
			stamps <- now
			fmt.Fprintf(c, "Content-Type: image/jpeg\r\nContent-Length: %d\r\nX-Timestamp: %d.%06d\r\n\r\n",
				len(j), now.Unix(), now.Nanosecond()/1000)
			c.Write(j)
			io.WriteString(c, "\r\n--boundarydonotcross\r\n")
		}
	})
	sink := newLinkSink()
	_, run := runSource(t, &MJPEG{URL: "http://" + srv.Addr() + "/stream", Log: quiet}, sink)
	run.result(t, 10*time.Second)
	got, _, _ := sink.snapshot()
	checkFrames(t, got, frames)
	for i, f := range got {
		if want := <-stamps; !f.Captured.Equal(want) {
			t.Errorf("frame %d: Captured %v, want the wall-clock X-Timestamp %v", i, f.Captured, want)
		}
	}
}

func TestMJPEGFFmpeg(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		if _, err := os.Stat("/usr/bin/ffmpeg"); err != nil {
			t.Fatal("ffmpeg not found: run make test, which installs ffmpeg")
		}
		ffmpeg = "/usr/bin/ffmpeg"
	}
	// A free port for ffmpeg's one-shot HTTP server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
		"-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10",
		"-f", "mpjpeg", "-listen", "1", "http://"+addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
		if stderr.Len() > 0 {
			t.Logf("ffmpeg: %s", stderr.String())
		}
	}()

	// ffmpeg takes a moment to listen: the Supervisor retries as it
	// would for a camera that is still booting.
	sink := newLinkSink()
	sup := NewSupervisor(&MJPEG{URL: "http://" + addr, Log: quiet}, sink, time.Second, quiet)
	sctx, stop := context.WithCancel(ctx)
	supDone := make(chan struct{})
	go func() { sup.Run(sctx); close(supDone) }()
	defer func() { stop(); <-supDone }()

	got := sink.waitFrames(t, 5)
	for i, f := range got[:5] {
		img, err := jpeg.Decode(bytes.NewReader(f.Data))
		if err != nil {
			t.Fatalf("frame %d (%d bytes) does not decode: %v", i, len(f.Data), err)
		}
		if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 240 || f.Width != 320 || f.Height != 240 {
			t.Errorf("frame %d: %v, header %dx%d; want 320x240", i, b, f.Width, f.Height)
		}
	}
}

// cutStream writes a CameraWebServer-format stream over HTTP/1.0 with
// whole frames, then only half of one more, and closes.
func cutStream(frames [][]byte, last []byte) func(net.Conn) {
	return func(c net.Conn) {
		if _, _, err := readRequest(c); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary="+cwsBoundary+"\r\n\r\n")
		for _, j := range frames {
			fmt.Fprintf(c, "\r\n--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", cwsBoundary, len(j))
			c.Write(j)
		}
		fmt.Fprintf(c, "\r\n--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", cwsBoundary, len(last))
		c.Write(last[:len(last)/2])
	}
}

func TestMJPEGUpstreamDiesMidFrame(t *testing.T) {
	frames := testFrames(t, 3)
	srv := newRawServer(t, cutStream(frames[:2], frames[2]))
	sink := newLinkSink()
	_, run := runSource(t, &MJPEG{URL: "http://" + srv.Addr() + "/stream", Log: quiet}, sink)
	err := run.result(t, 10*time.Second)
	if err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want an error", err)
	}
	got, _, _ := sink.snapshot()
	checkFrames(t, got, frames[:2])
	if n := sink.dropped("truncated"); n != 0 {
		t.Errorf("the partial frame reached Deliver (%d truncated)", n)
	}
}

func TestMJPEGStalled(t *testing.T) {
	frames := testFrames(t, 1)
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name  string
		write string
	}{
		{"no response", ""},
		{"headers then nothing", "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=b\r\n\r\n"},
		{"half a frame then nothing", fmt.Sprintf("HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=b\r\n\r\n"+
			"--b\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s", len(frames[0]), frames[0][:len(frames[0])/2])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := newRawServer(t, func(c net.Conn) {
				if _, _, err := readRequest(c); err != nil {
					return
				}
				io.WriteString(c, tc.write)
				<-release // a camera that hangs, with the socket open
			})
			defer close(release)
			sink := newLinkSink()
			start := time.Now()
			_, run := runSource(t, &MJPEG{URL: "http://" + srv.Addr() + "/stream", ReadTimeout: timeout, Log: quiet}, sink)
			err := run.result(t, timeout+5*time.Second)
			if err == nil || !strings.Contains(err.Error(), "nothing received for") {
				t.Errorf("Run = %v, want a stall", err)
			}
			if d := time.Since(start); d < timeout {
				t.Errorf("Run returned after %v, before the read timeout %v", d, timeout)
			}
			if got, _, _ := sink.snapshot(); len(got) != 0 {
				t.Errorf("%d frames delivered", len(got))
			}
		})
	}
}

func TestMJPEGSupervisorOfflineOnline(t *testing.T) {
	frames := testFrames(t, 2)
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "camera rebooting", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "multipart/x-mixed-replace;boundary="+cwsBoundary)
		for i := 0; !down.Load(); i++ {
			j := frames[i%2]
			fmt.Fprintf(w, "\r\n--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", cwsBoundary, len(j))
			w.Write(j)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}))
	defer srv.Close()
	testSupervised(t, &MJPEG{URL: srv.URL + "/stream", Log: quiet}, &down)
}

// testSupervised runs src under a Supervisor and checks the camera goes
// online, offline when down is set, and online again when it is cleared.
func testSupervised(t *testing.T, src Runner, down *atomic.Bool) {
	t.Helper()
	sink := newLinkSink()
	sup := NewSupervisor(src, sink, 300*time.Millisecond, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	supDone := make(chan struct{})
	go func() { sup.Run(ctx); close(supDone) }()
	defer func() { cancel(); <-supDone }()

	isOnline := func() bool { _, on, _ := sink.snapshot(); return on }
	sink.waitFor(t, 10*time.Second, "online", isOnline)
	down.Store(true)
	sink.waitFor(t, 10*time.Second, "offline", func() bool { return !isOnline() })
	before, _, _ := sink.snapshot()
	down.Store(false)
	sink.waitFor(t, 15*time.Second, "online again with new frames", func() bool {
		f, on, _ := sink.snapshot()
		return on && len(f) > len(before)
	})
	if _, _, c := sink.snapshot(); c < 2 {
		t.Errorf("Connected %d times, want at least 2", c)
	}
}

func TestMJPEGSnapshotURL(t *testing.T) {
	j := testFrames(t, 1)[0]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Disposition", "inline; filename=capture.jpg")
		w.Write(j)
	}))
	defer srv.Close()
	err := (&MJPEG{URL: srv.URL + "/capture", Log: quiet}).Run(context.Background(), newLinkSink())
	if err == nil || !strings.Contains(err.Error(), "source: jpeg") {
		t.Fatalf("Run = %v, want advice to use source: jpeg", err)
	}
}

func TestMJPEGBasicAuth(t *testing.T) {
	frames := testFrames(t, 2)
	stream := cameraWebServer(frames)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "admin" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="cam"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		stream(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")

	sink := newLinkSink()
	runSource(t, &MJPEG{URL: "http://admin:s3cret@" + host + "/stream", Log: quiet}, sink)
	checkFrames(t, sink.waitFrames(t, 2), frames)

	err := (&MJPEG{URL: "http://admin:wrong@" + host + "/stream", Log: quiet}).Run(context.Background(), newLinkSink())
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Run with a wrong password = %v, want 401", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the password: %v", err)
	}
}

func TestMJPEGTooLarge(t *testing.T) {
	frames := testFrames(t, 1)
	srv := httptest.NewServer(cameraWebServer(frames))
	t.Cleanup(srv.Close)
	sink := newLinkSink()
	err := (&MJPEG{URL: srv.URL, MaxFrame: int64(len(frames[0]) - 1), Log: quiet}).Run(context.Background(), sink)
	if err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Fatalf("Run = %v, want a too-large error", err)
	}
	if n := sink.dropped("too_large"); n != 1 {
		t.Errorf("too_large counted %d times, want 1", n)
	}
}

func TestCaptureTime(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		ts   time.Time
		want time.Time
	}{
		{"none", time.Time{}, time.Time{}},
		{"since boot (CameraWebServer)", time.Unix(12, 34567000), time.Time{}},
		{"monotonic (mjpg-streamer)", time.Unix(2122192, 753042000), time.Time{}},
		{"wall clock (µStreamer)", now.Add(-30 * time.Millisecond), now.Add(-30 * time.Millisecond)},
		{"slightly ahead", now.Add(200 * time.Millisecond), now},
		{"far behind", now.Add(-time.Minute), time.Time{}},
		{"far ahead", now.Add(time.Minute), time.Time{}},
	} {
		if got := captureTime(tc.ts, now); !got.Equal(tc.want) {
			t.Errorf("%s: captureTime = %v, want %v", tc.name, got, tc.want)
		}
	}
}
