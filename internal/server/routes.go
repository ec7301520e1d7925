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

	r.Get("/", s.page("index.html"))
	r.Handle("/static/*", http.StripPrefix("/static/", web.Static()))
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	if s.opts.MetricsHandler != nil {
		r.Method(http.MethodGet, "/metrics", s.opts.MetricsHandler)
	}

	r.Route("/cam/{id}", func(r chi.Router) {
		r.Get("/", s.withCamera(s.cameraPage))
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
