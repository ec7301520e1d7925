package server

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/camrelay/camrelay/internal/auth"
	"github.com/camrelay/camrelay/internal/metrics"
)

// Endpoint kinds, as access sorts requests. Every path that is not open or
// guarded by its own credential is a viewer path: a route added later is
// protected by viewer auth unless it is listed here on purpose.
const (
	kindOpen    = iota // /healthz, /readyz, /metrics: for probes and scrapers
	kindOwnAuth        // ingest (uplink token), control (admin token)
	kindViewer         // the page, sockets, MJPEG, snapshots, the API
	kindMetrics        // /metrics: open, or its own token when one is set
)

// classify returns the kind of path and its auth_failures endpoint label.
func classify(path string) (kind int, endpoint string) {
	switch path {
	case "/healthz", "/readyz":
		return kindOpen, ""
	case "/metrics":
		return kindMetrics, "metrics"
	case "/api/cameras":
		return kindViewer, "api"
	case "/api/ws":
		return kindViewer, "ws"
	case "/api/stream.mjpeg":
		return kindViewer, "mjpeg"
	case "/api/frame.jpeg":
		return kindViewer, "snapshot"
	}
	if rest, ok := strings.CutPrefix(path, "/cam/"); ok {
		_, sub, _ := strings.Cut(rest, "/")
		switch sub {
		case "ingest":
			return kindOwnAuth, metrics.EndpointIngest
		case "control":
			return kindOwnAuth, "control"
		case "ws":
			return kindViewer, "ws"
		case "stream.mjpeg":
			return kindViewer, "mjpeg"
		case "snapshot.jpg":
			return kindViewer, "snapshot"
		}
	}
	return kindViewer, "page"
}

// routePath is the path as the router matches it: chi routes on the raw
// (escaped) path when there is one. Sorting on the decoded path instead
// would let /cam/x%2Fingest pass as the uplink (no viewer auth) while the
// router serves it as a camera page.
func routePath(r *http.Request) string {
	if r.URL.RawPath != "" {
		return r.URL.RawPath
	}
	return r.URL.Path
}

// clientSlot is a request's place under the per-address connection cap. A
// viewer that outlives its handler (detach) keeps it until it ends.
type clientSlot struct {
	release func()
	kept    atomic.Bool
}

type slotKey struct{}

// keepSlot hands the request's connection slot to a detached viewer: the
// returned func gives it back, and must be called once the viewer ends.
func (s *Server) keepSlot(r *http.Request) func() {
	sl, _ := r.Context().Value(slotKey{}).(*clientSlot)
	if sl == nil {
		return func() {}
	}
	sl.kept.Store(true)
	return sl.release
}

