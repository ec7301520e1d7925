package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/camrelay/camrelay/internal/hub"
)

// entry is one camera's directory value: the gateway that holds its link.
type entry struct {
	Gateway string `json:"gateway"`
	Name    string `json:"name,omitempty"`
	Source  string `json:"source,omitempty"`

	rev  uint64
	seen time.Time // when this gateway last saw the entry written
}

// opTimeout bounds one key-value operation: a heartbeat stuck longer than
// this would be late anyway.
const opTimeout = 2 * time.Second

// bucket names the directory's key-value bucket of the namespace.
func (n *Node) bucket() string { return "camrelay_" + n.opts.Namespace + "_cameras" }

// ttl is how long an entry lives without a heartbeat.
func (n *Node) ttl() time.Duration { return 3 * n.opts.Heartbeat }

// ownerOf returns the gateway that holds camera id's link, or "" when no
// live entry names one.
func (n *Node) ownerOf(id string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.dir[id]
	if !ok || time.Since(e.seen) > n.ttl() {
		return ""
	}
	return e.Gateway
}

// errReconnected ends one watch session so that the next one starts
// against the server NATS reconnected to.
var errReconnected = errors.New("reconnected to NATS")

// runDirectory keeps the directory bucket watched and this gateway's
// entries renewed until ctx ends. A session ends on an error or a
// reconnect (a restarted server may have lost the watcher's consumer) and
// starts again after a backoff.
func (n *Node) runDirectory(ctx context.Context) {
	delay := 250 * time.Millisecond
	failing := false
	for {
		err := n.directorySession(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errReconnected) {
			delay = 250 * time.Millisecond
			failing = false
			continue
		}
		if !failing {
			n.log.Warn("camera directory unavailable, retrying", "err", err)
		}
		failing = true
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-n.reconnected:
			t.Stop()
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// directorySession opens the bucket, watches every key and renews this
// gateway's claims until an error, a reconnect or ctx ends.
func (n *Node) directorySession(ctx context.Context) error {
	js, err := jetstream.New(n.nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	kv, err := js.CreateOrUpdateKeyValue(octx, jetstream.KeyValueConfig{
		Bucket:      n.bucket(),
		Description: "camrelay camera directory: camera id → gateway holding its link",
		History:     1,
		TTL:         n.ttl(),
		Storage:     jetstream.FileStorage,
	})
	cancel()
	if err != nil {
		return fmt.Errorf("open directory bucket %s: %w", n.bucket(), err)
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch directory: %w", err)
	}
	defer func() { _ = w.Stop() }()
	// Drain a reconnect that happened before this session: it is served.
	select {
	case <-n.reconnected:
	default:
	}
	// Our claims may be gone (expired, or a new server): renew them now.
	n.heartbeat(ctx, kv)
	tick := time.NewTicker(n.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			n.releaseAll(kv)
			return nil
		case <-n.reconnected:
			return errReconnected
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("directory watcher stopped")
			}
			if e != nil { // nil marks the end of the initial values
				n.apply(ctx, kv, e)
			}
		case <-n.dirty:
			n.reconcile(ctx, kv)
		case <-tick.C:
			n.heartbeat(ctx, kv)
		}
	}
}

// apply records one directory update and acts on it: a camera only known
// from the directory gets a hub here; a camera whose link this gateway
// holds, claimed by another gateway after us, is given up (newest wins).
func (n *Node) apply(ctx context.Context, kv jetstream.KeyValue, e jetstream.KeyValueEntry) {
	id := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		n.mu.Lock()
		if d, ok := n.dir[id]; ok && d.rev <= e.Revision() {
			delete(n.dir, id)
		}
		n.mu.Unlock()
		return
	}
	var v entry
	if json.Unmarshal(e.Value(), &v) != nil || v.Gateway == "" {
		return
	}
	v.rev, v.seen = e.Revision(), time.Now()
	n.mu.Lock()
	n.dir[id] = v
	c := n.cameras[id]
	n.mu.Unlock()
	if v.Gateway == n.opts.Name {
		return
	}
	if c == nil {
		if validID(id) {
			n.addRemote(id, v)
		}
		return
	}
	if mine := c.rev.Load(); mine != 0 && e.Revision() > mine {
		n.yield(c, v.Gateway)
	}
}

// yield gives camera c up to gateway gw, which claimed it after us.
func (n *Node) yield(c *camera, gw string) {
	c.rev.Store(0)
	if c.yielded.Swap(true) {
		return
	}
	n.m.Conflicts.Inc()
	if c.release != nil {
		n.log.Info("camera taken over by another gateway: closing its old uplink here", "camera", c.id, "gateway", gw)
		c.release()
		return
	}
	n.log.Warn("camera claimed by another gateway too: two gateways configure it; the newest claim wins", "camera", c.id, "gateway", gw)
}

// addRemote gives a camera that another gateway holds a hub here, so that
// local viewers can watch it.
func (n *Node) addRemote(id string, v entry) {
	h := hub.New(id, n.opts.Hub)
	c := n.newCamera(id, v.Name, v.Source, h, false)
	n.mu.Lock()
	if _, ok := n.cameras[id]; ok {
		n.mu.Unlock()
		return
	}
	n.cameras[id] = c
	spawn := n.spawn
	n.mu.Unlock()
	if spawn == nil {
		return
	}
	// The hub wakes its viewers as long as the node runs.
	spawn(func(ctx context.Context) { _ = h.Run(ctx) })
	spawn(c.run)
	n.log.Info("camera of another gateway added", "camera", id, "gateway", v.Gateway)
	n.opts.AddCamera(Remote{
		ID: id, Name: v.Name, Source: v.Source, Hub: h,
		Control: &Controller{n: n, c: c},
		Owner:   c.owner,
		Fetch:   c.fetch,
	})
}

