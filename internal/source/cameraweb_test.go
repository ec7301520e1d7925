package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/control"
)

// fakeCameraWebServer is the port-80 server of arduino-esp32's
// CameraWebServer (app_httpd.cpp) as far as control goes: /control reads
// var and val from the query (404 when either is missing), sets the sensor
// and answers 200 with an empty body, or 500 for a name it does not know;
// /status is a flat JSON object. It records every request line as the
// board receives it.
type fakeCameraWebServer struct {
	*httptest.Server
	mu        sync.Mutex
	lines     []string
	framesize int            // the sensor's framesize_t value
	led       bool           // built with the LED illuminator
	fail      string         // a var the sensor refuses (500)
	hang      string         // a var whose request never gets an answer
	release   chan struct{}  // closed at the end of the test
	set       map[string]int // what the sensor holds
}

func newFakeCameraWebServer(t *testing.T, framesize int, led bool) *fakeCameraWebServer {
	f := &fakeCameraWebServer{framesize: framesize, led: led, release: make(chan struct{}), set: map[string]int{}}
	known := []string{"framesize", "quality", "contrast", "brightness", "saturation", "gainceiling", "colorbar",
		"awb", "agc", "aec", "hmirror", "vflip", "awb_gain", "agc_gain", "aec_value", "aec2", "dcw", "bpc",
		"wpc", "raw_gma", "lenc", "special_effect", "wb_mode", "ae_level"}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.lines = append(f.lines, r.Method+" "+r.RequestURI+" "+r.Proto)
		fs, hasLED, fail, hang := f.framesize, f.led, f.fail, f.hang
		f.mu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", "*")
		switch r.URL.Path {
		case "/status":
			w.Header().Set("Content-Type", "application/json")
			st := fmt.Sprintf(`{"xclk":20,"pixformat":4,"framesize":%d,"quality":10,"brightness":0,"contrast":0,"saturation":0,"sharpness":0,"special_effect":0,"wb_mode":0,"awb":1,"hmirror":0,"vflip":0,"0xd3":8`, fs)
			if hasLED {
				st += `,"led_intensity":0`
			}
			fmt.Fprint(w, st+"}")
		case "/control":
			name, val := r.URL.Query().Get("var"), r.URL.Query().Get("val")
			n, err := strconv.Atoi(val)
			if name == "" || val == "" || err != nil {
				http.NotFound(w, r)
				return
			}
			if name == hang {
				<-f.release
				return
			}
			if name == fail || !(slices.Contains(known, name) || name == "led_intensity" && hasLED) {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			f.mu.Lock()
			f.set[name] = n
			if name == "framesize" {
				f.framesize = n
			}
			f.mu.Unlock()
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(func() { close(f.release); f.Close() })
	return f
}

func (f *fakeCameraWebServer) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.lines)
}

func ptr[T any](v T) *T { return &v }

func TestCameraWebControlSendsOneRequestPerSetting(t *testing.T) {
	cases := []struct {
		name          string
		statusFS      int // what /status says now
		width, height int // the stream's frames
		want          int // framesize value sent for SVGA
	}{
		{"current driver (arduino-esp32 3.x) at QVGA", 6, 320, 240, 11},
		{"legacy driver (arduino-esp32 2.0.x) at QVGA", 5, 320, 240, 9},
		{"legacy driver at VGA", 8, 640, 480, 9},
		{"no frame yet: the current numbering", 5, 0, 0, 11},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cam := newFakeCameraWebServer(t, tc.statusFS, true)
			c := &CameraWeb{URL: cam.URL + "/", Resolution: func() (int, int) { return tc.width, tc.height }, Log: quiet}
			ack, err := c.Control(context.Background(), control.Settings{
				FrameSize: ptr("SVGA"), Quality: ptr(12), Brightness: ptr(-2), Contrast: ptr(1),
				Saturation: ptr(0), VFlip: ptr(true), HMirror: ptr(false), LED: ptr(255),
			})
			if err != nil || !ack.OK {
				t.Fatalf("Control = %+v, %v", ack, err)
			}
			want := []string{
				"GET /status HTTP/1.1",
				fmt.Sprintf("GET /control?var=framesize&val=%d HTTP/1.1", tc.want),
				"GET /control?var=quality&val=12 HTTP/1.1",
				"GET /control?var=brightness&val=-2 HTTP/1.1",
				"GET /control?var=contrast&val=1 HTTP/1.1",
				"GET /control?var=saturation&val=0 HTTP/1.1",
				"GET /control?var=vflip&val=1 HTTP/1.1",
				"GET /control?var=hmirror&val=0 HTTP/1.1",
				"GET /control?var=led_intensity&val=255 HTTP/1.1",
			}
			if got := cam.requests(); !slices.Equal(got, want) {
				t.Errorf("the camera received\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			var applied map[string]any
			if err := json.Unmarshal(ack.Applied, &applied); err != nil || applied["framesize"] != "SVGA" || applied["led"] != float64(255) || applied["vflip"] != true || len(applied) != 8 {
				t.Errorf("applied %s, want all eight settings by the gateway's names", ack.Applied)
			}
		})
	}
}

