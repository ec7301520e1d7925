package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// TestClusterMetricsLint runs promlint over the cluster collectors, next to
// the gateway's own on one registry (no name may clash).
func TestClusterMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg, Build{Version: "v1.2.3"})
	c := NewCluster(reg)
	c.FramesPublished.WithLabelValues("front").Inc()
	c.FramesReceived.WithLabelValues("front").Inc()
	c.PublishErrors.WithLabelValues("front")
	c.Latency.WithLabelValues("front").Observe(0.001)
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
