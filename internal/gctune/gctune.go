// Package gctune keeps the garbage collector's headroom (how far the heap
// may grow past what is live before the next collection) at a floor.
//
// GOGC sets the headroom as a share of what a collection scans: the live
// heap, goroutine stacks and globals. What the gateway scans is small and
// grows with its viewers, while its garbage (one buffer per camera frame,
// ~35 KB twenty times a second) does not depend on them. A low GOGC keeps
// a gateway with a thousand viewers from holding megabytes of idle heap,
// but with a hundred viewers the same share is a few MiB that a camera's
// frames fill in a second: the gateway collected about once a second, and
// each cycle scans every viewer's goroutine stack. A floor in bytes lets a
// small gateway go several seconds between collections and leaves the
// share in charge of a large one.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// minHeap is the runtime's minimum heap target at GOGC 100. The runtime
// scales it with GOGC (4 MiB × GOGC/100), so a GOGC raised for a floor
// must stay where that minimum is at most the floor, or the minimum
// would become a higher floor by itself.
const minHeap = 4 << 20

// Tuner adjusts GOGC after every collection. Start one per process.
type Tuner struct {
	percent int    // the share of what a collection scans, as GOGC
	floor   uint64 // the least headroom, in bytes
	stopped atomic.Bool
	set     atomic.Int64 // the GOGC last set
	sample  []metrics.Sample
}

// Start sets GOGC to percent and, after each collection, raises it as far
// as the headroom needs to reach floor bytes, no further than where the
// runtime's minimum heap equals the floor (which then keeps the floor
// when almost nothing is live). It starts no
// goroutine: the runtime calls it back once per cycle. Stop ends it.
func Start(percent int, floor uint64) *Tuner {
	t := &Tuner{
		percent: percent,
		floor:   floor,
		sample: []metrics.Sample{
			{Name: "/gc/heap/live:bytes"},
			{Name: "/gc/scan/stack:bytes"},
			{Name: "/gc/scan/globals:bytes"},
		},
	}
	t.apply(percent)
	t.adjust()
	t.arm()
	return t
}

// Stop leaves GOGC as it is and stops adjusting it (from the next cycle).
func (t *Tuner) Stop() { t.stopped.Store(true) }

// Percent is the GOGC the tuner last set.
func (t *Tuner) Percent() int { return int(t.set.Load()) }

// percentFor returns what GOGC should be when a collection scans scanned
// bytes.
func percentFor(percent int, floor, scanned uint64) int {
	limit := max(percent, int(floor*100/minHeap))
	if scanned == 0 {
		return limit
	}
	if scanned*uint64(percent)/100 >= floor {
		return percent
	}
	return int(min(floor*100/scanned+1, uint64(limit)))
}

// sentinel is garbage from birth: its cleanup runs once the next
// collection has found it unreachable. 32 bytes keep it out of the tiny
// allocator, whose blocks may outlive their contents.
type sentinel [32]byte

func (t *Tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *Tuner) {
		if t.stopped.Load() {
			return
		}
		t.adjust()
		t.arm()
	}, t)
}

// adjust sets GOGC for the heap the last collection left. The runtime
// applies GOGC to what it scans, the live heap plus goroutine stacks and
// globals, not to the live heap alone: with a thousand viewers their
// stacks outweigh the heap.
func (t *Tuner) adjust() {
	metrics.Read(t.sample)
	var scanned uint64
	for _, s := range t.sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return // not measured by this runtime: keep GOGC as it is
		}
		scanned += s.Value.Uint64()
	}
	t.apply(percentFor(t.percent, t.floor, scanned))
}

func (t *Tuner) apply(p int) {
	if int64(p) != t.set.Load() {
		debug.SetGCPercent(p)
		t.set.Store(int64(p))
	}
}
