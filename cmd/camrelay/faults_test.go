package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The fault tests run the real binary as its own process and hit it with
// what a home network produces. In every case the gateway must not crash,
// must return to its goroutine and heap baseline after the fault, must keep
// serving other cameras and viewers, and must not lose what it already got.

// watchViewer reads a viewer socket until it fails, recording the index of
// every frame and whether each arrived byte-exact.
type watchedViewer struct {
	mu       sync.Mutex
	indices  []int
	corrupt  int
	statuses []string
	err      error
	done     chan struct{}
}

func watchViewer(t *testing.T, c *websocket.Conn, frameOf func(int) []byte) *watchedViewer {
	t.Helper()
	v := watchFrames(frameOf, func() (bool, []byte, error) {
		typ, msg, err := c.Read(context.Background())
		return typ == websocket.MessageText, msg, err
	})
	t.Cleanup(func() { c.CloseNow(); <-v.done })
	return v
}

// watchMJPEG is watchViewer for an MJPEG stream.
func watchMJPEG(t *testing.T, m *mjpegReader, frameOf func(int) []byte) *watchedViewer {
	t.Helper()
	v := watchFrames(frameOf, func() (bool, []byte, error) {
		f, err := m.next()
		return false, f, err
	})
	t.Cleanup(func() { m.resp.Body.Close(); <-v.done })
	return v
}

// watchFrames records what next returns until it fails: text messages as
// statuses, frames by index and whether each is byte-exact.
func watchFrames(frameOf func(int) []byte, next func() (text bool, msg []byte, err error)) *watchedViewer {
	v := &watchedViewer{done: make(chan struct{})}
	go func() {
		defer close(v.done)
		for {
			text, msg, err := next()
			v.mu.Lock()
			switch {
			case err != nil:
				v.err = err
				v.mu.Unlock()
				return
			case text:
				v.statuses = append(v.statuses, string(msg))
			default:
				i := indexOf(msg)
				if i < 0 || !bytes.Equal(msg, frameOf(i)) {
					v.corrupt++
				}
				v.indices = append(v.indices, i)
			}
			v.mu.Unlock()
		}
	}()
	return v
}

// has reports whether frame i arrived.
func (v *watchedViewer) has(i int) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, j := range v.indices {
		if j == i {
			return true
		}
	}
	return false
}

func (v *watchedViewer) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.indices)
}

func (v *watchedViewer) sawStatus(s string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, m := range v.statuses {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// check fails the test if frames came out of order, twice or damaged, or
// if the socket ended.
func (v *watchedViewer) check(t *testing.T, who string) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.err != nil {
		t.Errorf("%s: socket ended: %v", who, v.err)
	}
	if v.corrupt > 0 {
		t.Errorf("%s: %d frames were not byte-exact", who, v.corrupt)
	}
	for k := 1; k < len(v.indices); k++ {
		if v.indices[k] <= v.indices[k-1] {
			t.Errorf("%s: frame %d after frame %d", who, v.indices[k], v.indices[k-1])
			return
		}
	}
}

// frameMaker returns a function that makes frame i on the fly (byte-equal
// to testFrames' frame i), for tests that send more frames than are worth
// holding.
func frameMaker(t *testing.T) func(int) []byte {
	indexed := testFrames(t, 1)[0]
	plain := append(append([]byte{}, indexed[:2]...), indexed[20:]...) // without the index segment
	return func(i int) []byte { return withIndex(plain, i) }
}

// streamingBoard pushes frames to camera at fps until ctx ends, so that a
// test can show another camera's viewers are not disturbed by a fault.
func streamingBoard(t *testing.T, ctx context.Context, g *gateway, camera, token string, frames [][]byte, fps int) <-chan struct{} {
	t.Helper()
	up := uplink(t, g, camera, token)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second / time.Duration(fps))
		defer tick.Stop()
		for i := 0; ; i++ {
			if up.Write(ctx, websocket.MessageBinary, frames[i%len(frames)]) != nil {
				return
			}
			select {
			case <-ctx.Done():
				up.Close(websocket.StatusNormalClosure, "")
				return
			case <-tick.C:
			}
		}
	}()
	return done
}

const faultConfig = `
limits:
  offline_after: 1s
  read_timeout: 1s
cameras:
  - id: front
    source: push
    token: s3cret
  - id: other
    source: push
    token: other-token
`

