// Package server is the gateway's HTTP surface: the page, the viewer
// WebSocket, MJPEG and snapshots, the camera list, the camera uplinks,
// metrics and health. New returns one http.Handler for all of it.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camrelay/camrelay/internal/auth"
	"github.com/camrelay/camrelay/internal/frame"
	"github.com/camrelay/camrelay/internal/hub"
	"github.com/camrelay/camrelay/internal/metrics"
)

// Camera is one camera as the server sees it.
type Camera struct {
	ID, Name string
	// Source is the kind of link ("push", "demo", ...), shown in the API.
	Source string
	Hub    *hub.Hub
	// Ingest serves /cam/{id}/ingest for a push camera; nil otherwise.
	Ingest http.Handler
	// Control carries settings to the camera; nil if its link cannot.
	Control Controller
	// Owner names the gateway of a cluster that holds the camera's link
	// and whether that is another gateway; nil outside a cluster.
	Owner func() (gateway string, remote bool)
	// Fetch gets the newest frame from the gateway that holds the camera,
	// for a snapshot while this gateway's hub is not fed; it returns nil
	// when the hub is current. Nil outside a cluster.
	Fetch func(ctx context.Context) *frame.Frame
}

// Options configure the server. Zero values mean the defaults stated.
type Options struct {
	Cameras []Camera
	Metrics *metrics.Metrics
	// MetricsHandler serves /metrics; nil means 404.
	MetricsHandler http.Handler
	Log            *slog.Logger
	// WriteTimeout disconnects a viewer whose write (or wait for its
	// socket to drain) stalls this long. Zero means 10 s.
	WriteTimeout time.Duration
	// AllowedOrigins are extra Origin patterns for browser WebSockets,
	// beyond the same host (coder/websocket OriginPatterns syntax).
	AllowedOrigins []string
	// MaxViewersPerCamera and MaxViewers cap viewers. Zero means 1000 and
	// 5000.
	MaxViewersPerCamera, MaxViewers int
	// Ready reports readiness for /readyz; nil means always ready.
	Ready func() bool
	// Version is shown in the hello message and the API.
	Version string
	// AdminToken authorises control; empty disables control.
	AdminToken string
	// MaxViewerMessage is the largest text message a viewer may send, in
	// bytes; a larger one closes the viewer with 1009 (message too big).
	// Zero means DefaultMaxViewerMessage.
	MaxViewerMessage int64
	// AdminTokenHash is AdminToken as "sha256:<hex>", used when AdminToken
	// is empty.
	AdminTokenHash string
	// Viewers, when enabled, asks for a credential on every path but
	// /healthz, /readyz, /metrics and the uplink and control endpoints
	// (which have their own tokens). Nil leaves viewing open.
	Viewers *auth.Viewers
	// MetricsToken, when set, is required as "Authorization: Bearer" on
	// /metrics. The zero Token leaves /metrics open.
	MetricsToken auth.Token
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client for the per-address limits. Zero trusts none.
	TrustedProxies auth.Proxies
	// MaxConnsPerClient caps requests and connections open at once from one
	// client address. Zero means 64; negative means no cap.
	MaxConnsPerClient int
	// MaxAuthFailures and AuthFailureForgive: an address that sent
	// MaxAuthFailures wrong credentials gets 429 until one is forgiven, one
	// every AuthFailureForgive. Zero means 10 and 10 s.
	MaxAuthFailures    int
	AuthFailureForgive time.Duration
}

// DefaultMaxViewerMessage bounds a message from a viewer: viewers send
// small JSON (clock pings, go2rtc's mode request, a control command of a
// few hundred bytes), never frames.
const DefaultMaxViewerMessage = 4 << 10

