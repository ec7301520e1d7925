package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/camrelay/camrelay/internal/certs"
	"github.com/camrelay/camrelay/internal/cluster"
	"github.com/camrelay/camrelay/internal/config"
	"github.com/camrelay/camrelay/internal/hub"
	"github.com/camrelay/camrelay/internal/metrics"
	"github.com/camrelay/camrelay/internal/server"
	"github.com/camrelay/camrelay/internal/source"
)

// shutdownGrace bounds the whole shutdown: viewers get a close frame,
// MJPEG bodies their closing boundary, and the process exits within it.
const shutdownGrace = 4 * time.Second

// run is the whole program; main only calls it, so tests can too.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdout, stderr, nil)
}

// runWith is run with a hook that learns the listening address (tests listen
// on 127.0.0.1:0).
func runWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, listening func(net.Addr)) error {
	if len(args) > 2 && args[1] == "camera" && args[2] == "add" {
		return cameraAdd(args[3:], getenv, stdout, stderr)
	}
	if len(args) > 1 && args[1] == "hash" {
		return hashCmd(args[2:], os.Stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		configPath  = fs.String("config", "", "YAML config `file` (env CAMRELAY_CONFIG)")
		listen      = fs.String("listen", "", "listen `address`, default :8080 (env CAMRELAY_LISTEN)")
		demo        = fs.Bool("demo", false, "add the built-in demo camera; alone, run with just it (env CAMRELAY_DEMO=1)")
		logFormat   = fs.String("log-format", "", "log format: text or json (env CAMRELAY_LOG_FORMAT)")
		logLevel    = fs.String("log-level", "", "log level: debug, info, warn, error (env CAMRELAY_LOG_LEVEL)")
		showVersion = fs.Bool("version", false, "print the version and exit")
		tlsCert     = fs.String("tls-cert", "", "serve HTTPS with this PEM certificate `file` (with --tls-key; reloaded on SIGHUP; env CAMRELAY_TLS_CERT)")
		tlsKey      = fs.String("tls-key", "", "PEM private key `file` of --tls-cert (env CAMRELAY_TLS_KEY)")
		healthcheck = fs.Bool("healthcheck", false, "GET /healthz of the gateway on this machine (port of --listen or CAMRELAY_LISTEN, default 8080) and exit 0 if it answers 200, else 1; for a container HEALTHCHECK")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: camrelay [--config FILE] [--demo] [--listen ADDR] [--tls-cert FILE --tls-key FILE]\n       camrelay camera add ID [flags]\n       camrelay hash password|token [--new]\n\n"+
			"camrelay relays JPEG frames from camera boards to any number of viewers.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *healthcheck {
		addr := *listen
		if addr == "" {
			addr = getenv("CAMRELAY_LISTEN")
		}
		if *tlsCert != "" || getenv("CAMRELAY_TLS_CERT") != "" {
			return checkHealthTLS(ctx, addr)
		}
		return checkHealth(ctx, addr)
	}
	v, c, d := buildInfo()
	if *showVersion {
		fmt.Fprintf(stdout, "camrelay %s (commit %s, built %s)\n", v, c, d)
		return nil
	}

	cfg, err := loadConfig(*configPath, *demo, getenv)
	if err != nil {
		return err
	}
	// Precedence: flag > environment > file > default.
	override(&cfg.Listen, *listen, getenv("CAMRELAY_LISTEN"))
	override(&cfg.LogFormat, *logFormat, getenv("CAMRELAY_LOG_FORMAT"))
	override(&cfg.LogLevel, *logLevel, getenv("CAMRELAY_LOG_LEVEL"))
	override(&cfg.AdminToken, "", getenv("CAMRELAY_ADMIN_TOKEN"))
	override(&cfg.Viewers.Token, "", getenv("CAMRELAY_VIEWER_TOKEN"))
	override(&cfg.MetricsToken, "", getenv("CAMRELAY_METRICS_TOKEN"))
	override(&cfg.TLSCert, *tlsCert, getenv("CAMRELAY_TLS_CERT"))
	override(&cfg.TLSKey, *tlsKey, getenv("CAMRELAY_TLS_KEY"))
	if err := cfg.Validate(); err != nil {
		return err
	}
	if len(cfg.Cameras) == 0 {
		return errors.New("no cameras configured: pass --config FILE with a cameras list, or --demo for the built-in demo camera")
	}
	log, err := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, log, metrics.Build{Version: v, Commit: c, Date: d}, getenv("CAMRELAY_PPROF"), listening)
}

