package main

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const floodConfig = `
limits:
  max_fps_in: 30
cameras:
  - {id: flood, source: push, token: s3cret}
  - {id: demo, source: demo, fps: 10, width: 160, height: 128}
`

// TestFloodOfTinyFrames: a push uplink sends valid tiny JPEGs as fast as
// it can. Frames over limits.max_fps_in are dropped and counted as
// reason="rate" while the link stays up, the gateway keeps answering, the
// other camera's viewer keeps its frame rate, and once the flood ends the
// goroutines are back where they were.
func TestFloodOfTinyFrames(t *testing.T) {
	g := startGateway(t, floodConfig)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var tiny bytes.Buffer
	if err := jpeg.Encode(&tiny, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	calm := viewerWS(t, g, "demo")
	if _, err := nextJPEG(ctx, calm); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "linux" {
		// The baseline includes the demo camera's lane, which writes to
		// the calm viewer once it has kept up for a while.
		for g.metric(t, `camrelay_viewers_direct{camera="demo",transport="ws"}`) != 1 {
			if _, err := nextJPEG(ctx, calm); err != nil {
				t.Fatal(err)
			}
		}
	}
	baseline := runtime.NumGoroutine()

	const flood = 2 * time.Second
	floodStart := time.Now()
	up := uplink(t, g, "flood", "s3cret")
	sent := make(chan int, 1)
	go func() {
		n := 0
		for end := time.Now().Add(flood); time.Now().Before(end); n++ {
			if err := up.Write(ctx, websocket.MessageBinary, tiny.Bytes()); err != nil {
				t.Errorf("the flood's link broke after %d frames: %v", n, err)
				break
			}
		}
		sent <- n
	}()

	// While it floods: the other camera's viewer gets its 10 fps, and
	// the gateway answers at once.
	start := time.Now()
	calmFrames, slowest := 0, time.Duration(0)
	for time.Since(start) < flood {
		if _, err := nextJPEG(ctx, calm); err != nil {
			t.Fatalf("the other camera's viewer: %v", err)
		}
		calmFrames++
		t0 := time.Now()
		resp, err := http.Get(g.url("/healthz"))
		if err != nil {
			t.Fatalf("healthz during the flood: %v", err)
		}
		resp.Body.Close()
		slowest = max(slowest, time.Since(t0))
	}
	n := <-sent
	elapsed := time.Since(start)
	if want := int(elapsed.Seconds() * 10 / 2); calmFrames < want {
		t.Errorf("the other camera's viewer got %d frames in %v, want at least %d (half its rate)", calmFrames, elapsed, want)
	}
	if slowest > time.Second {
		t.Errorf("healthz took up to %v during the flood", slowest)
	}

	waitFor(t, 5*time.Second, "every flood frame counted", func() bool {
		return g.metric(t, `camrelay_frames_received_total{camera="flood"}`)+
			g.metric(t, `camrelay_frames_dropped_total{camera="flood",reason="rate"}`) == float64(n)
	})
	// Frames still in the socket's buffers are read after the sender
	// stops: the rate applies until the last of them.
	floodTime := time.Since(floodStart)
	in := g.metric(t, `camrelay_frames_received_total{camera="flood"}`)
	dropped := g.metric(t, `camrelay_frames_dropped_total{camera="flood",reason="rate"}`)
	t.Logf("flood: %d frames sent in %v, %v passed, %v dropped as rate; slowest healthz %v", n, flood, in, dropped, slowest)
	if max := 30*floodTime.Seconds() + 15 + 1; in > max || in < 30 {
		t.Errorf("%v flood frames passed in %v, want at most %.0f (30 fps plus the half-second burst)", in, floodTime, max)
	}
	if dropped == 0 {
		t.Error("no frame was counted as a rate drop")
	}
	if up := g.metric(t, `camrelay_camera_up{camera="flood"}`); up != 1 {
		t.Errorf("camrelay_camera_up of the flooding camera = %v: its link should stay up", up)
	}

	// The flood ends: the uplink's goroutines go, nothing stays behind.
	up.Close(websocket.StatusNormalClosure, "")
	// The health checks' keep-alive connections are the test's, not the
	// flood's.
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines 5 s after the flood, %d before it:\n%s", runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
