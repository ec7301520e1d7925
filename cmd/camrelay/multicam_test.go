package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// mjpegServer serves frames as the stock CameraWebServer does until the
// test ends.
func mjpegServer(t *testing.T, frame []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const b = "123456789000000000000987654321"
		w.Header().Set("Content-Type", "multipart/x-mixed-replace;boundary="+b)
		for {
			_, err := fmt.Fprintf(w, "\r\n--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", b, len(frame))
			if err == nil {
				_, err = w.Write(frame)
			}
			if err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	t.Cleanup(srv.CloseClientConnections)
	t.Cleanup(srv.Close)
	return srv.URL
}

// wsBoard is a board running a WebSocket server that sends frames with
// sendBIN, as in the classic ESP32 tutorial. With acks, it also answers each
// control command with an ack that applies every setting; without, it
// ignores what it is sent.
func wsBoard(t *testing.T, frame []byte, acks bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		if acks {
			go answerControl(ctx, c)
		} else {
			ctx = c.CloseRead(ctx)
		}
		for {
			if c.Write(ctx, websocket.MessageBinary, frame) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}))
	t.Cleanup(srv.CloseClientConnections)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// answerControl acks every control command read from c, applying all its
// settings, until c fails.
func answerControl(ctx context.Context, c *websocket.Conn) {
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		var cmd map[string]any
		if typ != websocket.MessageText || json.Unmarshal(msg, &cmd) != nil || cmd["type"] != "control" {
			continue
		}
		id := cmd["id"]
		delete(cmd, "type")
		delete(cmd, "id")
		ack, _ := json.Marshal(map[string]any{"type": "ack", "id": id, "ok": true, "applied": cmd})
		if c.Write(ctx, websocket.MessageText, ack) != nil {
			return
		}
	}
}

// TestSixteenCamerasOfMixedSources: one gateway, 16 cameras of every kind
// of link, one of them failing; every other camera delivers.
func TestSixteenCamerasOfMixedSources(t *testing.T) {
	frame := testFrames(t, 1)[0]
	still := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(frame)
	}))
	defer still.Close()
	// A camera that is never there: a port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/stream"
	ln.Close()

	var cfg strings.Builder
	cfg.WriteString("limits: {offline_after: 2s}\ncameras:\n")
	for i := range 5 {
		fmt.Fprintf(&cfg, "  - {id: push-%d, source: push, token: t%d}\n", i, i)
	}
	for i := range 3 {
		fmt.Fprintf(&cfg, "  - {id: demo-%d, source: demo, fps: 10, width: 320, height: 240}\n", i)
	}
	for i := range 3 {
		fmt.Fprintf(&cfg, "  - {id: mjpeg-%d, source: mjpeg, url: %q}\n", i, mjpegServer(t, frame))
	}
	for i := range 2 {
		fmt.Fprintf(&cfg, "  - {id: jpeg-%d, source: jpeg, url: %q, interval: 200ms}\n", i, still.URL)
	}
	for i := range 2 {
		fmt.Fprintf(&cfg, "  - {id: ws-%d, source: ws-pull, url: %q}\n", i, wsBoard(t, frame, false))
	}
	fmt.Fprintf(&cfg, "  - {id: broken, source: mjpeg, url: %q}\n", dead)
	g := startGateway(t, cfg.String())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 5 {
		up := uplink(t, g, fmt.Sprintf("push-%d", i), fmt.Sprintf("t%d", i))
		go func() {
			for ctx.Err() == nil {
				if up.Write(ctx, websocket.MessageBinary, frame) != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}

	type status struct {
		ID     string `json:"id"`
		Online bool   `json:"online"`
		Frames uint64 `json:"frames"`
	}
	var last []status
	waitFor(t, 15*time.Second, "15 cameras online with frames", func() bool {
		resp, err := http.Get(g.url("/api/cameras"))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		last = nil
		body, _ := io.ReadAll(resp.Body)
		if json.Unmarshal(body, &last) != nil {
			return false
		}
		live := 0
		for _, c := range last {
			if c.Online && c.Frames >= 3 {
				live++
			}
		}
		return live == 15
	})
	for _, c := range last {
		if c.ID == "broken" && (c.Online || c.Frames != 0) {
			t.Errorf("the broken camera shows %+v", c)
		}
	}
	// Every working camera's frames reach a viewer, whatever its link.
	for _, id := range []string{"push-0", "demo-0", "mjpeg-0", "jpeg-0", "ws-0"} {
		v := viewerWS(t, g, id)
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		if _, err := nextJPEG(rctx, v); err != nil {
			t.Errorf("camera %s: viewer got no frame: %v", id, err)
		}
		rcancel()
	}
}
