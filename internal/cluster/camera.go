package cluster

import (
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/camrelay/camrelay/internal/frame"
	"github.com/camrelay/camrelay/internal/hub"
)

// Sink is what a camera's source publishes into (source.Sink, declared
// here so that this package does not depend on the sources).
type Sink interface {
	Publish(f *frame.Frame) uint64
	SetOnline(online bool)
	Message(typ string, msg json.RawMessage)
	Dropped(reason string)
	Connected()
}

// camera is the node's state for one camera: local (configured here, so
// this gateway may hold its link) or remote (known from the directory).
//
// Its loop goroutine owns the subscription and the publishing to NATS; the
// source's goroutines only store into the atomics and signal it, so that a
// slow or unreachable NATS server never holds up a camera.
type camera struct {
	n      *Node
	id     string
	name   string
	source string
	hub    *hub.Hub
	local  bool
	// release closes the camera's link when another gateway took it over
	// (a push uplink); nil for links that cannot be told to go.
	release func()
	// ctrl reaches a local camera through its link; nil if it cannot.
	ctrl LocalController

	// Ownership, read by the directory goroutine.
	active  atomic.Bool   // the local link delivers frames
	yielded atomic.Bool   // another gateway claimed the camera after us; cleared by a new local link
	rev     atomic.Uint64 // directory revision of our claim; 0 while unclaimed
	// fresh: the link connected after our last claim was written. Its claim
	// overwrites any other gateway's (newest link wins); any other claim
	// (a renewal after our entry expired) never does.
	fresh atomic.Bool

	// Handoff from the source to the loop: newest wins.
	pending    atomic.Pointer[frame.Frame]
	status     atomic.Pointer[statusMsg]
	publish    chan struct{} // capacity 1
	lastRemote atomic.Int64  // unix ns of the last frame from another gateway
	subscribed atomic.Bool   // the loop holds a subscription to the camera's frames

	// Demand: viewers here plus viewers on other gateways.
	remoteUntil atomic.Int64  // unix ns until which another gateway has viewers
	remoteSeen  chan struct{} // capacity 1: a demand message arrived
	resend      chan struct{} // capacity 1: a gateway subscribed and wants the camera's state
	demandOut   chan struct{} // capacity 1: Audience's DemandChanged

	framesOut, framesIn, pubErrs prometheus.Counter
	latency                      prometheus.Observer
}

func (n *Node) newCamera(id, name, source string, h *hub.Hub, local bool) *camera {
	return &camera{
		n: n, id: id, name: name, source: source, hub: h, local: local,
		publish:    make(chan struct{}, 1),
		remoteSeen: make(chan struct{}, 1),
		resend:     make(chan struct{}, 1),
		demandOut:  make(chan struct{}, 1),
		framesOut:  n.m.FramesPublished.WithLabelValues(id),
		framesIn:   n.m.FramesReceived.WithLabelValues(id),
		pubErrs:    n.m.PublishErrors.WithLabelValues(id),
		latency:    n.m.Latency.WithLabelValues(id),
	}
}

// LocalOptions describe a camera configured on this gateway.
type LocalOptions struct {
	ID, Name, Source string
	Hub              *hub.Hub
	// Sink is where the camera's frames go locally (the hub and metrics).
	Sink Sink
	// Release closes the camera's link when another gateway took it over;
	// nil for sources that cannot be told to go.
	Release func()
	// Control reaches the camera through its local link; nil if it cannot.
	Control LocalController
}

// Local registers a camera configured on this gateway. Its source must
// publish into the returned Local's Sink, the demand loop watch its
// Audience, and the server control it through its Controller.
func (n *Node) Local(o LocalOptions) *Local {
	c := n.newCamera(o.ID, o.Name, o.Source, o.Hub, true)
	c.release = o.Release
	c.ctrl = o.Control
	n.mu.Lock()
	n.cameras[o.ID] = c
	if n.spawn != nil {
		n.spawn(c.run)
	}
	n.mu.Unlock()
	return &Local{c: c, sink: &tee{Sink: o.Sink, c: c}, ctrl: &Controller{n: n, c: c, local: o.Control}}
}

// Bind tells the cluster how to close the camera's link when another
// gateway takes it over (nil: it cannot be told to go) and how to control it
// through that link (nil: it cannot be). Call it before the node's Run.
func (l *Local) Bind(release func(), ctrl LocalController) {
	l.c.release = release
	l.c.ctrl = ctrl
	l.ctrl.local = ctrl
}