// access applies, before any route, the limits per client address and
// viewer auth: too many connections open from the address → 429; too many
// wrong credentials lately → 429 with Retry-After, before a credential is
// even looked at, so guessing gets no answers; then the viewer credential.
// The uplink and control check their own tokens; access only watches for
// their 401s to count them against the address.
func (s *Server) access(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, endpoint := classify(routePath(r))
		if kind == kindMetrics && !s.opts.MetricsToken.IsSet() {
			kind = kindOpen
		}
		if kind == kindOpen {
			next.ServeHTTP(w, r)
			return
		}
		addr := s.opts.TrustedProxies.ClientAddr(r)
		key := auth.LimitKey(addr)

		release, ok := func() {}, true
		if !loopback(addr) {
			release, ok = s.conns.Acquire(key)
		}
		if !ok {
			s.refuse(w, metrics.LimitConnsPerClient, time.Second, fmt.Sprintf(
				"camrelay: too many connections from your address (limit %d, limits.max_conns_per_client); close some and retry", s.opts.MaxConnsPerClient))
			s.log.Debug("client refused: too many connections", "remote", addr)
			return
		}
		sl := &clientSlot{release: release}
		defer func() {
			if !sl.kept.Load() {
				release()
			}
		}()
		r = r.WithContext(context.WithValue(r.Context(), slotKey{}, sl))

		needsAuth := kind == kindOwnAuth || kind == kindMetrics || s.opts.Viewers.Enabled()
		if needsAuth {
			if retry, blocked := s.guard.Blocked(key); blocked {
				s.refuse(w, metrics.LimitAuthFailures, retry,
					"camrelay: too many failed sign-ins from your address; retry later")
				return
			}
		}
		if kind == kindOwnAuth {
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status == http.StatusUnauthorized {
				s.authFailed(key, addr, endpoint, false)
			}
			return
		}
		if kind == kindMetrics {
			if tok, ok := auth.Bearer(r.Header); ok && s.opts.MetricsToken.Match(tok) {
				next.ServeHTTP(w, r)
				return
			}
			s.authFailed(key, addr, endpoint, true)
			w.Header().Set("WWW-Authenticate", `Bearer realm="camrelay metrics"`)
			http.Error(w, "camrelay: /metrics needs the metrics token (Authorization: Bearer TOKEN)", http.StatusUnauthorized)
			return
		}
		if !s.opts.Viewers.Enabled() {
			next.ServeHTTP(w, r)
			return
		}
		switch res, via := s.opts.Viewers.Check(r); res {
		case auth.OK:
			if via == "query" && endpoint == "page" {
				// The page's scripts, styles and sockets then come with the
				// cookie; SameSite=Strict keeps other sites' pages from
				// sending it, HttpOnly keeps scripts from reading it, and
				// Secure keeps an HTTPS page's cookie off plain HTTP.
				tok := r.URL.Query().Get("token")
				http.SetCookie(w, &http.Cookie{Name: auth.CookieName, Value: tok, Path: "/",
					HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.opts.TrustedProxies.HTTPS(r)})
			}
			next.ServeHTTP(w, r)
		case auth.Missing:
			s.challenge(w, "camrelay: sign in to watch (a viewer's user and password, or the viewer token as Authorization: Bearer or ?token=)")
		default:
			s.authFailed(key, addr, endpoint, true)
			s.challenge(w, "camrelay: wrong viewer credential")
		}
	})
}

// authFailed counts a wrong credential against the address, and logs once
// when the address becomes blocked (not per failure: a guessing client
// would fill the log). The ingest endpoint counts its own metric.
func (s *Server) authFailed(key, addr, endpoint string, count bool) {
	if count && s.m != nil {
		s.m.AuthFailures.WithLabelValues(endpoint).Inc()
	}
	s.guard.Failed(key)
	// The address was not blocked when its request came in, so blocked now
	// means this failure was the one too many.
	if retry, blocked := s.guard.Blocked(key); blocked {
		s.log.Warn("client address refused after repeated wrong credentials", "remote", addr, "endpoint", endpoint, "retry_after", retry.Round(time.Second))
		return
	}
	s.log.Debug("wrong credential", "remote", addr, "endpoint", endpoint)
}

// challenge answers 401 so that browsers and VLC ask for a user and
// password (Basic) when there are users, or name the bearer scheme.
func (s *Server) challenge(w http.ResponseWriter, msg string) {
	if s.opts.Viewers.HasUsers() {
		w.Header().Add("WWW-Authenticate", `Basic realm="camrelay", charset="UTF-8"`)
	}
	w.Header().Add("WWW-Authenticate", `Bearer realm="camrelay"`)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, msg, http.StatusUnauthorized)
}

// refuse answers 429 for a per-address limit and counts it.
func (s *Server) refuse(w http.ResponseWriter, limit string, retry time.Duration, msg string) {
	if s.m != nil {
		s.m.LimitHits.WithLabelValues(limit).Inc()
	}
	secs := max(1, int(math.Ceil(retry.Seconds())))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	http.Error(w, msg, http.StatusTooManyRequests)
}

// statusWriter notes the status a handler answers. Unwrap lets
// http.ResponseController reach the real writer, so the uplink can still
// hijack its connection.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// loopback reports whether addr is this machine. Its connections are not
// capped: they are the operator's own tools (camrelay-bench opens thousands
// of viewers), or a reverse proxy on the same host whose trusted_proxies is
// not set, where a cap would count every client of the proxy as one.
func loopback(addr string) bool {
	a, err := netip.ParseAddr(addr)
	return err == nil && a.IsLoopback()
}
