// Package cluster joins several gateways into one over NATS. The gateway
// that holds a camera's link publishes its frames and status on the
// camera's subjects; another gateway subscribes to a camera only while it
// has local viewers of it, and publishes what it receives into its own hub,
// so that its viewers get newest-wins there too. A JetStream key-value
// bucket is the camera directory (camera id → owning gateway), renewed by
// heartbeats and expired by age; the newest claim of a camera wins. Control
// commands reach the owning gateway by NATS request/reply.
//
// A gateway cut off from NATS keeps serving its own cameras to its own
// viewers: nothing local waits for NATS.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/camrelay/camrelay/internal/frame"
	"github.com/camrelay/camrelay/internal/hub"
	"github.com/camrelay/camrelay/internal/metrics"
)

// Headers of a frame message. Times are Unix nanoseconds in decimal.
const (
	HeaderGateway  = "Camrelay-Gateway"
	HeaderSeq      = "Camrelay-Seq"
	HeaderReceived = "Camrelay-Received" // when the owning gateway received the frame
	HeaderCaptured = "Camrelay-Captured" // when the camera captured it, if the link says
)

// headerRoom is what a frame message adds to the JPEG: the headers above
// with their values fit easily in 256 bytes.
const headerRoom = 256

// connectWait bounds how long Connect waits for the first connection before
// the gateway starts without NATS (it keeps trying in the background).
const connectWait = 5 * time.Second

// Options configure a Node.
type Options struct {
	// URL is the NATS server, or a comma-separated list. Required.
	URL string
	// Name is this gateway's name, unique in the cluster. Required.
	Name string
	// Namespace prefixes subjects and names the directory bucket. Required.
	Namespace string
	// Heartbeat is how often the directory entries of this gateway's
	// cameras are renewed; an entry expires after three. Zero means 2 s.
	Heartbeat time.Duration
	// NATS are extra connection options: authentication and TLS.
	NATS []nats.Option
	// MaxFrame is the largest frame a local camera may send, in bytes; the
	// NATS server must accept messages of that size.
	MaxFrame int64
	// OfflineAfter is how long a remote camera may stay silent before it is
	// shown offline. Zero means 5 s.
	OfflineAfter time.Duration
	// Hub configures the hubs of cameras known only from the directory.
	Hub *hub.Options
	// AddCamera is called, from the directory's goroutine, for each camera
	// that another gateway holds and this one has not configured, with the
	// hub its frames go to and the controller that reaches it. It must not
	// block.
	AddCamera func(c Remote)
	// Metrics may be nil.
	Metrics *metrics.Cluster
	// Log nil means slog.Default().
	Log *slog.Logger
}

// Remote is a camera that only another gateway of the cluster holds.
type Remote struct {
	ID, Name, Source string
	Hub              *hub.Hub
	Control          *Controller
	Owner            func() (gateway string, remote bool)
	// Fetch gets the newest frame from the owner for a snapshot while no
	// local viewer keeps this gateway subscribed; nil when not needed.
	Fetch func(ctx context.Context) *frame.Frame
}

// Node is this gateway's membership in the cluster. Register the local
// cameras with Local before Run; Run then owns every goroutine of the node.
type Node struct {
	opts    Options
	log     *slog.Logger
	nc      *nats.Conn
	m       *metrics.Cluster
	subject subjects

	reconnected chan struct{} // capacity 1: NATS came back; re-create the watcher
	dirty       chan struct{} // capacity 1: a local camera's ownership may have changed
	closed      chan struct{} // closed when the NATS connection is

	mu      sync.Mutex // guards cameras and dir
	cameras map[string]*camera
	dir     map[string]entry
	spawn   func(loop func(context.Context)) // runs a loop in Run's group; nil outside Run
}

