package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/camrelay/camrelay/web"
)

// routes lists every endpoint on one screen.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)

	r.With(pageHeaders).Get("/", s.page("index.html"))
	r.With(pageHeaders).Handle("/static/*", http.StripPrefix("/static/", web.Static()))
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	if s.opts.MetricsHandler != nil {
		r.Method(http.MethodGet, "/metrics", s.opts.MetricsHandler)
	}

	r.Route("/cam/{id}", func(r chi.Router) {
		r.With(pageHeaders).Get("/", s.withCamera(s.cameraPage))
		r.Get("/ws", s.withCamera(s.serveWS))
		r.Get("/stream.mjpeg", s.withCamera(s.serveMJPEG))
		r.Get("/snapshot.jpg", s.withCamera(s.serveSnapshot))
		r.Get("/ingest", s.withCamera(s.serveIngest))
		r.Post("/control", s.withCamera(s.serveControl))
	})

	r.Get("/api/cameras", s.apiCameras)
	// go2rtc-compatible aliases: tools written for go2rtc name the camera
	// in ?src= and open these paths unchanged.
	r.Get("/api/stream.mjpeg", s.withSrc(s.serveMJPEG))
	r.Get("/api/frame.jpeg", s.withSrc(s.serveSnapshot))
	r.Get("/api/ws", s.withSrc(s.serveGo2rtcWS))
	return r
}

// pageCSP allows the page only its own scripts and styles (no inline code),
// images from blobs (decoded frames, snapshots) and WebSockets to itself.
const pageCSP = "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; " +
	"style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// pageHeaders are the security headers of the page and its files.
func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}
