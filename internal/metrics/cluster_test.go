package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
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
	lint(t, reg)
}