// Local is a camera configured on this gateway, as the cluster sees it.
type Local struct {
	c    *camera
	sink *tee
	ctrl *Controller
}

// Sink returns the sink the camera's source publishes into: the local one,
// and the cluster while this gateway holds the camera.
func (l *Local) Sink() Sink { return l.sink }

// Audience counts viewers of the camera here and on other gateways, for
// the demand loop: a camera watched anywhere stays at full rate.
func (l *Local) Audience() *Audience { return &Audience{c: l.c} }

// Fetch gets the newest frame from the gateway that holds the camera, for
// a snapshot here while no local viewer keeps this gateway subscribed. It
// returns nil when the local hub is current (this gateway holds the camera
// or is subscribed) or the owner has no frame.
func (l *Local) Fetch(ctx context.Context) *frame.Frame { return l.c.fetch(ctx) }

// Controller reaches the camera here or on the gateway that holds it.
func (l *Local) Controller() *Controller { return l.ctrl }

// Owner reports which gateway holds the camera, and whether it is another.
func (l *Local) Owner() (string, bool) { return l.c.owner() }

// owning reports whether this gateway holds the camera's link now.
func (c *camera) owning() bool { return c.local && c.active.Load() && !c.yielded.Load() }

// owner reports the gateway that holds the camera's link, and whether it is
// another gateway than this one.
func (c *camera) owner() (string, bool) {
	if c.owning() {
		return c.n.opts.Name, false
	}
	gw := c.n.ownerOf(c.id)
	return gw, gw != "" && gw != c.n.opts.Name
}

// tee is a local camera's sink: everything goes to the local sink, and
// frames and status to the cluster too while this gateway holds the camera.
type tee struct {
	Sink
	c *camera
}

func (t *tee) Publish(f *frame.Frame) uint64 {
	seq := t.Sink.Publish(f)
	c := t.c
	if !c.active.Load() {
		c.active.Store(true)
		notify(c.n.dirty) // claim the camera in the directory
	}
	if !c.yielded.Load() {
		c.pending.Store(f)
		notify(c.publish)
	}
	return seq
}

func (t *tee) SetOnline(online bool) {
	c := t.c
	if online {
		t.Sink.SetOnline(true)
		return
	}
	// Frames from another gateway keep the camera online here: the silence
	// of a link that moved away is not the camera going offline.
	if time.Since(time.Unix(0, c.lastRemote.Load())) >= c.n.opts.OfflineAfter {
		t.Sink.SetOnline(false)
	}
	if c.active.Swap(false) {
		notify(c.n.dirty) // release the directory entry
		if !c.yielded.Load() {
			c.status.Store(&statusMsg{Gateway: c.n.opts.Name, Online: false})
			notify(c.publish)
		}
	}
}

func (t *tee) Message(typ string, msg json.RawMessage) {
	t.Sink.Message(typ, msg)
	c := t.c
	if (typ == "hello" || typ == "status") && !c.yielded.Load() {
		s := &statusMsg{Gateway: c.n.opts.Name, Online: true}
		if typ == "hello" {
			s.Hello = msg
		} else {
			s.Status = msg
		}
		c.status.Store(s)
		notify(c.publish)
	}
}

// Connected is a new local link: the newest, so it claims the camera at
// once, even if another gateway took it over before. A board that
// reconnected elsewhere must win before its first frame, or its old
// gateway would keep a half-open uplink.
func (t *tee) Connected() {
	t.Sink.Connected()
	t.c.yielded.Store(false)
	t.c.rev.Store(0) // a fresh claim, not a renewal of an older one
	t.c.fresh.Store(true)
	t.c.active.Store(true)
	notify(t.c.n.dirty)
}

// statusMsg is the payload of a camera's status subject.
type statusMsg struct {
	Gateway string          `json:"gateway"`
	Online  bool            `json:"online"`
	Hello   json.RawMessage `json:"hello,omitempty"`
	Status  json.RawMessage `json:"status,omitempty"`
}

// Audience is a source.Audience over viewers here and elsewhere.
type Audience struct{ c *camera }

// Viewers counts local viewers, plus one while another gateway has some.
func (a *Audience) Viewers() int {
	v := a.c.hub.Viewers()
	if a.c.remoteActive(time.Now()) {
		v++
	}
	return v
}

// DemandChanged is signalled when Viewers may have gone to or from zero.
func (a *Audience) DemandChanged() <-chan struct{} { return a.c.demandOut }

