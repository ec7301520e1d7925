// Package hub holds the recent frames of one camera and wakes its viewers
// when a new frame lands. It does no I/O: sources publish into it, viewers
// read from it, and neither ever waits for the other.
package hub

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camrelay/camrelay/internal/frame"
)

// Defaults for Options.
const (
	// DefaultRing frames are kept per camera: enough for a viewer that
	// wants "the frame before this one" and for snapshots, small enough
	// that a 4 MiB UXGA frame costs at most 32 MiB per camera.
	DefaultRing = 8
	// DefaultFreshFor is how old the newest frame may be and still be sent
	// at once to a viewer that joins. Older frames would show a stale
	// picture as if it were live, so the viewer waits for the next one.
	DefaultFreshFor = 3 * time.Second
)

// Options configure a Hub. The zero value means defaults.
type Options struct {
	// Ring is the number of recent frames kept. Zero means DefaultRing.
	Ring int
	// FreshFor is the age up to which the newest frame counts as live for
	// a joining viewer. Zero means DefaultFreshFor; negative means a joining
	// viewer always waits for the next frame.
	FreshFor time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Hub is one camera's newest frames, its online state and its last status
// messages. All methods are safe for concurrent use.
//
// Publish never blocks on a viewer and its cost does not depend on how many
// are watching: it stores the frame and signals the hub's Run goroutine,
// which wakes the viewers by closing one channel. Waking is still work for
// the runtime (about 15 ns per waiting viewer), but it is done by Run, not
// by the source that publishes.
type Hub struct {
	id       string
	freshFor time.Duration
	now      func() time.Time

	mu      sync.Mutex // guards everything below
	ring    []*frame.Frame
	next    int // ring index of the next write
	seq     uint64
	online  bool
	since   time.Time     // when online last changed
	changed chan struct{} // closed by Run after a change
	hello   json.RawMessage
	status  json.RawMessage

	// snap is what viewers read, replaced (never modified) under mu at
	// every change: a thousand viewers woken at once read it without
	// queueing on mu.
	snap atomic.Pointer[Snapshot]

	viewers atomic.Int64
	bytes   atomic.Uint64
	wake    chan struct{} // capacity 1: changes since Run last woke the viewers
	demand  chan struct{} // capacity 1: the viewer count went to or from zero
}

// New returns the hub of camera id.
func New(id string, opts *Options) *Hub {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Ring <= 0 {
		o.Ring = DefaultRing
	}
	if o.FreshFor == 0 {
		o.FreshFor = DefaultFreshFor
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Hub{
		id:       id,
		freshFor: o.FreshFor,
		now:      o.Now,
		ring:     make([]*frame.Frame, o.Ring),
		since:    o.Now(),
		changed:  make(chan struct{}),
		wake:     make(chan struct{}, 1),
		demand:   make(chan struct{}, 1),
	}
	h.mu.Lock()
	h.storeLocked()
	h.mu.Unlock()
	return h
}

// storeLocked publishes the current state for Snapshot.
func (h *Hub) storeLocked() {
	h.snap.Store(&Snapshot{
		Frame:   h.ring[(h.next+len(h.ring)-1)%len(h.ring)],
		Online:  h.online,
		Since:   h.since,
		Changed: h.changed,
	})
}

// Run wakes the viewers after each change until ctx ends. Viewers of a hub
// whose Run is not running are never woken.
func (h *Hub) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.wake:
		}
		// Swap under the lock, close outside it: readying thousands of
		// viewers must not hold up the next Publish.
		h.mu.Lock()
		old := h.changed
		h.changed = make(chan struct{})
		h.storeLocked()
		h.mu.Unlock()
		close(old)
	}
}

// ID returns the camera's id.
func (h *Hub) ID() string { return h.id }

// Publish stores f as the newest frame, gives it the next sequence number,
// marks the camera online and wakes every waiting viewer. The hub keeps f:
// the caller must not modify it afterwards. Publish returns f's sequence.
func (h *Hub) Publish(f *frame.Frame) uint64 {
	h.bytes.Add(uint64(len(f.Data)))
	h.mu.Lock()
	h.seq++
	f.Seq = h.seq
	h.ring[h.next] = f
	h.next = (h.next + 1) % len(h.ring)
	if !h.online {
		h.online = true
		h.since = h.now()
	}
	seq := f.Seq
	h.storeLocked()
	h.mu.Unlock()
	h.signal()
	return seq
}

// SetOnline records whether the camera's link is up and delivering. Only a
// change wakes the viewers.
func (h *Hub) SetOnline(online bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.online == online {
		return
	}
	h.online = online
	h.since = h.now()
	h.storeLocked()
	h.signal()
}

// SetHello keeps the camera's last hello message (firmware, board, frame
// size...), shown in the camera list.
func (h *Hub) SetHello(msg json.RawMessage) {
	h.mu.Lock()
	h.hello = msg
	h.mu.Unlock()
}

// SetStatus keeps the camera's last status message (RSSI, heap...).
func (h *Hub) SetStatus(msg json.RawMessage) {
	h.mu.Lock()
	h.status = msg
	h.mu.Unlock()
}

// signal tells Run that something changed. It never blocks: one pending
// signal covers any number of changes, since a woken viewer always takes
// the newest state.
func (h *Hub) signal() { notify(h.wake) }

// Snapshot is a consistent view of a hub at one moment.
type Snapshot struct {
	// Frame is the newest frame, nil if the camera never sent one.
	Frame *frame.Frame
	// Online reports whether the camera's link is delivering frames.
	Online bool
	// Since is when Online last changed (the hub's creation at first).
	Since time.Time
	// Changed is closed at the next publish or change of Online.
	Changed <-chan struct{}
}

