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
		name string
		live uint64
		want int
	}{
		{"a large heap keeps the share", 64 * mib, 50},
		{"exactly at the floor", 16 * mib, 50},
		{"a small heap gets the floor", 2 * mib, 401},
		{"a tiny heap is capped", 1024, maxPercent},
		{"nothing measured yet", 0, maxPercent},
	} {
		if got := percentFor(50, 8*mib, c.live); got != c.want {
			t.Errorf("%s: live %d bytes: GOGC %d, want %d", c.name, c.live, got, c.want)
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