// loadConfig reads the file named by the flag or CAMRELAY_CONFIG, or starts
// from the defaults; --demo (or CAMRELAY_DEMO) adds the demo camera.
func loadConfig(path string, demo bool, getenv func(string) string) (*config.Config, error) {
	if path == "" {
		path = getenv("CAMRELAY_CONFIG")
	}
	if !demo {
		switch strings.ToLower(getenv("CAMRELAY_DEMO")) {
		case "1", "true", "yes":
			demo = true
		}
	}
	cfg := config.Default()
	if path != "" {
		var err error
		if cfg, err = config.Load(path, getenv); err != nil {
			return nil, err
		}
	}
	if demo {
		d := config.Demo().Cameras[0]
		if _, taken := cfg.Camera(d.ID); !taken {
			d.OfflineAfter, d.MaxFrameBytes = cfg.Limits.OfflineAfter, cfg.Limits.MaxFrameBytes
			cfg.Cameras = append(cfg.Cameras, d)
		}
	}
	return cfg, nil
}

func override(dst *string, flagValue, envValue string) {
	switch {
	case flagValue != "":
		*dst = flagValue
	case envValue != "":
		*dst = envValue
	}
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: use text or json", format)
}

// serve builds the gateway from cfg and runs it until ctx ends.
// pprofAddr, when set (CAMRELAY_PPROF=127.0.0.1:6060), serves Go's profiler
// on its own listener, never on the public one.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, build metrics.Build, pprofAddr string, listening func(net.Addr)) error {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, build)

	var node *cluster.Node
	var srv *server.Server
	if cfg.Cluster != nil {
		var err error
		node, err = joinCluster(ctx, cfg, reg, log, func() *server.Server { return srv })
		if err != nil {
			return err
		}
		defer node.Close() // if the gateway fails to start; Run closes it otherwise
	}

	var cams []server.Camera
	var sups []*source.Supervisor
	var hubs []*hub.Hub
	var demands []func(context.Context) error
	for _, cc := range cfg.Cameras {
		clog := log.With("camera", cc.ID, "source", cc.Source)
		fresh := cfg.Limits.FreshFor
		if fresh == 0 {
			fresh = -1 // the file's 0 means "always wait"
		}
		h := hub.New(cc.ID, &hub.Options{Ring: cfg.Limits.Ring, FreshFor: fresh})
		m.Camera(cc.ID)
		m.LastFrameAge(cc.ID, func() float64 {
			if f := h.Latest(); f != nil {
				return time.Since(f.Received).Seconds()
			}
			return math.NaN() // no frame yet: no series
		})
		sink := newSink(h, m, cc.ID, clog)
		cam := server.Camera{ID: cc.ID, Name: cc.Name, Source: cc.Source, Hub: h}
		var runner source.Runner
		var steer interface {
			server.Controller
			source.Demander
		}
		switch cc.Source {
		case config.SourceDemo:
			runner = &source.Demo{Width: cc.Width, Height: cc.Height, FPS: cc.FPS, MaxFrame: cc.MaxFrameBytes}
		case config.SourceMJPEG:
			runner = &source.MJPEG{URL: cc.URL, MaxFrame: cc.MaxFrameBytes, ReadTimeout: cfg.Limits.ReadTimeout, Log: clog}
			if cw := cameraWeb(cc, h, clog); cw != nil {
				runner, cam.Control = &source.CameraWebStatus{Runner: runner, Web: cw}, cw
			}
		case config.SourceJPEG:
			runner = &source.JPEG{URL: cc.URL, Interval: cc.Interval, MaxFrame: cc.MaxFrameBytes, Timeout: cfg.Limits.ReadTimeout, Log: clog}
			if cw := cameraWeb(cc, h, clog); cw != nil {
				runner, cam.Control = &source.CameraWebStatus{Runner: runner, Web: cw}, cw
			}
		case config.SourceWSPull:
			wp := &source.WSPull{URL: cc.URL, MaxFrame: cc.MaxFrameBytes, ReadTimeout: cfg.Limits.ReadTimeout, Log: clog}
			runner, cam.Control = wp, wp
		case config.SourceSerial:
			serial := &source.Serial{Device: cc.Device, Baud: cc.Baud, MaxFrame: cc.MaxFrameBytes, Log: clog}
			runner, steer = serial, serial
		case config.SourcePush:
		default:
			return fmt.Errorf("camera %q: unknown source %q", cc.ID, cc.Source)
		}
		var srcSink source.Sink = sink
		var audience source.Audience = h
		var member *cluster.Local
		if node != nil {
			member = node.Local(cluster.LocalOptions{ID: cc.ID, Name: cc.Name, Source: cc.Source, Hub: h, Sink: sink})
			srcSink, audience, cam.Owner, cam.Fetch = member.Sink(), member.Audience(), member.Owner, member.Fetch
		}
		// Over limits.max_fps_in, frames are dropped as "rate" before they
		// reach the hub or the cluster; the link stays up.
		sup := source.NewSupervisor(runner, source.LimitRate(srcSink, cfg.Limits.MaxFPSIn), cc.OfflineAfter, clog)
		if cc.Source == config.SourcePush {
			push, err := source.NewPush(source.PushOptions{
				Camera: cc.ID, Token: cc.Token, TokenHash: cc.TokenHash, Insecure: cc.Insecure, MaxFrame: cc.MaxFrameBytes,
				AuthFailed: func() { m.AuthFailures.WithLabelValues(metrics.EndpointIngest).Inc() },
				Log:        clog,
			}, sup.Sink())
			if err != nil {
				return fmt.Errorf("camera %q: %w", cc.ID, err)
			}
			cam.Ingest = push
			steer = push
		}
		if steer != nil {
			cam.Control = steer
			demands = append(demands, func(ctx context.Context) error {
				return source.RunDemand(ctx, audience, steer, cfg.Limits.IdleAfter, clog)
			})
		}
		if member != nil {
			var release func()
			if p, ok := cam.Ingest.(*source.Push); ok {
				release = p.Release
			}
			member.Bind(release, cam.Control)
			cam.Control = member.Controller()
		}
		cams = append(cams, cam)
		sups = append(sups, sup)
		hubs = append(hubs, h)
	}

	sec, err := securityOptions(cfg)
	if err != nil {
		return err
	}
	srv = server.New(server.Options{
		Cameras:             cams,
		Metrics:             m,
		MetricsHandler:      promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		Log:                 log.With("subsystem", "http"),
		WriteTimeout:        cfg.Limits.WriteTimeout,
		AllowedOrigins:      cfg.AllowedOrigins,
		MaxViewersPerCamera: cfg.Limits.MaxViewersPerCamera,
		MaxViewers:          cfg.Limits.MaxViewers,
		Version:             build.Version,
		AdminToken:          cfg.AdminToken,
		MaxViewerMessage:    cfg.Limits.MaxViewerMessageBytes,
		AdminTokenHash:      sec.AdminTokenHash,
		MetricsToken:        sec.MetricsToken,
		Viewers:             sec.Viewers,
		TrustedProxies:      sec.TrustedProxies,
		MaxConnsPerClient:   sec.MaxConnsPerClient,
		MaxAuthFailures:     sec.MaxAuthFailures,
		AuthFailureForgive:  sec.AuthFailureForgive,
	})
	var tlsCerts *certs.Reloader
	if cfg.TLSCert != "" {
		if tlsCerts, err = certs.New(cfg.TLSCert, cfg.TLSKey); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	// The profiler listens before anything is served, so that a port of 0
	// works, the log names the port actually taken, and a busy port stops
	// start-up cleanly.
	var pln net.Listener
	if pprofAddr != "" {
		if pln, err = net.Listen("tcp", pprofAddr); err != nil {
			_ = ln.Close()
			return fmt.Errorf("profiler: listen on %s (CAMRELAY_PPROF): %w", pprofAddr, err)
		}
	}
	if listening != nil {
		listening(ln.Addr())
	}
	// Viewer handlers hijack their connections, which http.Server.Shutdown
	// does not track: they watch this context instead.
	baseCtx, stopViewers := context.WithCancel(context.Background())
	defer stopViewers()
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: cfg.Limits.HandshakeTimeout,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if tlsCerts != nil {
		hs.TLSConfig = tlsCerts.Config()
		ln = tls.NewListener(ln, hs.TLSConfig)
	}

	g, gctx := errgroup.WithContext(ctx)
	// Hubs wake viewers until the very end: shutdown is driven by the
	// viewers' own contexts, not by hubs going quiet.
	hubCtx, stopHubs := context.WithCancel(context.Background())
	defer stopHubs()
	var hubsDone errgroup.Group
	for _, h := range hubs {
		hubsDone.Go(func() error { return h.Run(hubCtx) })
	}
	defer func() { stopHubs(); _ = hubsDone.Wait() }()
	for _, sup := range sups {
		g.Go(func() error { return sup.Run(gctx) })
	}
	for _, d := range demands {
		g.Go(func() error { return d(gctx) })
	}
	if node != nil {
		g.Go(func() error { return node.Run(gctx) })
	}
	// SIGHUP is caught from before the listener answers, so that a reload
	// sent as soon as the gateway is up never meets SIGHUP's default action.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	g.Go(func() error { return reloadOnHangup(gctx, hup, tlsCerts, log) })
	g.Go(func() error {
		log.Info("camrelay listening", "addr", ln.Addr().String(), "tls", tlsCerts != nil, "viewer_auth", sec.Viewers.Enabled(),
			"cameras", len(cams), "version", build.Version)
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	if pprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		ps := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		g.Go(func() error {
			log.Info("profiler listening", "addr", pln.Addr().String())
			if err := ps.Serve(pln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("pprof server: %w", err)
			}
			return nil
		})
		g.Go(func() error { <-gctx.Done(); return ps.Close() })
	}
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		stopViewers()
		srv.Close()
		err := hs.Shutdown(sctx)
		waited := make(chan struct{})
		go func() { srv.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-sctx.Done():
			_ = hs.Close()
			<-waited
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("http shutdown: %w", err)
		}
		return nil
	})
	err = g.Wait()
	log.Info("stopped")
	return err
}

