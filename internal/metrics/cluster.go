package metrics

import "github.com/prometheus/client_golang/prometheus"

// Cluster holds the collectors of a gateway that is part of a cluster. Only
// such a gateway registers them: a single gateway shows no cluster series.
// Safe for concurrent use.
type Cluster struct {
	FramesPublished *prometheus.CounterVec   // camera
	FramesReceived  *prometheus.CounterVec   // camera
	PublishErrors   *prometheus.CounterVec   // camera
	Latency         *prometheus.HistogramVec // camera
	Subscriptions   prometheus.Gauge
	Conflicts       prometheus.Counter
	Connected       prometheus.Gauge
}

// NewCluster creates the cluster collectors and registers them on reg.
func NewCluster(reg prometheus.Registerer) *Cluster {
	cam := []string{"camera"}
	c := &Cluster{
		FramesPublished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_cluster_frames_published_total", Help: "Frames of cameras whose link this gateway holds, published to the cluster.",
		}, cam),
		FramesReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_cluster_frames_received_total", Help: "Frames received from another gateway of the cluster and published to local viewers.",
		}, cam),
		PublishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_cluster_publish_errors_total", Help: "Frames or status messages that could not be published to the cluster (NATS unreachable or frame too large).",
		}, cam),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "camrelay_cluster_latency_seconds", Help: "Time from the owning gateway receiving a frame to this gateway publishing it to its viewers (includes clock difference between the hosts).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1},
		}, cam),
		Subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "camrelay_cluster_subscriptions", Help: "Cameras of other gateways this gateway is subscribed to now (those with local viewers).",
		}),
		Conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "camrelay_cluster_directory_conflicts_total", Help: "Times another gateway claimed a camera whose link this gateway held (newest uplink wins).",
		}),
		Connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "camrelay_cluster_connected", Help: "1 while the gateway is connected to NATS, else 0.",
		}),
	}
	reg.MustRegister(c.FramesPublished, c.FramesReceived, c.PublishErrors, c.Latency, c.Subscriptions, c.Conflicts, c.Connected)
	return c
}
