package main

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Viewers that keep up ride their camera's direct lane: one goroutine writes
// each frame to all of them. They still get every frame, whole and in
// order; a viewer that stops reading is handed back to its own goroutine
// (and dropped after the write timeout) without disturbing the others; a
// viewer that asks for frame metadata never rides.
func TestViewersThatKeepUpRideTheDirectLane(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the direct lane writes with Linux's writev")
	}
	g := startGateway(t, `
limits:
  write_timeout: 2s
cameras:
  - {id: front, source: push, token: s3cret}
`)
	up := uplink(t, g, "front", "s3cret")
	frames := testFrames(t, 400)
	const nWS, nMJPEG = 20, 5
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	type result struct {
		name     string
		got      int
		last     int
		problems []string
	}
	results := make(chan result, nWS+nMJPEG)
	var wg sync.WaitGroup
	follow := func(name string, next func() ([]byte, error)) {
		defer wg.Done()
		r := result{name: name, last: -1}
		for r.last < len(frames)-1 {
			b, err := next()
			if err != nil {
				r.problems = append(r.problems, err.Error())
				break
			}
			i := indexOf(b)
			switch {
			case i < 0 || !bytes.Equal(b, frames[i]):
				r.problems = append(r.problems, "a damaged frame")
			case i <= r.last:
				r.problems = append(r.problems, "out of order")
			}
			r.got++
			r.last = i
		}
		results <- r
	}
	for range nWS {
		c := viewerWS(t, g, "front")
		wg.Add(1)
		go follow("ws", func() ([]byte, error) { return nextJPEG(ctx, c) })
	}
	for range nMJPEG {
		m := openMJPEG(t, g.url("/cam/front/stream.mjpeg"))
		wg.Add(1)
		go follow("mjpeg", m.next)
	}
	meta := viewerWS(t, g, "front")
	send(t, meta, websocket.MessageText, []byte(`{"type":"meta","on":true}`))
	stuck := viewerWS(t, g, "front") // stops reading after its first frames
	metaDone := make(chan int, 1)
	bare := 0 // frames that came without their metadata message
	go func() {
		n, announced := 0, false
		for {
			typ, msg, err := meta.Read(ctx)
			if err != nil {
				metaDone <- n
				return
			}
			switch {
			case typ == websocket.MessageText:
				announced = bytes.Contains(msg, []byte(`"type":"frame"`))
			case n > 0 && !announced: // the first may be the held frame, sent before the switch
				bare++
				fallthrough
			default:
				n++
				announced = false
			}
		}
	}()

	direct := func() float64 {
		return g.metric(t, `camrelay_viewers_direct{camera="front",transport="ws"}`) +
			g.metric(t, `camrelay_viewers_direct{camera="front",transport="mjpeg"}`)
	}
	var maxDirect float64
	for i, f := range frames {
		send(t, up, websocket.MessageBinary, f)
		time.Sleep(15 * time.Millisecond)
		if i%20 == 19 {
			maxDirect = max(maxDirect, direct())
		}
	}
	wg.Wait()
	close(results)
	for r := range results {
		if len(r.problems) > 0 || r.last != len(frames)-1 {
			t.Errorf("%s viewer: %d frames, last %d, %v", r.name, r.got, r.last, r.problems)
		}
	}
	// Every reading viewer but the metadata one rode; the stuck one was let go.
	if maxDirect < nWS+nMJPEG {
		t.Errorf("at most %v viewers rode the lane at once, want the %d that kept up", maxDirect, nWS+nMJPEG)
	}
	waitFor(t, 10*time.Second, "the stuck viewer dropped for its stalled write", func() bool {
		return g.metric(t, `camrelay_viewer_disconnects_total{camera="front",reason="write_timeout",transport="ws"}`) == 1
	})
	stuck.CloseNow()
	meta.CloseNow()
	if n := <-metaDone; n < len(frames)/2 || bare > 0 {
		t.Errorf("the metadata viewer got %d frames, %d of them without metadata (it must never ride the lane)", n, bare)
	}
	if v := g.metric(t, `camrelay_frames_sent_total{camera="front",transport="mjpeg"}`); v < nMJPEG*float64(len(frames))*0.9 {
		t.Errorf("camrelay_frames_sent_total for MJPEG = %v, want about %d (frames the lane wrote count too)", v, nMJPEG*len(frames))
	}

	// The camera goes offline: every rider is handed back to its goroutine,
	// which tells its viewer, and the metric says why.
	handbacks := func(reason string) float64 {
		return g.metric(t, `camrelay_lane_handbacks_total{camera="front",reason="`+reason+`",transport="ws"}`) +
			g.metric(t, `camrelay_lane_handbacks_total{camera="front",reason="`+reason+`",transport="mjpeg"}`)
	}
	riding, before := direct(), handbacks("state")
	if riding == 0 {
		t.Fatal("nobody rode the lane at the end")
	}
	up.Close(websocket.StatusNormalClosure, "")
	waitFor(t, 10*time.Second, "every rider handed back when the camera went offline", func() bool { return direct() == 0 })
	if got := handbacks("state") - before; got != riding {
		t.Errorf("%v riders handed back for the camera's state change, want the %v that rode", got, riding)
	}
}