func (c *camera) remoteActive(now time.Time) bool {
	return now.UnixNano() < c.remoteUntil.Load()
}

// run is the camera's loop: it subscribes while the camera has local
// viewers, tells the owner so, publishes the local link's frames and status,
// and marks a silent remote camera offline.
func (c *camera) run(ctx context.Context) {
	hb := c.n.opts.Heartbeat
	tick := time.NewTicker(min(hb, c.n.opts.OfflineAfter/4))
	defer tick.Stop()
	var subs []*nats.Subscription
	unsubscribe := func() {
		if subs == nil {
			return
		}
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
		subs = nil
		c.subscribed.Store(false)
		c.n.m.Subscriptions.Dec()
	}
	defer unsubscribe()
	wasRemote := false
	var lastDemand time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.hub.DemandChanged():
			if c.hub.Viewers() > 0 && subs == nil {
				subs = c.subscribe()
				c.subscribed.Store(subs != nil)
				lastDemand = time.Time{}
			} else if c.hub.Viewers() == 0 && subs != nil {
				unsubscribe()
				if !c.owning() {
					// Unfed from now on: a viewer who comes later must not
					// be told the camera is live on the strength of an old
					// frame.
					c.lastRemote.Store(0)
					c.hub.SetOnline(false)
				}
			}
			notify(c.demandOut)
		case <-c.publish:
			c.flush()
		case <-c.remoteSeen:
			if !wasRemote {
				wasRemote = true
				notify(c.demandOut)
			}
		case <-c.resend:
			if c.owning() {
				// A gateway that just subscribed missed the camera's hello
				// (sent once, at connect): send the state again.
				info := c.hub.Info()
				c.status.Store(&statusMsg{Gateway: c.n.opts.Name, Online: info.Online, Hello: info.Hello, Status: info.Status})
				c.flush()
			}
		case now := <-tick.C:
			if wasRemote && !c.remoteActive(now) {
				wasRemote = false
				notify(c.demandOut)
			}
			if subs == nil {
				continue
			}
			if now.Sub(lastDemand) >= hb {
				// Tell the owner that viewers here want full rate.
				_ = c.n.nc.Publish(c.n.subject.demand(c.id), nil)
				lastDemand = now
			}
			last := c.lastRemote.Load()
			if last != 0 && now.Sub(time.Unix(0, last)) >= c.n.opts.OfflineAfter && !c.owning() {
				c.hub.SetOnline(false)
			}
		}
	}
}

// fetchTimeout bounds a snapshot request to another gateway.
const fetchTimeout = 2 * time.Second

func (c *camera) fetch(ctx context.Context) *frame.Frame {
	gw, remote := c.owner()
	if !remote || c.subscribed.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	msg, err := c.n.nc.RequestWithContext(ctx, c.n.subject.snapshot(gw), []byte(c.id))
	if err != nil || frame.Check(msg.Data, int64(len(msg.Data))) != nil {
		return nil
	}
	f := &frame.Frame{Data: msg.Data, Received: headerTime(msg, HeaderReceived), Captured: headerTime(msg, HeaderCaptured)}
	f.Width, f.Height, _ = frame.Size(msg.Data)
	f.Seq, _ = strconv.ParseUint(msg.Header.Get(HeaderSeq), 10, 64)
	return f
}

