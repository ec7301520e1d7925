package metrics

import (
	"math"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// LastFrameAge makes camrelay_last_frame_age_seconds{camera} report what age
// returns at each scrape: the seconds since the camera's newest frame
// reached the gateway. age returns NaN while the camera has no frame yet;
// the camera then has no series, rather than a made-up age. age is called
// from the scraping goroutine, so it must be safe for concurrent use and
// cheap (a hub's Latest is both). Calling LastFrameAge again for the same
// camera replaces its func.
//
// A gauge computed at scrape time, rather than a timestamp set per frame,
// keeps the publish path free of another metric update and answers "how
// stale is this camera now" directly, without time() arithmetic in PromQL.
func (m *Metrics) LastFrameAge(camera string, age func() float64) {
	m.lastFrame.set(camera, age)
}

// ageCollector is the collector behind LastFrameAge. Safe for concurrent
// use: scrapes read the funcs while cameras are added.
type ageCollector struct {
	desc *prometheus.Desc

	mu    sync.Mutex
	funcs map[string]func() float64 // camera → age
}

func newAgeCollector() *ageCollector {
	return &ageCollector{
		desc: prometheus.NewDesc("camrelay_last_frame_age_seconds",
			"Seconds since the camera's newest frame reached the gateway; absent until the first frame.",
			[]string{"camera"}, nil),
		funcs: map[string]func() float64{},
	}
}

func (c *ageCollector) set(camera string, age func() float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.funcs[camera] = age
}

// Describe implements prometheus.Collector.
func (c *ageCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. The funcs run outside the lock,
// so a slow one cannot hold up LastFrameAge.
func (c *ageCollector) Collect(ch chan<- prometheus.Metric) {
	type entry struct {
		camera string
		age    func() float64
	}
	c.mu.Lock()
	entries := make([]entry, 0, len(c.funcs))
	for cam, f := range c.funcs {
		entries = append(entries, entry{cam, f})
	}
	c.mu.Unlock()
	for _, e := range entries {
		v := e.age()
		if math.IsNaN(v) {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, e.camera)
	}
}
