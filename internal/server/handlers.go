package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/camrelay/camrelay/internal/frame"
	"github.com/camrelay/camrelay/internal/metrics"
	"github.com/camrelay/camrelay/web"
)

type cameraHandler func(w http.ResponseWriter, r *http.Request, cam *camera)

// withCamera resolves {id} in the path.
func (s *Server) withCamera(h cameraHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.withID(w, r, chi.URLParam(r, "id"), h)
	}
}

// withSrc resolves ?src= (go2rtc's name for the stream).
func (s *Server) withSrc(h cameraHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		src := r.URL.Query().Get("src")
		if src == "" {
			http.Error(w, "camrelay: missing ?src=CAMERA_ID", http.StatusBadRequest)
			return
		}
		s.withID(w, r, src, h)
	}
}

func (s *Server) withID(w http.ResponseWriter, r *http.Request, id string, h cameraHandler) {
	s.camMu.RLock()
	cam, ok := s.cams[id]
	s.camMu.RUnlock()
	if !ok {
		order := s.cameras()
		known := make([]string, 0, len(order))
		for _, c := range order {
			known = append(known, c.ID)
		}
		http.Error(w, fmt.Sprintf("camrelay: no camera %q (cameras: %s)", id, strings.Join(known, ", ")), http.StatusNotFound)
		return
	}
	h(w, r, cam)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !s.opts.Ready() {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// page serves one of the embedded pages.
func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := web.Page(name)
		if err != nil {
			http.Error(w, "camrelay: page missing from the build", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}

func (s *Server) cameraPage(w http.ResponseWriter, r *http.Request, _ *camera) {
	s.page("camera.html")(w, r)
}

func (s *Server) serveIngest(w http.ResponseWriter, r *http.Request, cam *camera) {
	if cam.Ingest == nil {
		http.Error(w, fmt.Sprintf("camrelay: camera %q takes no uplink (its source is %s, not push)", cam.ID, cam.Source), http.StatusNotFound)
		return
	}
	s.active.Add(1)
	defer s.active.Done()
	cam.Ingest.ServeHTTP(w, r)
}

// serveSnapshot answers the newest frame. It keeps working while the camera
// is offline, from the last frame it sent.
func (s *Server) serveSnapshot(w http.ResponseWriter, r *http.Request, cam *camera) {
	f := cam.Hub.Latest()
	if cam.Fetch != nil {
		if g := cam.Fetch(r.Context()); g != nil {
			f = g
		}
	}
	if f == nil {
		w.Header().Set("Retry-After", "1")
		http.Error(w, fmt.Sprintf("camrelay: camera %q has not sent a frame yet", cam.ID), http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Length", strconv.Itoa(len(f.Data)))
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s-%s.jpg"`, cam.ID, f.Received.UTC().Format("20060102-150405.000")))
	h.Set("X-Timestamp", timestamp(f.Received))
	h.Set("X-Frame-Seq", strconv.FormatUint(f.Seq, 10))
	h.Set("Last-Modified", f.Received.UTC().Format(http.TimeFormat))
	if r.Method == http.MethodHead {
		return
	}
	if _, err := w.Write(f.Data); err == nil && s.m != nil {
		s.m.FramesSent.WithLabelValues(cam.ID, metrics.TransportSnapshot).Inc()
		s.m.BytesOut.WithLabelValues(cam.ID, metrics.TransportSnapshot).Add(float64(len(f.Data)))
	}
}

// timestamp formats t as seconds.microseconds since the epoch, the style of
// the X-Timestamp header that CameraWebServer and µStreamer send.
func timestamp(t time.Time) string {
	us := t.UnixMicro()
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

// cameraStatus is one entry of /api/cameras.
type cameraStatus struct {
	ID           string                     `json:"id"`
	Name         string                     `json:"name"`
	Source       string                     `json:"source"`
	Online       bool                       `json:"online"`
	Since        time.Time                  `json:"since"`
	FPSIn        float64                    `json:"fps_in"`
	Viewers      map[string]int             `json:"viewers"`
	LastFrameAge *float64                   `json:"last_frame_age_seconds"`
	Width        int                        `json:"width,omitempty"`
	Height       int                        `json:"height,omitempty"`
	FrameBytes   int                        `json:"frame_bytes,omitempty"`
	Frames       uint64                     `json:"frames"`
	BytesIn      uint64                     `json:"bytes_in"`
	Hello        json.RawMessage            `json:"hello,omitempty"`
	Status       json.RawMessage            `json:"status,omitempty"`
	Settings     map[string]json.RawMessage `json:"settings,omitempty"`
	SnapshotURL  string                     `json:"snapshot_url"`
	MJPEGURL     string                     `json:"mjpeg_url"`
	WebSocketURL string                     `json:"ws_url"`
	// Gateway holds the camera's link in a cluster; Remote says it is
	// another gateway than this one. Both are absent outside a cluster.
	Gateway string `json:"gateway,omitempty"`
	Remote  bool   `json:"remote,omitempty"`
}

func (s *Server) status(cam *camera, now time.Time) cameraStatus {
	info := cam.Hub.Info()
	st := cameraStatus{
		ID: cam.ID, Name: cam.Name, Source: cam.Source,
		Online: info.Online, Since: info.Since.UTC(),
		Viewers: map[string]int{},
		Frames:  info.Seq, BytesIn: info.Bytes,
		Hello: info.Hello, Status: info.Status, Settings: cam.settings.snapshot(),
		SnapshotURL:  "/cam/" + cam.ID + "/snapshot.jpg",
		MJPEGURL:     "/cam/" + cam.ID + "/stream.mjpeg",
		WebSocketURL: "/cam/" + cam.ID + "/ws",
	}
	for i, t := range transports {
		st.Viewers[t] = int(cam.viewers[i].Load())
	}
	if cam.Owner != nil {
		st.Gateway, st.Remote = cam.Owner()
		// The hub here is fed only while someone watches here; the owner's
		// live directory entry says the camera delivers.
		st.Online = st.Online || st.Remote
	}
	recent := cam.Hub.Recent()
	if n := len(recent); n > 0 {
		last := recent[n-1]
		age := now.Sub(last.Received).Seconds()
		st.LastFrameAge = &age
		st.Width, st.Height, st.FrameBytes = last.Width, last.Height, len(last.Data)
		st.FPSIn = rate(recent, now)
	}
	return st
}

// rate is the frame rate over the ring's frames of the last two seconds:
// derived from the frames the hub keeps anyway, so no per-frame bookkeeping.
func rate(recent []*frame.Frame, now time.Time) float64 {
	const window = 2 * time.Second
	first := len(recent) - 1
	for first > 0 && now.Sub(recent[first-1].Received) <= window {
		first--
	}
	last := recent[len(recent)-1]
	span := last.Received.Sub(recent[first].Received)
	if now.Sub(last.Received) > window || span <= 0 {
		return 0
	}
	fps := float64(len(recent)-1-first) / span.Seconds()
	return float64(int(fps*10+0.5)) / 10
}

func (s *Server) apiCameras(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	order := s.cameras()
	out := make([]cameraStatus, 0, len(order))
	for _, cam := range order {
		out = append(out, s.status(cam, now))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}
