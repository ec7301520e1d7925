package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// gateway is a camrelay started through run() for one test.
type gateway struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

// syncBuffer collects the gateway's log output.
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

// startGateway writes cfg to a file and runs the whole program on it,
// listening on 127.0.0.1:0. The gateway stops when the test ends.
func startGateway(t *testing.T, cfg string, extraArgs ...string) *gateway {
	t.Helper()
	path := filepath.Join(t.TempDir(), "camrelay.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"camrelay", "--config", path, "--listen", "127.0.0.1:0"}, extraArgs...)
	return startArgs(t, args...)
}

func startArgs(t *testing.T, args ...string) *gateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &gateway{cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{}}
	addrc := make(chan string, 1)
	go func() {
		g.done <- runWith(ctx, args, func(string) string { return "" }, io.Discard, g.logs,
			func(a net.Addr) { addrc <- a.String() })
	}()
	select {
	case g.addr = <-addrc:
	case err := <-g.done:
		t.Fatalf("gateway did not start: %v\n%s", err, g.logs)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not start within 10 s")
	}
	t.Cleanup(func() { g.stop(t) })
	waitFor(t, 5*time.Second, "healthz", func() bool {
		resp, err := http.Get(g.url("/healthz"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return g
}

func (g *gateway) url(path string) string { return "http://" + g.addr + path }
func (g *gateway) ws(path string) string  { return "ws://" + g.addr + path }

// stop cancels the gateway and checks that it exits cleanly within 5 s.
func (g *gateway) stop(t *testing.T) {
	t.Helper()
	if g.cancel == nil {
		return
	}
	g.cancel()
	g.cancel = nil
	select {
	case err := <-g.done:
		if err != nil {
			t.Errorf("gateway exited with %v", err)
		}
	case <-time.After(5 * time.Second):
		buf := make([]byte, 1<<20)
		t.Errorf("gateway did not exit within 5 s of being stopped\n%s\n%s", g.logs, buf[:runtime.Stack(buf, true)])
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metric returns the value of one series from /metrics, or -1 if absent.
func (g *gateway) metric(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := http.Get(g.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, series+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(line[len(series):]), 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return v
		}
	}
	return -1
}

// testFrames makes n distinct real JPEGs. Each carries its index in a COM
// segment so a receiver can tell which frame it got, and differs in content.
func testFrames(t testing.TB, n int) [][]byte {
	t.Helper()
	var base bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := range 120 {
		for x := range 160 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y * 2), uint8(x ^ y), 255})
		}
	}
	if err := jpeg.Encode(&base, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = withIndex(base.Bytes(), i)
	}
	return out
}

// withIndex inserts a COM segment holding i right after SOI.
func withIndex(jpg []byte, i int) []byte {
	payload := []byte(fmt.Sprintf("frame %08d", i))
	var b bytes.Buffer
	b.Write(jpg[:2])
	b.Write([]byte{0xFF, 0xFE})
	binary.Write(&b, binary.BigEndian, uint16(len(payload)+2))
	b.Write(payload)
	b.Write(jpg[2:])
	return b.Bytes()
}

// indexOf reads the index from a frame made by testFrames, or -1.
func indexOf(jpg []byte) int {
	if len(jpg) < 20 || jpg[2] != 0xFF || jpg[3] != 0xFE {
		return -1
	}
	n, err := strconv.Atoi(string(jpg[12:20]))
	if err != nil {
		return -1
	}
	return n
}

// uplink dials a push camera's ingest endpoint like the firmware does.
func uplink(t testing.TB, g *gateway, camera, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	h.Set("Origin", "file://") // what arduinoWebSockets sends
	c, _, err := websocket.Dial(ctx, g.ws("/cam/"+camera+"/ingest"), &websocket.DialOptions{
		HTTPHeader: h, Subprotocols: []string{"arduino"},
	})
	if err != nil {
		t.Fatalf("uplink dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func send(t testing.TB, c *websocket.Conn, typ websocket.MessageType, data []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, typ, data); err != nil {
		t.Fatalf("uplink write: %v", err)
	}
}

// viewerWS dials a viewer socket and returns it after the hello.
func viewerWS(t testing.TB, g *gateway, camera string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, g.ws("/cam/"+camera+"/ws"), nil)
	if err != nil {
		t.Fatalf("viewer dial: %v", err)
	}
	c.SetReadLimit(8 << 20)
	t.Cleanup(func() { c.CloseNow() })
	typ, msg, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageText || !bytes.Contains(msg, []byte(`"type":"hello"`)) {
		t.Fatalf("first viewer message: %v %q %v", typ, msg, err)
	}
	return c
}

// closeStatus reads c until it closes and returns the close status (-1 if
// it ended without a close frame) and the error the read ended with.
func closeStatus(ctx context.Context, c *websocket.Conn) (websocket.StatusCode, error) {
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return websocket.CloseStatus(err), err
		}
	}
}

// nextJPEG reads viewer messages until a binary one.
func nextJPEG(ctx context.Context, c *websocket.Conn) ([]byte, error) {
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return nil, err
		}
		if typ == websocket.MessageBinary {
			return msg, nil
		}
	}
}

// mjpegReader reads parts of a multipart/x-mixed-replace stream strictly:
// a boundary line, headers with Content-Length, the body, CRLF.
type mjpegReader struct {
	r        *bufio.Reader
	boundary string
	resp     *http.Response
}

func openMJPEG(t testing.TB, url string) *mjpegReader {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	ct := resp.Header.Get("Content-Type")
	_, b, ok := strings.Cut(ct, "boundary=")
	if resp.StatusCode != 200 || !strings.HasPrefix(ct, "multipart/x-mixed-replace") || !ok {
		t.Fatalf("MJPEG response %d %q", resp.StatusCode, ct)
	}
	if len(resp.TransferEncoding) > 0 {
		t.Fatalf("MJPEG response is %v-encoded; VLC and cameras' clients want a plain body", resp.TransferEncoding)
	}
	return &mjpegReader{r: bufio.NewReaderSize(resp.Body, 64<<10), boundary: b, resp: resp}
}

var errEndOfStream = errors.New("closing boundary")

func (m *mjpegReader) next() ([]byte, error) {
	line, err := m.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	switch strings.TrimRight(line, "\r\n") {
	case "--" + m.boundary:
	case "--" + m.boundary + "--":
		return nil, errEndOfStream
	default:
		return nil, fmt.Errorf("expected boundary, got %q", line)
	}
	length := -1
	for {
		h, err := m.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		h = strings.TrimRight(h, "\r\n")
		if h == "" {
			break
		}
		k, v, _ := strings.Cut(h, ":")
		if strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if strings.EqualFold(k, "Content-Type") && strings.TrimSpace(v) != "image/jpeg" {
			return nil, fmt.Errorf("part type %q", v)
		}
	}
	if length < 0 {
		return nil, errors.New("part without Content-Length")
	}
	body := make([]byte, length+2)
	if _, err := io.ReadFull(m.r, body); err != nil {
		return nil, err
	}
	if string(body[length:]) != "\r\n" {
		return nil, errors.New("part not followed by CRLF")
	}
	return body[:length], nil
}