// Server serves the gateway's HTTP surface. Its viewer handlers run as long
// as their connections; Wait returns when all of them have ended.
type Server struct {
	opts    Options
	log     *slog.Logger
	camMu   sync.RWMutex // guards cams and order, which AddCamera extends
	cams    map[string]*camera
	order   []*camera
	m       *metrics.Metrics
	handler http.Handler
	viewers atomic.Int64
	active  sync.WaitGroup
	slow    slowLog

	admin auth.Token
	guard *auth.Guard
	conns *auth.Conns

	// base is the lifetime of the viewers: a viewer outlives the HTTP
	// handler that accepted it (see detach) and ends when Close cancels
	// base. It is the server's own, not a request's.
	base       context.Context
	cancelBase context.CancelFunc
}

// camera is the server's state for one camera.
type camera struct {
	Camera
	viewers  [2]atomic.Int64 // by transport: ws, mjpeg
	perT     [2]transportMetrics
	settings settingsState
	lane     *lane // the direct fan-out to viewers that keep up
}

// New returns the server for cams.
func New(opts Options) *Server {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.MaxViewersPerCamera <= 0 {
		opts.MaxViewersPerCamera = 1000
	}
	if opts.MaxViewers <= 0 {
		opts.MaxViewers = 5000
	}
	if opts.MaxViewerMessage <= 0 {
		opts.MaxViewerMessage = DefaultMaxViewerMessage
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Ready == nil {
		opts.Ready = func() bool { return true }
	}
	s := &Server{opts: opts, log: opts.Log, cams: map[string]*camera{}, m: opts.Metrics}
	s.slow.log = opts.Log
	s.admin = auth.NewToken(opts.AdminToken)
	if opts.AdminToken == "" && opts.AdminTokenHash != "" {
		if t, err := auth.ParseTokenHash(opts.AdminTokenHash); err != nil {
			s.log.Error("control stays off: admin token hash unreadable", "err", err)
		} else {
			s.admin = t
		}
	}
	if opts.MaxConnsPerClient == 0 {
		s.opts.MaxConnsPerClient = 64
	}
	s.conns = auth.NewConns(s.opts.MaxConnsPerClient)
	s.guard = auth.NewGuard(auth.GuardOptions{MaxFailures: opts.MaxAuthFailures, Forgive: opts.AuthFailureForgive})
	for _, c := range opts.Cameras {
		s.AddCamera(c)
	}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.handler = s.access(s.routes())
	return s
}

// AddCamera serves one more camera, such as one that another gateway of a
// cluster holds. A camera whose id is already served is left as it is.
func (s *Server) AddCamera(c Camera) {
	s.camMu.Lock()
	defer s.camMu.Unlock()
	if _, ok := s.cams[c.ID]; ok {
		return
	}
	cam := &camera{Camera: c}
	for i, t := range transports {
		cam.perT[i] = newTransportMetrics(s.m, c.ID, t)
	}
	cam.lane = newLane(s, cam)
	s.cams[c.ID] = cam
	s.order = append(s.order, cam)
}

// cameras returns the served cameras in order.
func (s *Server) cameras() []*camera {
	s.camMu.RLock()
	defer s.camMu.RUnlock()
	return s.order
}

// Close ends every viewer: WebSocket viewers get 1001 (going away), MJPEG
// viewers the closing boundary. Wait then waits for them.
func (s *Server) Close() { s.cancelBase() }

// detach runs a viewer in a goroutine that the Server owns, so that the HTTP
// handler that accepted it can return. A viewer lives for hours; keeping
// net/http's goroutine, its deep stack and its request buffers alive that
// long costs about 25 KiB per viewer, more than the viewer itself. The
// goroutine is counted in active (Wait waits for it) and stops when Close
// cancels base.
func (s *Server) detach(viewer func()) {
	s.active.Add(1)
	go func() {
		defer s.active.Done()
		viewer()
	}()
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Wait blocks until every long-lived viewer and uplink handler has returned.
// Hijacked connections are not tracked by http.Server.Shutdown, so the
// caller cancels their base context and then waits here.
func (s *Server) Wait() { s.active.Wait() }
