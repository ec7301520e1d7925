// Package gctune keeps the garbage collector's headroom (how far the heap
// may grow past what is live before the next collection) at a floor.
//
// GOGC sets the headroom as a share of the live heap. The gateway's live
// heap is small and grows with its viewers, while its garbage (one buffer
// per camera frame, ~35 KB twenty times a second) does not depend on them.
// A low GOGC keeps a gateway with a thousand viewers from holding megabytes
// of idle heap, but with a hundred viewers the same share is a heap of a
// few MiB that a camera's frames fill in a second: the gateway collected
// about once a second, and each cycle scans every viewer's goroutine
// stack. A floor in bytes lets a small heap go several seconds between
// collections and leaves the share in charge of a large one.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// maxPercent bounds the GOGC the floor asks for when almost nothing is live.
const maxPercent = 1000

// Tuner adjusts GOGC after every collection. Start one per process.
type Tuner struct {
	percent int    // the share of the live heap, as GOGC
	floor   uint64 // the least headroom, in bytes
	stopped atomic.Bool
	set     atomic.Int64 // the GOGC last set
	sample  []metrics.Sample
}

// Start sets GOGC to percent and, after each collection, raises it as far
// as the headroom needs to reach floor bytes. It starts no goroutine: the
// runtime calls it back once per cycle. Stop ends it.
func Start(percent int, floor uint64) *Tuner {
	t := &Tuner{
		percent: percent,
		floor:   floor,
		sample:  []metrics.Sample{{Name: "/gc/heap/live:bytes"}},
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

// percentFor returns what GOGC should be for a live heap of live bytes.
func percentFor(percent int, floor, live uint64) int {
	if live == 0 {
		return maxPercent
	}
	if live*uint64(percent)/100 >= floor {
		return percent
	}
	return int(min(floor*100/live+1, maxPercent))
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

func (t *Tuner) adjust() {
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return // not measured by this runtime: keep the plain share
	}
	t.apply(percentFor(t.percent, t.floor, t.sample[0].Value.Uint64()))
}

func (t *Tuner) apply(p int) {
	if int64(p) != t.set.Load() {
		debug.SetGCPercent(p)
		t.set.Store(int64(p))
	}
}
