package metrics

import (
	"math"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// TestMetricsLint runs promlint (the linter behind `promtool check
// metrics`) over every camrelay collector, with a camera readied so that
// the vectors have series to lint.
func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, Build{Version: "v1.2.3", Commit: "abc", Date: "2026-01-02T03:04:05Z"})
	m.Camera("front")
	m.LastFrameAge("front", func() float64 { return 1.5 })
	lint(t, reg)
}

// lint fails t for every problem promlint finds in reg's metrics.
func lint(t *testing.T, reg *prometheus.Registry) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestMetricsCameraReadiesEveryDropReason checks that a camera that never
// dropped a frame still has a zero series for each reason, so that rate()
// and alerts see it from start-up.
func TestMetricsCameraReadiesEveryDropReason(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, Build{})
	m.Camera("front")
	got := gauges(t, reg, "camrelay_frames_dropped_total", "reason")
	if len(got) != len(DropReasons) {
		t.Errorf("camrelay_frames_dropped_total for a new camera: %v, want one zero series per reason in %v", got, DropReasons)
	}
	for _, r := range DropReasons {
		if v, ok := got[r]; !ok || v != 0 {
			t.Errorf("reason %q: %v, %v; want a zero series", r, v, ok)
		}
	}
}

// TestMetricsNewReadiesAuthAndLimitSeries: the first auth failure or limit
// hit must show in increase(), so these series exist at zero from New.
func TestMetricsNewReadiesAuthAndLimitSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg, Build{})
	wantAuth := map[string]float64{}
	for _, e := range AuthEndpoints {
		wantAuth[e] = 0
	}
	if got := gauges(t, reg, "camrelay_auth_failures_total", "endpoint"); !reflect.DeepEqual(got, wantAuth) {
		t.Errorf("camrelay_auth_failures_total: %v, want %v", got, wantAuth)
	}
	if got, want := gauges(t, reg, "camrelay_limit_hits_total", "reason"), map[string]float64{LimitViewersPerCamera: 0, LimitViewersTotal: 0, LimitViewerMessage: 0,
		LimitConnsPerClient: 0, LimitAuthFailures: 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("camrelay_limit_hits_total: %v, want %v", got, want)
	}
}

func TestMetricsLastFrameAge(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, Build{})
	var age atomic.Uint64 // float64 bits; NaN until the first frame
	age.Store(math.Float64bits(math.NaN()))
	m.LastFrameAge("front", func() float64 { return math.Float64frombits(age.Load()) })
	m.LastFrameAge("back", func() float64 { return 42 })

	const name = "camrelay_last_frame_age_seconds"
	if got, want := gauges(t, reg, name, "camera"), map[string]float64{"back": 42}; !reflect.DeepEqual(got, want) {
		t.Errorf("before front's first frame: %v, want %v (no series for a camera without a frame)", got, want)
	}
	age.Store(math.Float64bits(0.25))
	if got, want := gauges(t, reg, name, "camera"), map[string]float64{"back": 42, "front": 0.25}; !reflect.DeepEqual(got, want) {
		t.Errorf("after front's first frame: %v, want %v", got, want)
	}
	// Registering a camera again replaces its func instead of adding a
	// duplicate series, which would fail the whole scrape.
	m.LastFrameAge("back", func() float64 { return 7 })
	if got, want := gauges(t, reg, name, "camera"), map[string]float64{"back": 7, "front": 0.25}; !reflect.DeepEqual(got, want) {
		t.Errorf("after replacing back's func: %v, want %v", got, want)
	}
}

// TestMetricsLastFrameAgeConcurrent adds cameras while scrapes run, for the
// race detector.
func TestMetricsLastFrameAgeConcurrent(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, Build{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			m.LastFrameAge(string(rune('a'+i%26)), func() float64 { return float64(i) })
		}
	}()
	for range 20 {
		if _, err := reg.Gather(); err != nil {
			t.Error(err)
		}
	}
	<-done
}

// gauges gathers reg and returns the values of the family name (a gauge or
// a counter) by the value of one label.
func gauges(t *testing.T, reg *prometheus.Registry, name, label string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			v := s.GetGauge().GetValue() + s.GetCounter().GetValue()
			for _, l := range s.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] = v
				}
			}
		}
	}
	return out
}
