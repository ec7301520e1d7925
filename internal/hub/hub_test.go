package hub

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/camrelay/camrelay/internal/frame"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable time source for the fresh-frame rule.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newHub(t *testing.T, ring int) (*Hub, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	h := New("cam", &Options{Ring: ring, Now: clk.Now})
	run(t, h)
	return h, clk
}

// run runs the hub's waker until the test ends.
func run(tb testing.TB, h *Hub) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	tb.Cleanup(func() { cancel(); <-done })
}

func publish(h *Hub, clk *clock, tag string) *frame.Frame {
	f := &frame.Frame{Data: []byte(tag), Received: clk.Now()}
	h.Publish(f)
	return f
}

func next(t *testing.T, c *Cursor) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, ok := c.Next(ctx)
	if !ok {
		t.Fatal("Next timed out")
	}
	return ev
}

func TestPublishNumbersFramesAndMarksOnline(t *testing.T) {
	h, clk := newHub(t, 4)
	if s := h.Snapshot(); s.Online || s.Frame != nil {
		t.Fatalf("a new hub is online=%v with frame %v", s.Online, s.Frame)
	}
	for i := 1; i <= 3; i++ {
		if seq := h.Publish(&frame.Frame{Received: clk.Now()}); seq != uint64(i) {
			t.Fatalf("publish %d got seq %d", i, seq)
		}
	}
	if s := h.Snapshot(); !s.Online || s.Frame.Seq != 3 {
		t.Fatalf("after 3 frames: online=%v newest=%d", s.Online, s.Frame.Seq)
	}
}

func TestRingKeepsTheNewestFramesOldestFirst(t *testing.T) {
	h, clk := newHub(t, 3)
	for i := range 5 {
		publish(h, clk, fmt.Sprint(i))
	}
	var got []string
	for _, f := range h.Recent() {
		got = append(got, string(f.Data))
	}
	if fmt.Sprint(got) != "[2 3 4]" {
		t.Fatalf("Recent = %v, want [2 3 4]", got)
	}
}

func TestViewerGetsEveryFrameWhenKeepingUp(t *testing.T) {
	h, clk := newHub(t, 8)
	c := h.Follow()
	for i := range 10 {
		publish(h, clk, fmt.Sprint(i))
		ev := next(t, c)
		if string(ev.Frame.Data) != fmt.Sprint(i) || ev.Skipped != 0 {
			t.Fatalf("frame %d: got %q skipped %d", i, ev.Frame.Data, ev.Skipped)
		}
	}
}

func TestSlowViewerSkipsToTheNewestFrame(t *testing.T) {
	h, clk := newHub(t, 8)
	c := h.Follow()
	publish(h, clk, "a")
	next(t, c)
	for _, tag := range []string{"b", "c", "d"} {
		publish(h, clk, tag)
	}
	ev := next(t, c)
	if string(ev.Frame.Data) != "d" || ev.Skipped != 2 {
		t.Fatalf("got %q skipped %d, want d skipped 2", ev.Frame.Data, ev.Skipped)
	}
}

func TestJoiningViewerGetsAFreshFrameAtOnce(t *testing.T) {
	h, clk := newHub(t, 8)
	publish(h, clk, "live")
	clk.Add(DefaultFreshFor - time.Millisecond)
	ev := next(t, h.Follow())
	if string(ev.Frame.Data) != "live" {
		t.Fatalf("got %q, want the fresh frame", ev.Frame.Data)
	}
}

func TestJoiningViewerWaitsInsteadOfGettingAStaleFrame(t *testing.T) {
	h, clk := newHub(t, 8)
	publish(h, clk, "old")
	clk.Add(DefaultFreshFor + time.Millisecond)
	c := h.Follow()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if ev, ok := c.Next(ctx); ok {
		t.Fatalf("a stale frame was delivered: %+v", ev)
	}
	publish(h, clk, "new")
	if ev := next(t, c); string(ev.Frame.Data) != "new" || ev.Skipped != 0 {
		t.Fatalf("got %q skipped %d", ev.Frame.Data, ev.Skipped)
	}
}

func TestOnlineChangesWakeViewers(t *testing.T) {
	h, clk := newHub(t, 8)
	c := h.Follow()
	publish(h, clk, "a")
	if ev := next(t, c); !ev.OnlineChanged || !ev.Online {
		t.Fatalf("first frame: %+v, want online change to true", ev)
	}
	clk.Add(time.Second)
	h.SetOnline(false)
	ev := next(t, c)
	if !ev.OnlineChanged || ev.Online || ev.Frame != nil || !ev.Since.Equal(clk.Now()) {
		t.Fatalf("offline: %+v", ev)
	}
	h.SetOnline(false) // no change, no event
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if ev, ok := c.Next(ctx); ok {
		t.Fatalf("a repeated offline woke the viewer: %+v", ev)
	}
}