// An uplink that dies halfway through a frame loses only that frame: the
// viewers keep everything before it, the snapshot stays the last whole
// frame, the camera shows offline, and the board's next uplink resumes the
// same viewer sockets.
func TestFaultUplinkDiesMidFrame(t *testing.T) {
	p := startProcess(t, faultConfig)
	frames := testFrames(t, 12)
	frameOf := func(i int) []byte { return frames[i] }

	otherFrames := testFrames(t, 200)
	ctx, stopOther := context.WithCancel(context.Background())
	otherDone := streamingBoard(t, ctx, p.gateway, "other", "other-token", otherFrames, 20)
	other := watchViewer(t, viewerWS(t, p.gateway, "other"), func(i int) []byte { return otherFrames[i] })
	viewer := watchViewer(t, viewerWS(t, p.gateway, "front"), frameOf)
	waitFor(t, 5*time.Second, "the other camera's viewer to get frames", func() bool { return other.count() > 0 })
	base := p.resources(t)

	otherBefore := other.count()
	raw := rawUplink(t, p.gateway, "front", "s3cret")
	for i := range 5 {
		if _, err := raw.Write(clientFrame(0x2, frames[i])); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "frames 0-4 at the viewer", func() bool { return viewer.has(4) })
	half := clientFrame(0x2, frames[5])
	if _, err := raw.Write(half[:len(half)/2]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	raw.Close()

	waitFor(t, 5*time.Second, "the viewer to be told the camera is offline", func() bool {
		return viewer.sawStatus(`"online":false`)
	})
	if viewer.has(5) {
		t.Error("the half frame reached a viewer")
	}
	resp, err := http.Get(p.url("/cam/front/snapshot.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	snap := new(bytes.Buffer)
	_, _ = snap.ReadFrom(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(snap.Bytes(), frames[4]) {
		t.Errorf("snapshot after the cut is frame %d (%d bytes), want the last whole frame 4", indexOf(snap.Bytes()), snap.Len())
	}

	up := uplink(t, p.gateway, "front", "s3cret")
	for i := 6; i < 12; i++ {
		send(t, up, websocket.MessageBinary, frames[i])
	}
	waitFor(t, 5*time.Second, "the next uplink's frames at the same viewer", func() bool { return viewer.has(11) })
	up.Close(websocket.StatusNormalClosure, "")
	waitFor(t, 5*time.Second, "the camera offline again", func() bool {
		return p.metric(t, `camrelay_camera_up{camera="front"}`) == 0
	})
	p.settles(t, base)
	waitFor(t, 5*time.Second, "the other camera's viewer to go on getting frames", func() bool {
		return other.count() >= otherBefore+10
	})

	stopOther()
	<-otherDone
	viewer.check(t, "front viewer")
	other.check(t, "other camera's viewer")
}

// A board that reconnects every second for a minute (a flaky WiFi link)
// costs nothing that stays: each session's frames reach the viewers that
// never reconnected, the last frame of every session among them, and the
// gateway's goroutines and heap end where they began.
func TestFaultCameraReconnectsEverySecondForAMinute(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute long")
	}
	t.Parallel()
	p := startProcess(t, faultConfig)
	frameOf := frameMaker(t)

	ws := watchViewer(t, viewerWS(t, p.gateway, "front"), frameOf)
	mj := watchMJPEG(t, openMJPEG(t, p.url("/cam/front/stream.mjpeg")), frameOf)
	connectsBefore := p.metric(t, `camrelay_uplink_connects_total{camera="front"}`)
	// Warm up once so the baseline holds a full ring, as the end will.
	warm := uplink(t, p.gateway, "front", "s3cret")
	next := 0
	for range 10 {
		send(t, warm, websocket.MessageBinary, frameOf(next))
		next++
	}
	warm.Close(websocket.StatusNormalClosure, "")
	waitFor(t, 3*time.Second, "warm-up frames", func() bool { return ws.has(next - 1) })
	baseRes := p.resources(t)

	const sessions = 60
	var lasts []int
	start := time.Now()
	for s := range sessions {
		up := uplink(t, p.gateway, "front", "s3cret")
		for range 8 {
			send(t, up, websocket.MessageBinary, frameOf(next))
			next++
			time.Sleep(50 * time.Millisecond)
		}
		lasts = append(lasts, next-1)
		time.Sleep(200 * time.Millisecond) // the last frame stays the newest a while
		if s%2 == 0 {
			up.Close(websocket.StatusNormalClosure, "rebooting")
		} else {
			up.CloseNow() // power cut
		}
		if wait := time.Until(start.Add(time.Duration(s+1) * time.Second)); wait > 0 {
			time.Sleep(wait)
		}
	}
	waitFor(t, 5*time.Second, "the last session's frame", func() bool { return ws.has(next - 1) })
	connects := p.metric(t, `camrelay_uplink_connects_total{camera="front"}`) - connectsBefore
	if connects != sessions+1 {
		t.Errorf("camrelay_uplink_connects_total grew by %v, want %d", connects, sessions+1)
	}
	p.settles(t, baseRes)

	for _, i := range lasts {
		if !ws.has(i) {
			t.Errorf("the WebSocket viewer never got frame %d, the last of its session (owed by newest-wins)", i)
		}
	}
	ws.check(t, "WebSocket viewer")
	t.Logf("WebSocket viewer: %d of %d frames over %d sessions in %v", ws.count(), next, sessions, time.Since(start).Round(time.Second))
	p.terminate(t)
	<-mj.done
	if !errors.Is(mj.err, errEndOfStream) {
		t.Errorf("MJPEG viewer ended with %v, want the closing boundary at shutdown", mj.err)
	}
	mj.err = nil
	mj.check(t, "MJPEG viewer")
	for _, i := range lasts {
		if !mj.has(i) {
			t.Errorf("the MJPEG viewer never got frame %d, the last of its session", i)
		}
	}
}

// Two boards flashed with the same id (or one board whose old connection
// still lingers behind a load balancer) fight for the uplink: each new
// uplink replaces the old one with close 4001 and a reason, the viewers see
// one stream of whole frames throughout, and nothing stays behind.
func TestFaultTwoBoardsClaimTheSameID(t *testing.T) {
	p := startProcess(t, faultConfig)
	frames := testFrames(t, 2000)
	viewer := watchViewer(t, viewerWS(t, p.gateway, "front"), func(i int) []byte { return frames[i] })
	base := p.resources(t)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	type result struct {
		sessions, replaced int
		reasons            map[string]bool
	}
	results := make(chan result, 2)
	board := func(first int) {
		r := result{reasons: map[string]bool{}}
		defer func() { results <- r }()
		next := first
		for ctx.Err() == nil {
			h := http.Header{"Authorization": {"Bearer s3cret"}}
			dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
			c, _, err := websocket.Dial(dctx, p.ws("/cam/front/ingest"), &websocket.DialOptions{HTTPHeader: h})
			dcancel()
			if err != nil {
				continue
			}
			r.sessions++
			ended := make(chan error, 1)
			go func() {
				for {
					if _, _, err := c.Read(context.Background()); err != nil {
						ended <- err
						return
					}
				}
			}()
			for err == nil {
				select {
				case err = <-ended:
				case <-ctx.Done():
					c.Close(websocket.StatusNormalClosure, "")
					err = <-ended
				default:
					if c.Write(ctx, websocket.MessageBinary, frames[next]) != nil {
						err = <-ended
						break
					}
					next = first + (next-first+1)%1000
					time.Sleep(20 * time.Millisecond)
				}
			}
			var ce websocket.CloseError
			if errors.As(err, &ce) && ce.Code == 4001 {
				r.replaced++
				r.reasons[ce.Reason] = true
			}
			c.CloseNow()
			time.Sleep(100 * time.Millisecond) // the board's reconnect delay
		}
	}
	go board(0)
	go board(1000)
	a, b := <-results, <-results
	t.Logf("board A: %d sessions, %d replaced; board B: %d sessions, %d replaced", a.sessions, a.replaced, b.sessions, b.replaced)
	if a.replaced == 0 || b.replaced == 0 {
		t.Errorf("each board should have been replaced (close 4001) at least once: A %d, B %d", a.replaced, b.replaced)
	}
	for reason := range a.reasons {
		if !strings.Contains(reason, "front") {
			t.Errorf("close reason %q does not name the camera", reason)
		}
	}
	waitFor(t, 5*time.Second, "the camera offline after both boards left", func() bool {
		return p.metric(t, `camrelay_camera_up{camera="front"}`) == 0
	})
	p.settles(t, base)
	viewer.mu.Lock()
	var fromA, fromB int
	for _, i := range viewer.indices {
		if i < 1000 {
			fromA++
		} else {
			fromB++
		}
	}
	viewer.mu.Unlock()
	if fromA == 0 || fromB == 0 {
		t.Errorf("the viewer got %d frames from board A and %d from board B; want both", fromA, fromB)
	}
	viewer.mu.Lock()
	if viewer.err != nil || viewer.corrupt > 0 {
		t.Errorf("viewer: socket error %v, %d damaged frames", viewer.err, viewer.corrupt)
	}
	viewer.mu.Unlock()
	if !strings.Contains(p.logs.String(), "uplink replaced by a newer one") {
		t.Error("the log does not say an uplink was replaced")
	}
}

// An MJPEG camera that stops sending without closing the connection (WiFi
// gone, board hung) is noticed after read_timeout, shown offline and
// reconnected; the viewers' sockets stay open and resume with the new
// connection's frames.
func TestFaultMJPEGUpstreamStallsWithoutClosing(t *testing.T) {
	frames := testFrames(t, 40)
	release := make(chan struct{})
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		const b = "123456789000000000000987654321"
		w.Header().Set("Content-Type", "multipart/x-mixed-replace;boundary="+b)
		first := int(n-1) * 10
		for i := first; i < first+10 && i < len(frames); i++ {
			fmt.Fprintf(w, "\r\n--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", b, len(frames[i]))
			w.Write(frames[i])
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
		if n == 1 {
			// Stall: say nothing more, keep the connection open.
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release); srv.CloseClientConnections() })

	p := startProcess(t, `
limits:
  offline_after: 1s
  read_timeout: 1s
cameras:
  - id: porch
    source: mjpeg
    url: `+srv.URL+`/stream
`)
	viewer := watchViewer(t, viewerWS(t, p.gateway, "porch"), func(i int) []byte { return frames[i] })
	waitFor(t, 5*time.Second, "the first connection's frames", func() bool { return viewer.has(9) })
	base := p.resources(t)
	waitFor(t, 5*time.Second, "the stalled camera shown offline", func() bool { return viewer.sawStatus(`"online":false`) })
	waitFor(t, 10*time.Second, "a second connection's frames", func() bool { return viewer.has(19) })
	if n := requests.Load(); n < 2 {
		t.Errorf("upstream saw %d requests, want a reconnect", n)
	}
	if !strings.Contains(p.logs.String(), "nothing received for 1s") {
		t.Errorf("the log does not name the stall:\n%s", p.logs)
	}
	viewer.check(t, "viewer")
	p.settles(t, base)
}

// SIGTERM while a camera streams to a hundred WebSocket viewers and twenty
// MJPEG viewers: every viewer socket is closed with 1001, every MJPEG body
// ends with its closing boundary, the uplink is told 1001, and the process
// exits 0 within 5 s.
func TestFaultSIGTERMUnderLoad(t *testing.T) {
	p := startProcess(t, faultConfig)
	frames := testFrames(t, 100)
	up := uplink(t, p.gateway, "front", "s3cret")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	boardDone := make(chan error, 1)
	go func() {
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		for i := 0; ; i++ {
			if err := up.Write(ctx, websocket.MessageBinary, frames[i%len(frames)]); err != nil {
				boardDone <- err
				return
			}
			<-tick.C
		}
	}()
	const nWS, nMJPEG = 100, 20
	wsEnds := make(chan error, nWS)
	for range nWS {
		c := viewerWS(t, p.gateway, "front")
		go func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					wsEnds <- err
					return
				}
			}
		}()
	}
	mjEnds := make(chan error, nMJPEG)
	for range nMJPEG {
		m := openMJPEG(t, p.url("/cam/front/stream.mjpeg"))
		go func() {
			for {
				if _, err := m.next(); err != nil {
					mjEnds <- err
					return
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	if v := p.metric(t, `camrelay_viewers{camera="front",transport="ws"}`); v != nWS {
		t.Fatalf("%v WebSocket viewers before SIGTERM, want %d", v, nWS)
	}

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exit:
		p.exit <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs)
		}
		t.Logf("exited %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5 s after SIGTERM\n%s", p.logs)
	}
	for range nWS {
		if err := <-wsEnds; websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("a viewer socket ended with %v, want 1001", err)
			break
		}
	}
	for range nMJPEG {
		if err := <-mjEnds; !errors.Is(err, errEndOfStream) {
			t.Errorf("an MJPEG body ended with %v, want its closing boundary", err)
			break
		}
	}
	if err := <-boardDone; err == nil {
		t.Error("the board could still write after the gateway exited")
	}
	_, _, err := up.Read(context.Background())
	if s := websocket.CloseStatus(err); s != websocket.StatusGoingAway && s != -1 {
		t.Errorf("uplink ended with %v, want 1001", err)
	}
	if !strings.Contains(p.logs.String(), `msg=stopped`) {
		t.Errorf("the log does not end with stopped:\n%s", p.logs)
	}
}
