package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestThePercentKeepsTheHeadroomAtTheFloor(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name    string
		percent int
		floor   uint64
		scanned uint64
		want    int
	}{
		{"a large heap keeps the share", 25, 4 * mib, 64 * mib, 25},
		{"exactly at the floor", 25, 4 * mib, 16 * mib, 25},
		{"a smaller heap gets the floor", 25, 4 * mib, 8 * mib, 51},
		// At GOGC 100 the runtime's own minimum heap is 4 MiB, the floor.
		{"a tiny heap stops where the minimum heap is the floor", 25, 4 * mib, 1024, 100},
		{"nothing measured yet", 25, 4 * mib, 0, 100},
		{"a larger floor allows more", 25, 8 * mib, 1024, 200},
		{"a share above the limit is kept", 300, 4 * mib, 1024, 300},
	} {
		if got := percentFor(c.percent, c.floor, c.scanned); got != c.want {
			t.Errorf("%s: GOGC %d, floor %d, scanned %d bytes: got GOGC %d, want %d", c.name, c.percent, c.floor, c.scanned, got, c.want)
		}
	}
}

// gogc reads the runtime's GOGC as it stands.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// collectUntil runs collections until ok holds (the tuner runs after a
// cycle, on the runtime's cleanup goroutine) or a long time has passed.
func collectUntil(t *testing.T, ok func() bool) bool {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		runtime.GC()
		if ok() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func TestAfterEachCollectionGOGCFollowsTheLiveHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const floor = 32 << 20
	tu := Start(50, floor)
	defer tu.Stop()

	// This test binary holds a few MiB: the floor decides.
	if !collectUntil(t, func() bool { return gogc() > 50 }) {
		t.Fatalf("with a small live heap GOGC stayed %d; want it raised toward the %d-byte floor", gogc(), floor)
	}
	if gogc() != tu.Percent() {
		t.Errorf("runtime GOGC %d, tuner says %d", gogc(), tu.Percent())
	}

	// Hold 128 MiB: half of it is past the floor, so the share decides.
	held := make([][]byte, 128)
	for i := range held {
		held[i] = make([]byte, 1<<20)
		held[i][0] = 1
	}
	if !collectUntil(t, func() bool { return gogc() == 50 }) {
		t.Errorf("with 128 MiB live GOGC is %d; want the share, 50", gogc())
	}
	runtime.KeepAlive(held)
	held = nil

	// Stopped, it leaves GOGC alone however the heap changes.
	tu.Stop()
	runtime.GC()
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	if got := gogc(); got != 50 {
		t.Errorf("after Stop GOGC moved to %d", got)
	}
}