// headerTime reads a Unix-nanosecond header; zero if absent or malformed.
func headerTime(msg *nats.Msg, key string) time.Time {
	ns, err := strconv.ParseInt(msg.Header.Get(key), 10, 64)
	if err != nil || ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// frameMsg is the NATS message of frame f on subject.
func (n *Node) frameMsg(subject string, f *frame.Frame) *nats.Msg {
	msg := &nats.Msg{Subject: subject, Data: f.Data, Header: nats.Header{}}
	msg.Header.Set(HeaderGateway, n.opts.Name)
	msg.Header.Set(HeaderSeq, strconv.FormatUint(f.Seq, 10))
	msg.Header.Set(HeaderReceived, strconv.FormatInt(f.Received.UnixNano(), 10))
	if !f.Captured.IsZero() {
		msg.Header.Set(HeaderCaptured, strconv.FormatInt(f.Captured.UnixNano(), 10))
	}
	return msg
}

// subscribe listens to the camera's frames and status. The subscription
// lives until unsubscribed; nats.go renews it after a reconnect.
func (c *camera) subscribe() []*nats.Subscription {
	var subs []*nats.Subscription
	fs, err := c.n.nc.Subscribe(c.n.subject.frame(c.id), c.onFrame)
	if err == nil {
		subs = append(subs, fs)
		ss, err2 := c.n.nc.Subscribe(c.n.subject.status(c.id), c.onStatus)
		if err2 == nil {
			subs = append(subs, ss)
		}
		err = err2
	}
	if err != nil {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
		// Only a closed connection fails here: a disconnected one queues
		// the subscription for the reconnect.
		c.n.log.Warn("cluster subscription failed", "camera", c.id, "err", err)
		return nil
	}
	c.n.m.Subscriptions.Inc()
	// Tell the owner at once, not at the next tick: its camera may idle,
	// and this gateway has not seen the camera's hello.
	_ = c.n.nc.Publish(c.n.subject.demand(c.id), []byte(demandNew))
	return subs
}

// onFrame publishes a frame from another gateway into the local hub. It
// runs on the subscription's goroutine, which nats.go owns.
func (c *camera) onFrame(msg *nats.Msg) {
	now := time.Now()
	if err := frame.Check(msg.Data, int64(len(msg.Data))); err != nil {
		return // not a JPEG: never shown to viewers
	}
	f := &frame.Frame{Data: msg.Data, Received: now}
	f.Width, f.Height, _ = frame.Size(msg.Data)
	f.Captured = headerTime(msg, HeaderCaptured)
	c.lastRemote.Store(now.UnixNano())
	c.hub.Publish(f)
	c.framesIn.Inc()
	if t := headerTime(msg, HeaderReceived); !t.IsZero() {
		c.latency.Observe(time.Since(t).Seconds())
	}
}

// onStatus applies the owner's status message.
func (c *camera) onStatus(msg *nats.Msg) {
	var s statusMsg
	if json.Unmarshal(msg.Data, &s) != nil {
		return
	}
	if s.Hello != nil {
		c.hub.SetHello(s.Hello)
	}
	if s.Status != nil {
		c.hub.SetStatus(s.Status)
	}
	if !s.Online {
		// Only the gateway that holds the camera may say it went away: a
		// gateway whose old link just closed after a takeover may not.
		if gw := c.n.ownerOf(c.id); gw != "" && gw != s.Gateway {
			return
		}
		if c.owning() {
			return // our own link delivers
		}
		c.lastRemote.Store(0)
	}
	c.hub.SetOnline(s.Online)
}

// flush publishes the newest pending frame and status to the cluster.
func (c *camera) flush() {
	if s := c.status.Swap(nil); s != nil {
		data, _ := json.Marshal(s)
		if err := c.n.nc.Publish(c.n.subject.status(c.id), data); err != nil {
			c.pubErrs.Inc()
		}
	}
	f := c.pending.Swap(nil)
	if f == nil || c.yielded.Load() {
		return
	}
	if err := c.n.nc.PublishMsg(c.n.frameMsg(c.n.subject.frame(c.id), f)); err != nil {
		c.pubErrs.Inc()
		return
	}
	c.framesOut.Inc()
}

// demandNew is the payload of a gateway's first demand message after it
// subscribed: the owner answers it with the camera's state (hello, status).
const demandNew = "new"

// runDemandListener records which local cameras other gateways watch.
func (n *Node) runDemandListener(ctx context.Context) error {
	sub, err := n.nc.Subscribe(n.subject.allDemand(), func(msg *nats.Msg) {
		// camrelay.<ns>.cam.<id>.demand
		id := tokenBeforeLast(msg.Subject)
		n.mu.Lock()
		c := n.cameras[id]
		n.mu.Unlock()
		if c == nil || !c.local {
			return
		}
		c.remoteUntil.Store(time.Now().Add(3 * n.opts.Heartbeat).UnixNano())
		notify(c.remoteSeen)
		if string(msg.Data) == demandNew {
			notify(c.resend)
		}
	})
	if err != nil {
		n.log.Warn("cluster demand subscription failed; remote viewers will not keep cameras at full rate", "err", err)
		<-ctx.Done()
		return nil
	}
	<-ctx.Done()
	_ = sub.Unsubscribe()
	return nil
}

// tokenBeforeLast returns the second-to-last dot-separated token of s.
func tokenBeforeLast(s string) string {
	end := len(s)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			end = i
			break
		}
	}
	start := 0
	for i := end - 1; i >= 0; i-- {
		if s[i] == '.' {
			start = i + 1
			break
		}
	}
	return s[start:end]
}