// Connect dials NATS and returns the node. It waits a few seconds for the
// first connection: when it succeeds, a NATS server whose max_payload is
// below MaxFrame is refused with an error (frames would otherwise be lost
// without a trace); when it does not, the gateway starts anyway and keeps
// trying, so that a NATS outage never stops local cameras.
func Connect(ctx context.Context, opts Options) (*Node, error) {
	if opts.URL == "" || opts.Name == "" || opts.Namespace == "" {
		return nil, errors.New("cluster: URL, Name and Namespace are required")
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 2 * time.Second
	}
	if opts.OfflineAfter <= 0 {
		opts.OfflineAfter = 5 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.AddCamera == nil {
		opts.AddCamera = func(Remote) {}
	}
	n := &Node{
		opts:        opts,
		log:         opts.Log,
		m:           opts.Metrics,
		subject:     subjects{prefix: "camrelay." + opts.Namespace},
		reconnected: make(chan struct{}, 1),
		dirty:       make(chan struct{}, 1),
		closed:      make(chan struct{}),
		cameras:     map[string]*camera{},
		dir:         map[string]entry{},
	}
	if n.m == nil {
		n.m = metrics.NewCluster(prometheus.NewRegistry())
	}
	connected := make(chan struct{}, 1)
	nopts := append([]nats.Option{
		nats.Name("camrelay " + opts.Name),
		// A gateway never stops trying: NATS may be restarted or moved.
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		// Frames held while disconnected would be stale when sent: publish
		// fails at once instead, and the frame is counted as an error.
		nats.ReconnectBufSize(-1),
		// This gateway's own frames and demand must not come back to it.
		nats.NoEcho(),
		nats.PingInterval(10 * time.Second),
		nats.MaxPingsOutstanding(3),
		nats.ConnectHandler(func(*nats.Conn) {
			n.m.Connected.Set(1)
			notify(connected)
			n.log.Info("connected to NATS")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			n.m.Connected.Set(1)
			notify(n.reconnected)
			n.log.Info("reconnected to NATS", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(n.closed) }),
		nats.DrainTimeout(drainWait),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			n.m.Connected.Set(0)
			n.log.Warn("disconnected from NATS; local cameras and viewers carry on", "err", err)
		}),
	}, opts.NATS...)
	nc, err := nats.Connect(opts.URL, nopts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to NATS: %w", err)
	}
	n.nc = nc
	t := time.NewTimer(connectWait)
	defer t.Stop()
	select {
	case <-connected:
	case <-t.C:
	case <-ctx.Done():
	}
	if nc.IsConnected() {
		if err := n.checkPayload(); err != nil {
			nc.Close()
			return nil, err
		}
	} else {
		n.log.Warn("NATS not reachable yet; starting without the cluster and retrying", "wait", connectWait)
	}
	return n, nil
}

// checkPayload refuses a server that would reject our largest frames.
func (n *Node) checkPayload() error {
	if max := n.nc.MaxPayload(); max < n.opts.MaxFrame+headerRoom {
		return fmt.Errorf("cluster: the NATS server accepts messages of at most %d bytes, but a camera may send frames of %d bytes: "+
			"raise max_payload in the NATS server's config (up to 64MB) or lower limits.max_frame_bytes below %d",
			max, n.opts.MaxFrame, max-headerRoom)
	}
	return nil
}

// Close closes the NATS connection. Run does so when it returns; Close is
// for a gateway that fails to start after Connect. Calling it twice is fine.
func (n *Node) Close() { n.nc.Close() }

// Name returns this gateway's name.
func (n *Node) Name() string { return n.opts.Name }

// Conn returns the NATS connection (for tests and diagnostics).
func (n *Node) Conn() *nats.Conn { return n.nc }

// Run runs the directory, the control responder and every camera's loop
// until ctx ends, then closes the NATS connection. It returns nil then: a
// NATS outage is logged and retried, never an error of the gateway.
func (n *Node) Run(ctx context.Context) error {
	defer n.drain()
	g, gctx := errgroup.WithContext(ctx)
	n.mu.Lock()
	n.spawn = func(loop func(context.Context)) { g.Go(func() error { loop(gctx); return nil }) }
	for _, c := range n.cameras {
		n.spawn(c.run)
	}
	n.mu.Unlock()
	g.Go(func() error { n.runDirectory(gctx); return nil })
	g.Go(func() error { return n.runControl(gctx) })
	g.Go(func() error { return n.runDemandListener(gctx) })
	err := g.Wait()
	n.mu.Lock()
	n.spawn = nil
	n.mu.Unlock()
	return err
}

// drainWait bounds the goodbye to NATS at shutdown.
const drainWait = 2 * time.Second

// drain closes the connection after the server has forgotten this
// gateway's subscriptions. A plain close leaves a moment in which the
// server still routes a control or snapshot request to us, and the other
// gateway waits out its timeout instead of hearing "no responders" at once.
func (n *Node) drain() {
	if err := n.nc.Drain(); err != nil { // not connected: nothing to tell
		n.nc.Close()
		return
	}
	t := time.NewTimer(drainWait)
	defer t.Stop()
	select {
	case <-n.closed:
	case <-t.C:
		n.nc.Close()
	}
}

// subjects names the NATS subjects of one namespace.
type subjects struct{ prefix string }

func (s subjects) frame(id string) string  { return s.prefix + ".cam." + id + ".frame" }
func (s subjects) status(id string) string { return s.prefix + ".cam." + id + ".status" }
func (s subjects) demand(id string) string { return s.prefix + ".cam." + id + ".demand" }
func (s subjects) allDemand() string       { return s.prefix + ".cam.*.demand" }
func (s subjects) control(gw string) string {
	return s.prefix + ".gw." + gw + ".control"
}
func (s subjects) snapshot(gw string) string {
	return s.prefix + ".gw." + gw + ".snapshot"
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
