package source

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// captureHandler answers like CameraWebServer's /capture: one JPEG with
// Content-Disposition and an X-Timestamp since boot. Each request takes
// delay, and inFlight records the most requests seen at once.
func captureHandler(frames [][]byte, delay time.Duration, inFlight, most *atomic.Int32) http.HandlerFunc {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		now := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if now <= m || most.CompareAndSwap(m, now) {
				break
			}
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		j := frames[int(n.Add(1)-1)%len(frames)]
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Disposition", "inline; filename=capture.jpg")
		w.Header().Set("X-Timestamp", "3600.250000")
		w.Header().Set("Content-Length", fmt.Sprint(len(j)))
		w.Write(j)
	}
}

func TestJPEGPoll(t *testing.T) {
	frames := testFrames(t, 4)
	var inFlight, most atomic.Int32
	// Each request is slower than the interval: polls must not overlap.
	srv := httptest.NewServer(captureHandler(frames, 30*time.Millisecond, &inFlight, &most))
	t.Cleanup(srv.Close)
	sink := newLinkSink()
	start := time.Now()
	runSource(t, &JPEG{URL: srv.URL + "/capture", Interval: 10 * time.Millisecond, Log: quiet}, sink)
	got := sink.waitFrames(t, 8)
	checkFrames(t, got[:4], frames)
	if m := most.Load(); m != 1 {
		t.Errorf("%d requests at once, want 1", m)
	}
	if d := time.Since(start); d < 8*30*time.Millisecond {
		t.Errorf("8 frames of 30 ms requests in %v: requests overlapped", d)
	}
	for i, f := range got {
		if !f.Captured.IsZero() {
			t.Errorf("frame %d: Captured %v from a since-boot X-Timestamp", i, f.Captured)
		}
	}
	if _, _, c := sink.snapshot(); c != 1 {
		t.Errorf("Connected %d times, want 1", c)
	}
}

func TestJPEGInterval(t *testing.T) {
	frames := testFrames(t, 1)
	var inFlight, most atomic.Int32
	srv := httptest.NewServer(captureHandler(frames, 0, &inFlight, &most))
	t.Cleanup(srv.Close)
	sink := newLinkSink()
	start := time.Now()
	runSource(t, &JPEG{URL: srv.URL + "/capture", Interval: 100 * time.Millisecond, Log: quiet}, sink)
	sink.waitFrames(t, 4)
	// The first poll is at once, then one per interval.
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("4 polls in %v with a 100 ms interval", d)
	}
}

func TestJPEGFailures(t *testing.T) {
	j := testFrames(t, 1)[0]
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"server error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "camera capture failed", http.StatusInternalServerError)
		}, "500"},
		{"not found", func(w http.ResponseWriter, r *http.Request) {
			http.NotFound(w, r)
		}, "check the path"},
		{"not a JPEG", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>login</html>")
		}, "not a good JPEG"},
		{"upstream dies mid-picture", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/jpeg")
			w.Header().Set("Content-Length", fmt.Sprint(len(j)))
			w.Write(j[:len(j)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // close the connection mid-body
		}, "unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				tc.handler(w, r)
			}))
			t.Cleanup(srv.Close)
			sink := newLinkSink()
			_, run := runSource(t, &JPEG{URL: srv.URL + "/capture", Interval: 5 * time.Millisecond, Log: quiet}, sink)
			err := run.result(t, 10*time.Second)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error with %q", err, tc.want)
			}
			if n := requests.Load(); n != jpegMaxFailures {
				t.Errorf("%d requests, want %d", n, jpegMaxFailures)
			}
			if got, _, _ := sink.snapshot(); len(got) != 0 {
				t.Errorf("%d frames delivered", len(got))
			}
		})
	}
}

func TestJPEGTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newRawServer(t, func(c net.Conn) {
		readRequest(c)
		<-release // accepts, reads the request, never answers
	})
	defer close(release)
	sink := newLinkSink()
	start := time.Now()
	_, run := runSource(t, &JPEG{URL: "http://" + srv.Addr() + "/capture", Interval: time.Millisecond,
		Timeout: 100 * time.Millisecond, Log: quiet}, sink)
	err := run.result(t, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("Run = %v, want timeouts", err)
	}
	if d := time.Since(start); d < jpegMaxFailures*100*time.Millisecond {
		t.Errorf("Run returned after %v, before %d timeouts", d, jpegMaxFailures)
	}
}

func TestJPEGStreamURL(t *testing.T) {
	srv := httptest.NewServer(cameraWebServer(testFrames(t, 1)))
	t.Cleanup(srv.Close)
	err := (&JPEG{URL: srv.URL + "/stream", Log: quiet}).Run(context.Background(), newLinkSink())
	if err == nil || !strings.Contains(err.Error(), "source: mjpeg") {
		t.Fatalf("Run = %v, want advice to use source: mjpeg", err)
	}
}

func TestJPEGTooLarge(t *testing.T) {
	frames := testFrames(t, 1)
	var inFlight, most atomic.Int32
	srv := httptest.NewServer(captureHandler(frames, 0, &inFlight, &most))
	t.Cleanup(srv.Close)
	sink := newLinkSink()
	err := (&JPEG{URL: srv.URL, Interval: time.Millisecond, MaxFrame: int64(len(frames[0]) - 1), Log: quiet}).Run(context.Background(), sink)
	if err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Fatalf("Run = %v, want too large", err)
	}
	if n := sink.dropped("too_large"); n != jpegMaxFailures {
		t.Errorf("too_large counted %d times, want %d", n, jpegMaxFailures)
	}
}

func TestJPEGSupervisorOfflineOnline(t *testing.T) {
	frames := testFrames(t, 1)
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "camera rebooting", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(frames[0])
	}))
	t.Cleanup(srv.Close)
	testSupervised(t, &JPEG{URL: srv.URL + "/capture", Interval: 20 * time.Millisecond, Log: quiet}, &down)
}
