package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// cameraWebControl is the port-80 side of the stock CameraWebServer:
// /status, and /control?var=&val= answering 200 with an empty body, or 500
// for the var named in refuse. It records each request line as the board
// receives it.
func cameraWebControl(t *testing.T, refuse string) (url string, lines func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.RequestURI+" "+r.Proto)
		mu.Unlock()
		switch r.URL.Path {
		case "/status":
			fmt.Fprint(w, `{"framesize":1,"quality":10,"led_intensity":0}`)
		case "/control":
			if r.URL.Query().Get("var") == refuse {
				w.WriteHeader(http.StatusInternalServerError)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/", func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// TestControlOfTheStockCameraWebServer: an mjpeg camera with a control_url
// gets each setting as its own GET /control?var=&val=, framesize by the
// driver's number; the answer lists what was applied, and a refused
// setting is a 502 naming it.
func TestControlOfTheStockCameraWebServer(t *testing.T) {
	ctlURL, lines := cameraWebControl(t, "hmirror")
	stream := mjpegServer(t, testFrames(t, 1)[0])
	g := startGateway(t, fmt.Sprintf(`
admin_token: adm1n
cameras:
  - {id: porch, source: mjpeg, url: %q, control_url: %q}
  - {id: plain, source: mjpeg, url: %q}
`, stream+"/stream", ctlURL, stream+"/stream"))
	waitFor(t, 10*time.Second, "the camera online", func() bool {
		return g.metric(t, `camrelay_camera_up{camera="porch"}`) == 1
	})
	// After its first frame, the camera's /status shows in the API (and
	// starts the page's controls).
	waitFor(t, 10*time.Second, "the camera's /status in /api/cameras", func() bool {
		return strings.Contains(getBody(t, g.url("/api/cameras")), `"framesize": "QQVGA"`)
	})
	before := len(lines())

	status, body := postControl(t, g, "porch", "adm1n", `{"framesize":"VGA","quality":10,"vflip":true,"led":100}`)
	if status != http.StatusOK || !strings.Contains(body, `"framesize":"VGA"`) || !strings.Contains(body, `"led":100`) {
		t.Fatalf("control = %d %s, want 200 listing what was applied", status, body)
	}
	want := []string{
		"GET /status HTTP/1.1",
		"GET /control?var=framesize&val=10 HTTP/1.1", // VGA in esp32-camera v2.0.14+
		"GET /control?var=quality&val=10 HTTP/1.1",
		"GET /control?var=vflip&val=1 HTTP/1.1",
		"GET /control?var=led_intensity&val=100 HTTP/1.1",
	}
	if got := lines()[before:]; !slices.Equal(got, want) {
		t.Errorf("the camera received\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if api := getBody(t, g.url("/api/cameras")); !strings.Contains(api, `"framesize": "VGA"`) {
		t.Errorf("/api/cameras does not show the applied settings:\n%s", api)
	}

	status, body = postControl(t, g, "porch", "adm1n", `{"quality":12,"hmirror":true}`)
	if status != http.StatusBadGateway || !strings.Contains(body, `"key":"hmirror"`) || !strings.Contains(body, `"quality":12`) {
		t.Errorf("refused setting = %d %s, want 502 naming hmirror, with quality applied", status, body)
	}

	// The same camera over the viewer socket.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	viewer := viewerWS(t, g, "porch")
	if ack := controlWS(t, ctx, viewer, 1, `{"type":"control","id":1,"token":"adm1n","brightness":-1}`); ack["ok"] != true {
		t.Errorf("socket control of the CameraWebServer: %v", ack)
	}
	if got := lines(); got[len(got)-1] != "GET /control?var=brightness&val=-1 HTTP/1.1" {
		t.Errorf("last request %q", got[len(got)-1])
	}

	// A stream that is not the sketch's :81/stream and no control_url: no
	// guessing.
	if status, body := postControl(t, g, "plain", "adm1n", `{"quality":10}`); status != http.StatusNotImplemented {
		t.Errorf("mjpeg camera without control_url = %d %s, want 501", status, body)
	}
}

// TestControlOfAWSPullBoard: a board running its own WebSocket server gets
// control like a push camera, and its ack comes back.
func TestControlOfAWSPullBoard(t *testing.T) {
	frame := testFrames(t, 1)[0]
	g := startGateway(t, fmt.Sprintf("admin_token: adm1n\ncameras:\n  - {id: legacy, source: ws-pull, url: %q}\n",
		wsBoard(t, frame, true)+"/"))
	waitFor(t, 10*time.Second, "the board online", func() bool {
		return g.metric(t, `camrelay_camera_up{camera="legacy"}`) == 1
	})
	status, body := postControl(t, g, "legacy", "adm1n", `{"framesize":"QVGA","hmirror":1}`)
	if status != http.StatusOK || !strings.Contains(body, `"framesize":"QVGA"`) || !strings.Contains(body, `"hmirror":true`) {
		t.Errorf("control of a ws-pull board = %d %s, want 200 with its ack", status, body)
	}
}