// reconcile claims the cameras whose local link delivers and releases those
// whose link stopped.
func (n *Node) reconcile(ctx context.Context, kv jetstream.KeyValue) {
	for _, c := range n.localCameras() {
		switch active, rev := c.active.Load() && !c.yielded.Load(), c.rev.Load(); {
		case active && rev == 0:
			n.claim(ctx, kv, c)
		case !active && rev != 0 && !c.yielded.Load():
			// Only our own entry: a newer claim by another gateway stays.
			octx, cancel := context.WithTimeout(ctx, opTimeout)
			_ = kv.Delete(octx, c.id, jetstream.LastRevision(rev))
			cancel()
			c.rev.Store(0)
		}
	}
}

// claim writes this gateway as the owner of c. A link that connected since
// our last claim takes the camera whoever held it (the newest link wins).
// Otherwise this is a renewal of an entry that expired or was lost (a slow
// heartbeat, a NATS restart): it is written only if no other gateway
// claimed the camera meanwhile, and if one did, its link is the newer and
// ours gives way.
func (n *Node) claim(ctx context.Context, kv jetstream.KeyValue, c *camera) {
	data, _ := json.Marshal(entry{Gateway: n.opts.Name, Name: c.name, Source: c.source})
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	fresh := c.fresh.Load()
	var rev uint64
	var err error
	if fresh {
		rev, err = kv.Put(octx, c.id, data)
	} else {
		rev, err = n.renew(octx, kv, c, data)
	}
	if err != nil {
		n.log.Debug("directory claim failed; retried at the next heartbeat", "camera", c.id, "err", err)
		return
	}
	if rev == 0 {
		return // another gateway holds it: c yielded
	}
	if fresh {
		c.fresh.Store(false)
	}
	c.rev.Store(rev)
	n.log.Debug("camera claimed in the directory", "camera", c.id, "revision", rev, "fresh", fresh)
}

// renew writes our claim on c only where no other gateway's stands. It
// returns the new revision, or 0 after yielding c to the gateway that holds
// the entry.
func (n *Node) renew(ctx context.Context, kv jetstream.KeyValue, c *camera, data []byte) (uint64, error) {
	rev, err := kv.Create(ctx, c.id, data)
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return rev, err
	}
	cur, err := kv.Get(ctx, c.id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, fmt.Errorf("directory entry of %s vanished while claiming: %w", c.id, err)
	}
	if err != nil {
		return 0, err
	}
	var v entry
	if json.Unmarshal(cur.Value(), &v) == nil && v.Gateway != "" && v.Gateway != n.opts.Name {
		n.yield(c, v.Gateway)
		return 0, nil
	}
	// Our own entry from before (or garbage under our key): take it over.
	return kv.Update(ctx, c.id, data, cur.Revision())
}

// heartbeat renews this gateway's entries, each only if it is still ours:
// an update that finds a newer revision lost the camera to another gateway.
func (n *Node) heartbeat(ctx context.Context, kv jetstream.KeyValue) {
	for _, c := range n.localCameras() {
		rev := c.rev.Load()
		if rev == 0 {
			continue
		}
		data, _ := json.Marshal(entry{Gateway: n.opts.Name, Name: c.name, Source: c.source})
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		next, err := kv.Update(octx, c.id, data, rev)
		if err == nil {
			c.rev.Store(next)
			cancel()
			continue
		}
		cur, gerr := kv.Get(octx, c.id)
		cancel()
		switch {
		case errors.Is(gerr, jetstream.ErrKeyNotFound):
			// Expired (a long outage, a new server): claim it again.
			c.rev.Store(0)
		case gerr != nil:
			// NATS unreachable: keep the revision and try again.
		default:
			var v entry
			if json.Unmarshal(cur.Value(), &v) == nil && v.Gateway != n.opts.Name && cur.Revision() > rev {
				n.yield(c, v.Gateway)
			} else {
				c.rev.Store(0) // ours but rewritten: claim afresh
			}
		}
	}
	n.reconcile(ctx, kv)
}

// releaseAll deletes this gateway's claims as it shuts down, so that the
// others show its cameras without an owner at once rather than when the
// entries expire. It reads each key rather than trusting the revision it
// holds: a claim cut short by the shutdown may have been written without
// its answer arriving. A claim another gateway has overwritten stays.
func (n *Node) releaseAll(kv jetstream.KeyValue) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	for _, c := range n.localCameras() {
		c.rev.Store(0)
		cur, err := kv.Get(ctx, c.id)
		if err != nil {
			continue // none, or NATS is gone: the entry expires
		}
		var v entry
		if json.Unmarshal(cur.Value(), &v) == nil && v.Gateway == n.opts.Name {
			_ = kv.Delete(ctx, c.id, jetstream.LastRevision(cur.Revision()))
		}
	}
}

func (n *Node) localCameras() []*camera {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*camera, 0, len(n.cameras))
	for _, c := range n.cameras {
		if c.local {
			out = append(out, c)
		}
	}
	return out
}

// validID reports whether id can be a camera id (config's rule: lowercase
// letters, digits and '-', at most 64): a key written by something other
// than a gateway must not become a URL path here.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