func TestCameraWebControlWithoutFrameSizeOrLEDSkipsStatus(t *testing.T) {
	cam := newFakeCameraWebServer(t, 6, false)
	c := &CameraWeb{URL: cam.URL, Log: quiet}
	if _, err := c.Control(context.Background(), control.Settings{Quality: ptr(30)}); err != nil {
		t.Fatal(err)
	}
	if got, want := cam.requests(), []string{"GET /control?var=quality&val=30 HTTP/1.1"}; !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}

func TestCameraWebControlFailures(t *testing.T) {
	t.Run("the sensor refuses one setting", func(t *testing.T) {
		cam := newFakeCameraWebServer(t, 6, true)
		cam.fail = "vflip"
		_, err := (&CameraWeb{URL: cam.URL, Log: quiet}).Control(context.Background(),
			control.Settings{Quality: ptr(20), VFlip: ptr(true), HMirror: ptr(true)})
		var ke *control.KeyError
		if !errors.As(err, &ke) || ke.Key != "vflip" || ke.Timeout || string(ke.Applied) != `{"quality":20}` || !strings.Contains(err.Error(), "500") {
			t.Fatalf("err = %v (%+v), want vflip failed with 500 after quality applied", err, ke)
		}
		if got := cam.requests(); len(got) != 2 {
			t.Errorf("requests %q: the settings after the failure must not be sent", got)
		}
	})
	t.Run("a build without the LED illuminator", func(t *testing.T) {
		cam := newFakeCameraWebServer(t, 6, false)
		_, err := (&CameraWeb{URL: cam.URL, Log: quiet}).Control(context.Background(), control.Settings{LED: ptr(10)})
		var ke *control.KeyError
		if !errors.As(err, &ke) || ke.Key != "led" || !strings.Contains(err.Error(), "led_intensity") {
			t.Fatalf("err = %v, want led refused for want of led_intensity", err)
		}
	})
	t.Run("a frame size the legacy driver lacks", func(t *testing.T) {
		cam := newFakeCameraWebServer(t, 5, true)
		_, err := (&CameraWeb{URL: cam.URL, Resolution: func() (int, int) { return 320, 240 }, Log: quiet}).
			Control(context.Background(), control.Settings{FrameSize: ptr("5MP")})
		var ke *control.KeyError
		if !errors.As(err, &ke) || ke.Key != "framesize" {
			t.Fatalf("err = %v, want framesize refused", err)
		}
	})
	t.Run("the camera does not answer", func(t *testing.T) {
		cam := newFakeCameraWebServer(t, 6, true)
		cam.hang = "contrast"
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := (&CameraWeb{URL: cam.URL, Log: quiet}).Control(ctx, control.Settings{Brightness: ptr(1), Contrast: ptr(1)})
		var ke *control.KeyError
		if !errors.As(err, &ke) || ke.Key != "contrast" || !ke.Timeout || string(ke.Applied) != `{"brightness":1}` {
			t.Fatalf("err = %v (%+v), want contrast timed out after brightness applied", err, ke)
		}
	})
	t.Run("nothing listens", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = (&CameraWeb{URL: "http://" + addr + "/", Log: quiet}).Control(context.Background(), control.Settings{Quality: ptr(1)})
		if !errors.Is(err, control.ErrOffline) {
			t.Fatalf("err = %v, want ErrOffline", err)
		}
	})
}

