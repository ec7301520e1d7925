package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// soakDuration is how long TestSoak runs: 60 s in `make test`, or what
// CAMRELAY_SOAK says (`make soak DURATION=10m`).
func soakDuration(t *testing.T) time.Duration {
	s := os.Getenv("CAMRELAY_SOAK")
	if s == "" {
		return time.Minute
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 10*time.Second {
		t.Fatalf("CAMRELAY_SOAK=%q: want a duration of at least 10s, such as 10m", s)
	}
	return d
}

const (
	soakCameras = 10
	soakFPS     = 10
)

// soakBoard is one simulated camera: it streams at soakFPS and, while
// churning, reconnects every few seconds as a board on poor WiFi does.
type soakBoard struct {
	camera string
	frame  func(int) []byte

	churn atomic.Bool // reconnect now and then while set
	mu    sync.Mutex
	next  int   // the index of the next frame to send
	lasts []int // the last frame of each ended session: owed to every steady viewer
	conns int
}

func (b *soakBoard) run(ctx context.Context, g *gateway) error {
	token := "token-" + b.camera
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, _, err := websocket.Dial(dctx, g.ws("/cam/"+b.camera+"/ingest"),
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%s: dial: %w", b.camera, err)
		}
		b.mu.Lock()
		b.conns++
		b.mu.Unlock()
		// Reading answers pings and takes demand messages; it ends when the
		// connection closes, which this loop alone does.
		rctx := c.CloseRead(context.Background())
		session := time.Duration(3+rand.IntN(5)) * time.Second
		until := time.Now().Add(session)
		tick := time.NewTicker(time.Second / soakFPS)
		last := -1
		for ctx.Err() == nil && rctx.Err() == nil && !(b.churn.Load() && time.Now().After(until)) {
			b.mu.Lock()
			i := b.next
			b.mu.Unlock()
			wctx, cancel := context.WithTimeout(rctx, 5*time.Second)
			err := c.Write(wctx, websocket.MessageBinary, b.frame(i))
			cancel()
			if err != nil {
				break
			}
			last = i
			b.mu.Lock()
			b.next++
			b.mu.Unlock()
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
		tick.Stop()
		if rctx.Err() != nil {
			c.CloseNow()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%s: the gateway closed the uplink", b.camera)
		}
		// The session's last frame stays the newest while the board
		// reboots: newest-wins owes it to every viewer.
		if last >= 0 {
			b.mu.Lock()
			b.lasts = append(b.lasts, last)
			b.mu.Unlock()
		}
		time.Sleep(300 * time.Millisecond)
		if rand.IntN(2) == 0 {
			c.Close(websocket.StatusNormalClosure, "rebooting")
		} else {
			c.CloseNow()
		}
		if ctx.Err() != nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

// TestSoak runs ten cameras for a minute (or CAMRELAY_SOAK) with steady
// viewers that never leave, viewers joining and leaving all the time on
// every transport, and cameras reconnecting every few seconds. At the end
// the gateway holds the goroutines and heap it held before the churn
// (within goroutineSlack, heapFactor and heapSlack), and every steady
// viewer got every frame newest-wins owed it: whole, in order, and the last
// frame of every session of its camera.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute long")
	}
	t.Parallel()
	duration := soakDuration(t)
	var cfg strings.Builder
	cfg.WriteString("limits:\n  offline_after: 2s\ncameras:\n")
	boards := make([]*soakBoard, soakCameras)
	frame := frameMaker(t)
	for i := range boards {
		id := fmt.Sprintf("cam%d", i)
		fmt.Fprintf(&cfg, "  - id: %s\n    source: push\n    token: token-%s\n", id, id)
		boards[i] = &soakBoard{camera: id, frame: frame}
	}
	p := startProcess(t, cfg.String())

	// Steady viewers: one WebSocket and one MJPEG per camera, for the
	// whole run.
	ws := make([]*watchedViewer, soakCameras)
	mj := make([]*watchedViewer, soakCameras)
	for i, b := range boards {
		ws[i] = watchViewer(t, viewerWS(t, p.gateway, b.camera), frame)
		mj[i] = watchMJPEG(t, openMJPEG(t, p.url("/cam/"+b.camera+"/stream.mjpeg")), frame)
	}

	ctx, stopBoards := context.WithCancel(context.Background())
	defer stopBoards()
	var boardsWG sync.WaitGroup
	boardErrs := make(chan error, soakCameras)
	for _, b := range boards {
		boardsWG.Add(1)
		go func() {
			defer boardsWG.Done()
			if err := b.run(ctx, p.gateway); err != nil {
				boardErrs <- err
			}
		}()
	}
	waitFor(t, 10*time.Second, "every camera online", func() bool {
		for _, v := range ws {
			if v.count() == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * time.Second) // rings full, pools warm
	base := p.resources(t)
	t.Logf("baseline with %d cameras and %d steady viewers: %d goroutines, heap %.1f MiB",
		soakCameras, 2*soakCameras, base.goroutines, mib(base.heap))

	// Churn: cameras reconnect; viewers come and go on every transport.
	for _, b := range boards {
		b.churn.Store(true)
	}
	churnCtx, stopChurn := context.WithTimeout(context.Background(), duration)
	defer stopChurn()
	client := &http.Client{Timeout: 10 * time.Second}
	var churnWG sync.WaitGroup
	var joins, churnErrs atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		churnErrs.Add(1)
		firstErr.CompareAndSwap(nil, err.Error())
	}
	for w := range 6 {
		churnWG.Add(1)
		go func() {
			defer churnWG.Done()
			for churnCtx.Err() == nil {
				cam := boards[rand.IntN(soakCameras)].camera
				joins.Add(1)
				var err error
				switch (w + rand.IntN(4)) % 4 {
				case 0, 1:
					err = churnWS(churnCtx, p.gateway, cam)
				case 2:
					err = churnMJPEG(churnCtx, client, p.url("/cam/"+cam+"/stream.mjpeg"))
				default:
					err = churnGet(client, p.url("/cam/"+cam+"/snapshot.jpg"), p.url("/api/cameras"))
				}
				if err != nil && churnCtx.Err() == nil {
					fail(err)
				}
			}
		}()
	}
	churnWG.Wait()
	for _, b := range boards {
		b.churn.Store(false)
	}
	client.CloseIdleConnections()
	t.Logf("churn over %v: %d viewer joins, %d camera connections", duration, joins.Load(), func() (n int) {
		for _, b := range boards {
			b.mu.Lock()
			n += b.conns
			b.mu.Unlock()
		}
		return n
	}())
	if n := churnErrs.Load(); n > 0 {
		t.Errorf("%d churn viewers failed; first: %v", n, firstErr.Load())
	}

	// Back to the steady state: every board streaming, only the steady
	// viewers attached. The gateway must hold what it held at the start.
	waitFor(t, 15*time.Second, "only the steady viewers left", func() bool {
		for _, b := range boards {
			for _, tr := range []string{"ws", "mjpeg"} {
				if p.metric(t, `camrelay_viewers{camera="`+b.camera+`",transport="`+tr+`"}`) != 1 {
					return false
				}
			}
		}
		return true
	})
	time.Sleep(2 * time.Second)
	p.settles(t, base)

	stopBoards()
	boardsWG.Wait()
	close(boardErrs)
	for err := range boardErrs {
		t.Error(err)
	}
	// Each board's last session has ended: its last frame is owed too.
	time.Sleep(time.Second)
	p.terminate(t)
	var got, sent int
	for i, b := range boards {
		for _, v := range []struct {
			w    *watchedViewer
			name string
		}{{ws[i], b.camera + " WebSocket viewer"}, {mj[i], b.camera + " MJPEG viewer"}} {
			<-v.w.done
			v.w.err = nil // the shutdown ends every stream
			v.w.check(t, v.name)
			b.mu.Lock()
			for _, last := range b.lasts {
				if !v.w.has(last) {
					t.Errorf("%s never got frame %d, the last of a session", v.name, last)
				}
			}
			b.mu.Unlock()
			got += v.w.count()
		}
		b.mu.Lock()
		sent += b.next
		b.mu.Unlock()
	}
	t.Logf("steady viewers got %d of the %d frames sent to them (%.2f%%; newest-wins skips a frame only for a viewer still busy with an older one)",
		got, 2*sent, 100*float64(got)/float64(2*sent))
}

// churnWS is a viewer that watches a few frames, then leaves, closing
// politely or not.
func churnWS(ctx context.Context, g *gateway, camera string) error {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, g.ws("/cam/"+camera+"/ws"), nil)
	if err != nil {
		return fmt.Errorf("viewer dial: %w", err)
	}
	defer c.CloseNow()
	c.SetReadLimit(8 << 20)
	want := 1 + rand.IntN(15)
	for got := 0; got < want; {
		typ, _, err := c.Read(dctx)
		if err != nil {
			return fmt.Errorf("viewer read: %w", err)
		}
		if typ == websocket.MessageBinary {
			got++
		}
	}
	if rand.IntN(2) == 0 {
		return c.Close(websocket.StatusNormalClosure, "")
	}
	return nil
}

// churnMJPEG reads a few parts of an MJPEG stream, then hangs up.
func churnMJPEG(ctx context.Context, client *http.Client, url string) error {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("MJPEG: %w", err)
	}
	defer resp.Body.Close()
	_, boundary, ok := strings.Cut(resp.Header.Get("Content-Type"), "boundary=")
	if resp.StatusCode != 200 || !ok {
		return fmt.Errorf("MJPEG: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	m := &mjpegReader{r: bufio.NewReaderSize(resp.Body, 64<<10), boundary: boundary}
	for range 1 + rand.IntN(10) {
		if _, err := m.next(); err != nil {
			return fmt.Errorf("MJPEG part: %w", err)
		}
	}
	return nil
}

// churnGet fetches a snapshot and the camera list.
func churnGet(client *http.Client, urls ...string) error {
	for _, u := range urls {
		resp, err := client.Get(u)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("GET %s: %s", u, resp.Status)
		}
	}
	time.Sleep(50 * time.Millisecond)
	return nil
}