func TestNextEndsWithItsContext(t *testing.T) {
	h, _ := newHub(t, 8)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool)
	go func() { _, ok := h.Follow().Next(ctx); done <- ok }()
	cancel()
	if <-done {
		t.Fatal("Next reported a frame after its context ended")
	}
}

func TestJoinCountsViewers(t *testing.T) {
	h, _ := newHub(t, 8)
	a, b := h.Join(), h.Join()
	a()
	a() // a second call must not count twice
	if n := h.Viewers(); n != 1 {
		t.Fatalf("viewers = %d, want 1", n)
	}
	b()
	if n := h.Info().Viewers; n != 0 {
		t.Fatalf("viewers = %d, want 0", n)
	}
}

// TestManyViewersSeeFramesInOrder runs publishers and viewers concurrently
// (meaningful under -race): every viewer sees strictly increasing sequences
// and ends on the last frame.
func TestManyViewersSeeFramesInOrder(t *testing.T) {
	h, clk := newHub(t, 8)
	const viewers, frames = 50, 500
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, viewers)
	for range viewers {
		c := h.Follow()
		wg.Go(func() {
			var last uint64
			for last < frames {
				ev, ok := c.Next(ctx)
				if !ok {
					errs <- fmt.Errorf("ended at %d", last)
					return
				}
				if ev.Frame == nil {
					continue
				}
				if ev.Frame.Seq <= last || (last > 0 && ev.Skipped != ev.Frame.Seq-last-1) {
					errs <- fmt.Errorf("seq %d after %d, skipped %d", ev.Frame.Seq, last, ev.Skipped)
					return
				}
				last = ev.Frame.Seq
			}
		})
	}
	for range frames {
		h.Publish(&frame.Frame{Received: clk.Now()})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkPublish: publishing costs the same for 1 and 10,000 viewers
// that are busy writing.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{0, 1, 100, 10000} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) {
			h := New("cam", nil)
			run(b, h)
			f := &frame.Frame{Received: time.Now()}
			for range n {
				h.Follow() // joined but not waiting: busy viewers
			}
			for b.Loop() {
				h.Publish(&frame.Frame{Data: f.Data, Received: f.Received})
			}
		})
	}
}

func TestPollNeverWaits(t *testing.T) {
	h, clk := newHub(t, 8)
	c := h.Follow()
	if _, ok := c.Poll(); ok {
		t.Fatal("Poll reported an event on an empty hub")
	}
	publish(h, clk, "a")
	publish(h, clk, "b")
	ev, ok := c.Poll()
	if !ok || string(ev.Frame.Data) != "b" {
		t.Fatalf("Poll = %+v, %v; want frame b", ev, ok)
	}
	if _, ok := c.Poll(); ok {
		t.Fatal("Poll reported the same frame twice")
	}
}

// BenchmarkPublishToWaitingViewers: publishing costs the same for 1 and
// 10,000 viewers waiting for it; Run does the waking.
func BenchmarkPublishToWaitingViewers(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) {
			h := New("cam", nil)
			run(b, h)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for range n {
				c := h.Follow()
				wg.Go(func() {
					for {
						if _, ok := c.Next(ctx); !ok {
							return
						}
					}
				})
			}
			var publish time.Duration
			for b.Loop() {
				start := time.Now()
				h.Publish(&frame.Frame{Received: start})
				publish += time.Since(start)
				for h.Viewers() < 0 { // keep the loop body from being optimised away
				}
				time.Sleep(time.Millisecond) // let the viewers go back to waiting
			}
			b.ReportMetric(float64(publish.Nanoseconds())/float64(b.N), "ns/publish")
			cancel()
			wg.Wait()
		})
	}
}

// A viewer is told the state its cursor starts from, and then every change
// from exactly that state: a change between the two is never lost, however
// late the viewer's loop starts.
func TestACursorReportsChangesFromTheStateItStartsFrom(t *testing.T) {
	h, clk := newHub(t, 4)
	c := h.Follow()
	if c.Start().Online {
		t.Fatal("a new hub's cursor starts online")
	}
	publish(h, clk, "a") // the camera comes online before the viewer's loop looks
	ev, ok := c.Poll()
	if !ok || !ev.OnlineChanged || !ev.Online || ev.Frame == nil {
		t.Fatalf("Poll = %+v, %v; want the change to online with the frame", ev, ok)
	}
}