func TestFrameSizeTables(t *testing.T) {
	// FIRMWARE.md §1.4, both columns.
	for _, tc := range []struct {
		name            string
		current, legacy int
	}{
		{"96X96", 0, 0}, {"QQVGA", 1, 1}, {"128X128", 2, -1}, {"QCIF", 3, 2}, {"HQVGA", 4, 3},
		{"240X240", 5, 4}, {"QVGA", 6, 5}, {"320X320", 7, -1}, {"CIF", 8, 6}, {"HVGA", 9, 7},
		{"VGA", 10, 8}, {"SVGA", 11, 9}, {"XGA", 12, 10}, {"HD", 13, 11}, {"SXGA", 14, 12},
		{"UXGA", 15, 13}, {"FHD", 16, 14}, {"P_HD", 17, 15}, {"P_3MP", 18, 16}, {"QXGA", 19, 17},
		{"QHD", 20, 18}, {"WQXGA", 21, 19}, {"P_FHD", 22, 20}, {"QSXGA", 23, 21}, {"5MP", 24, -1},
	} {
		for _, c := range []struct {
			table FrameSizeTable
			want  int
		}{{FrameSizesCurrent, tc.current}, {FrameSizesLegacy, tc.legacy}} {
			n, ok := c.table.Number(tc.name)
			if c.want < 0 {
				if ok {
					t.Errorf("%s has %s as %d, want absent", c.table, tc.name, n)
				}
				continue
			}
			if !ok || n != c.want || c.table.Name(n) != tc.name {
				t.Errorf("%s: %s = %d (%v), want %d", c.table, tc.name, n, ok, c.want)
			}
		}
	}
	if _, ok := detectTable(1, 160, 120); ok {
		t.Error("QQVGA (1 in both) told the numberings apart")
	}
}

func TestCameraWebControlURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://192.168.1.50:81/stream":       "http://192.168.1.50/",
		"http://user:pw@cam.local:81/stream":  "http://user:pw@cam.local/",
		"http://192.168.1.52/capture":         "http://192.168.1.52/",
		"http://[fe80::1]:81/stream":          "http://[fe80::1]/",
		"http://192.168.1.50:8080/stream":     "", // not the sketch's port
		"http://pi.local:8080/?action=stream": "", // mjpg-streamer
		"https://cam/stream":                  "",
		"http://192.168.1.50:81/":             "", // ESPHome
	} {
		if got := CameraWebControlURL(in); got != want {
			t.Errorf("CameraWebControlURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// connectOnce is a Runner that connects, delivers one frame and holds the
// link until ctx ends.
type connectOnce struct{ jpeg []byte }

func (c connectOnce) Run(ctx context.Context, sink Sink) error {
	sink.Connected()
	if err := Deliver(sink, c.jpeg, DefaultMaxFrame, time.Now(), time.Time{}); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

// TestCameraWebStatusAfterTheFirstFrame: once the stream delivers its
// first frame, the camera's /status is read and handed on as a status
// message in the gateway's names.
func TestCameraWebStatusAfterTheFirstFrame(t *testing.T) {
	cam := newFakeCameraWebServer(t, 6, true)
	web := &CameraWeb{URL: cam.URL, Resolution: func() (int, int) { return 320, 240 }, Log: quiet}
	sink := newLinkSink()
	runSource(t, &CameraWebStatus{Runner: connectOnce{testFrames(t, 1)[0]}, Web: web}, sink)
	sink.waitFor(t, 10*time.Second, "a status message", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return slices.Contains(sink.messages, "status")
	})
	msg, err := web.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(msg, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "status", "framesize": "QVGA", "quality": float64(10), "brightness": float64(0),
		"contrast": float64(0), "saturation": float64(0), "vflip": false, "hmirror": false, "led": float64(0)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("settings %v, want %v", got, want)
	}
	if n := len(cam.requests()); n != 2 { // one for the status message, one here
		t.Errorf("%d requests, want one /status per connect (plus this test's)", n)
	}
}