// Snapshot returns the newest frame, the online state and the channel that
// announces the next change, taken together so that no change falls between
// them. It takes no lock.
func (h *Hub) Snapshot() Snapshot {
	return *h.snap.Load()
}

// Latest returns the newest frame, or nil if there is none.
func (h *Hub) Latest() *frame.Frame {
	return h.Snapshot().Frame
}

// Recent returns the frames in the ring, oldest first.
func (h *Hub) Recent() []*frame.Frame {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*frame.Frame, 0, len(h.ring))
	for i := range len(h.ring) {
		if f := h.ring[(h.next+i)%len(h.ring)]; f != nil {
			out = append(out, f)
		}
	}
	return out
}

// Info is what the hub knows about its camera beyond frames.
type Info struct {
	Online  bool
	Since   time.Time
	Seq     uint64
	Hello   json.RawMessage
	Status  json.RawMessage
	Viewers int
	// Bytes is the total size of the frames published.
	Bytes uint64
}

// Info returns the camera's state and last messages.
func (h *Hub) Info() Info {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Info{
		Online:  h.online,
		Since:   h.since,
		Seq:     h.seq,
		Hello:   h.hello,
		Status:  h.status,
		Viewers: int(h.viewers.Load()),
		Bytes:   h.bytes.Load(),
	}
}

// Join counts a viewer in; the returned func counts it out. Calling it more
// than once counts once.
func (h *Hub) Join() (leave func()) {
	if h.viewers.Add(1) == 1 {
		notify(h.demand)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if h.viewers.Add(-1) == 0 {
				notify(h.demand)
			}
		})
	}
}

// DemandChanged announces that the number of viewers went from zero to one
// or from one to zero; read Viewers for the count. One receiver only.
func (h *Hub) DemandChanged() <-chan struct{} { return h.demand }

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Viewers returns how many viewers have joined and not left.
func (h *Hub) Viewers() int { return int(h.viewers.Load()) }

// Cursor follows a hub for one viewer: it remembers the last frame the viewer
// took and the online state it last saw. A Cursor is owned by one goroutine.
type Cursor struct {
	h        *Hub
	seq      uint64
	online   bool
	started  bool
	changed  <-chan struct{}
	lastSeen Snapshot
}

// Follow returns a cursor for a new viewer. Its first Next returns the
// newest frame at once if that frame is fresh (younger than FreshFor);
// otherwise it waits for the next one.
func (h *Hub) Follow() *Cursor {
	s := h.Snapshot()
	c := &Cursor{h: h, online: s.Online, changed: s.Changed, lastSeen: s}
	if s.Frame != nil && h.now().Sub(s.Frame.Received) > h.freshFor {
		c.seq = s.Frame.Seq // stale: wait for a newer one
	}
	return c
}

// Event is what Next reports: a newer frame, a change of online state, or
// both.
type Event struct {
	// Frame is the newest frame if it is newer than the last one taken,
	// else nil.
	Frame *frame.Frame
	// Skipped counts the frames published between the last one taken and
	// Frame that this viewer never got (newest wins).
	Skipped uint64
	// OnlineChanged reports that Online differs from the last event's.
	OnlineChanged bool
	Online        bool
	Since         time.Time
}

// Next returns at once if a newer frame or an online change is pending,
// otherwise it waits for one or for ctx to end. ok is false when ctx ended
// first. A viewer that was busy while several frames were published gets
// only the newest of them.
func (c *Cursor) Next(ctx context.Context) (Event, bool) {
	if !c.started {
		c.started = true
		if ev, ok := c.take(c.lastSeen); ok {
			return ev, true
		}
	}
	for {
		select {
		case <-c.changed:
		case <-ctx.Done():
			return Event{}, false
		}
		if ev, ok := c.take(c.h.Snapshot()); ok {
			return ev, true
		}
	}
}

// Poll is Next without waiting: ok is false when nothing is pending.
func (c *Cursor) Poll() (Event, bool) {
	c.started = true
	return c.take(c.h.Snapshot())
}

// take moves the cursor to s and reports what changed since its last event.
func (c *Cursor) take(s Snapshot) (ev Event, ok bool) {
	c.lastSeen = s
	c.changed = s.Changed
	if s.Online != c.online {
		ev.OnlineChanged = true
		c.online = s.Online
	}
	ev.Online, ev.Since = s.Online, s.Since
	if s.Frame != nil && s.Frame.Seq > c.seq {
		if c.seq > 0 {
			ev.Skipped = s.Frame.Seq - c.seq - 1
		}
		ev.Frame = s.Frame
		c.seq = s.Frame.Seq
	}
	return ev, ev.Frame != nil || ev.OnlineChanged
}

// Changed is closed at the first change after the cursor's last event or
// Poll: wait on it, then Poll.
func (c *Cursor) Changed() <-chan struct{} { return c.changed }

// SkipTo moves the cursor past frame seq, which was delivered to its viewer
// by other means (the camera's direct fan-out): the next event reports only
// newer frames, and counts as skipped only those the viewer never got. A
// cursor already past seq stays where it is.
func (c *Cursor) SkipTo(seq uint64) {
	if seq > c.seq {
		c.seq = seq
	}
}

// Start returns the state the cursor starts from: what a viewer must be
// told first (online or not), so that the cursor's next event is the change
// from exactly that. A state read separately may already be newer, and the
// change in between would never be reported.
func (c *Cursor) Start() Snapshot { return c.lastSeen }

// Seq returns the sequence of the last frame this cursor took.
func (c *Cursor) Seq() uint64 { return c.seq }