// cameraWeb returns the control of a pulled camera through the stock
// CameraWebServer's /control and /status: at control_url, or next to the
// stream URL when it is that sketch's (:81/stream, /capture). Nil (control
// answers 501) when neither applies.
func cameraWeb(cc config.Camera, h *hub.Hub, log *slog.Logger) *source.CameraWeb {
	base := cc.ControlURL
	if base == "" {
		base = source.CameraWebControlURL(cc.URL)
	}
	if base == "" {
		return nil
	}
	return &source.CameraWeb{URL: base, Log: log, Resolution: func() (int, int) {
		if f := h.Latest(); f != nil {
			return f.Width, f.Height
		}
		return 0, 0
	}}
}

// checkHealth GETs /healthz of the gateway listening on addr (host:port; an
// empty or wildcard host means this machine, an empty addr :8080) and
// returns an error unless it answers 200 within 3 s. The container image
// has no shell or curl, so its HEALTHCHECK runs `camrelay --healthcheck`.
func checkHealth(ctx context.Context, addr string) error {
	return probeHealth(ctx, addr, "http", http.DefaultClient)
}

// probeHealth is checkHealth with a scheme and client (HTTPS: checkHealthTLS).
func probeHealth(ctx context.Context, addr, scheme string, client *http.Client) error {
	if addr == "" {
		addr = ":8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("healthcheck: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	return nil
}
