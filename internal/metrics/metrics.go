// Package metrics defines every Prometheus collector of the gateway and
// registers them on a registry that the caller owns (never the global one).
package metrics

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Transports label viewers and what is sent to them.
const (
	TransportWS       = "ws"
	TransportMJPEG    = "mjpeg"
	TransportSnapshot = "snapshot"
)

// Build describes the running binary for camrelay_build_info.
type Build struct {
	Version, Commit, Date string
}

// Metrics holds the gateway's collectors. Labels are bounded: camera ids come
// from the config, transports and reasons from constants in the code; never a
// client address. Safe for concurrent use.
type Metrics struct {
	FramesIn      *prometheus.CounterVec   // camera
	BytesIn       *prometheus.CounterVec   // camera
	FramesDropped *prometheus.CounterVec   // camera, reason
	FrameBytes    *prometheus.HistogramVec // camera
	FrameInterval *prometheus.HistogramVec // camera
	CaptureDelay  *prometheus.HistogramVec // camera
	CameraUp      *prometheus.GaugeVec     // camera
	Reconnects    *prometheus.CounterVec   // camera
	Messages      *prometheus.CounterVec   // camera, type: text messages from the camera

	Viewers       *prometheus.GaugeVec     // camera, transport
	ViewersDirect *prometheus.GaugeVec     // camera, transport
	ViewersTotal  *prometheus.CounterVec   // camera, transport: viewers that joined
	FramesSent    *prometheus.CounterVec   // camera, transport
	FramesSkipped *prometheus.CounterVec   // camera, transport
	BytesOut      *prometheus.CounterVec   // camera, transport
	FanoutDelay   *prometheus.HistogramVec // camera, transport
	Disconnects   *prometheus.CounterVec   // camera, transport, reason
	LaneHandbacks *prometheus.CounterVec   // camera, transport, reason

	AuthFailures *prometheus.CounterVec // endpoint
	LimitHits    *prometheus.CounterVec // reason

	ViewerRejects *prometheus.CounterVec // camera, reason: viewer messages refused

	lastFrame *ageCollector // camera: camrelay_last_frame_age_seconds
}

// Label values that the code outside this package passes, named here so
// that New can ready their series at zero: increase() and rate() then see
// the first failure, which a series born at 1 would hide.
const (
	// EndpointIngest is the auth_failures endpoint of push cameras' uplinks.
	EndpointIngest = "ingest"
	// LimitViewersPerCamera and LimitViewersTotal are the limit_hits
	// reasons of the viewer limits.
	LimitViewersPerCamera = "viewers_per_camera"
	LimitViewersTotal     = "viewers_total"
	// LimitViewerMessage is the limit_hits reason of a viewer closed for a
	// text message over limits.max_viewer_message_bytes.
	LimitViewerMessage = "viewer_message_bytes"
	// LimitConnsPerClient refuses a client address with too many requests
	// and connections open; LimitAuthFailures one that sent too many wrong
	// credentials (429 until they are forgiven).
	LimitConnsPerClient = "conns_per_client"
	LimitAuthFailures   = "auth_failures"
)

// ViewerRejectReasons are the reasons a message from a viewer is refused,
// the values of camrelay_viewer_messages_rejected_total's reason label:
// over the size limit (the viewer is closed with 1009), binary (closed
// with 1003), not JSON with a type, or a type the gateway does not know
// (both answered with an error message; the viewer stays).
var ViewerRejectReasons = []string{"too_large", "binary", "not_json", "unknown_type"}

// AuthEndpoints are the auth_failures endpoints: the uplink (ingest), camera
// control, what viewers open when viewer auth is on, and /metrics when it
// takes a token.
var AuthEndpoints = []string{EndpointIngest, "control", "page", "ws", "mjpeg", "snapshot", "api", "metrics"}

// LaneHandbacks are the reasons a viewer leaves its camera's direct lane
// for its own goroutine, the values of camrelay_lane_handbacks_total's
// reason label: its socket had not drained the last frame (behind), was
// full (full), took only part of a frame (partial), was being written by
// the WebSocket library (busy), had a passed write deadline (deadline), or
// failed (error); the camera went online or offline (state); or the viewer
// stopped qualifying, for instance by asking for frame metadata (viewer).
var LaneHandbacks = []string{"behind", "full", "partial", "busy", "deadline", "error", "state", "viewer"}

// DropReasons are the reasons a frame from a camera is rejected, the values
// of camrelay_frames_dropped_total's reason label. Camera readies a series
// for each.
var DropReasons = []string{"empty", "not_jpeg", "truncated", "too_large", "invalid", "bad_message", "rate"}

// New creates the collectors and registers them, with the Go and process
// collectors and camrelay_build_info, on reg.
func New(reg prometheus.Registerer, b Build) *Metrics {
	cam := []string{"camera"}
	camT := []string{"camera", "transport"}
	m := &Metrics{
		FramesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_frames_received_total", Help: "JPEG frames accepted from the camera's link.",
		}, cam),
		BytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_received_bytes_total", Help: "Bytes of accepted JPEG frames from the camera's link.",
		}, cam),
		FramesDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_frames_dropped_total", Help: "Frames from the camera that were rejected, by reason (empty, not_jpeg, truncated, too_large, invalid, bad_message, rate).",
		}, []string{"camera", "reason"}),
		FrameBytes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "camrelay_frame_size_bytes", Help: "Size of accepted frames.",
			Buckets: prometheus.ExponentialBuckets(4096, 2, 11), // 4 KiB .. 4 MiB
		}, cam),
		FrameInterval: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "camrelay_frame_interval_seconds", Help: "Time between consecutive accepted frames of a camera.",
			Buckets: []float64{.01, .02, .033, .05, .066, .1, .2, .5, 1, 2, 5},
		}, cam),
		CaptureDelay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "camrelay_capture_to_gateway_seconds", Help: "Time from the camera capturing a frame to the gateway receiving it, where the link carries a capture time.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 10),
		}, cam),
		CameraUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "camrelay_camera_up", Help: "1 while the camera's link delivers frames, 0 while it is down or silent.",
		}, cam),
		Reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_uplink_connects_total", Help: "Times the camera's link was established (uplink accepted or source connected).",
		}, cam),
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_camera_messages_total", Help: "Text (JSON) messages from the camera, by type.",
		}, []string{"camera", "type"}),
		Viewers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "camrelay_viewers", Help: "Viewers connected now.",
		}, camT),
		ViewersDirect: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "camrelay_viewers_direct", Help: "Viewers that keep up and are written to directly by their camera's fan-out goroutine, now (the rest are paced one by one).",
		}, camT),
		ViewersTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_viewers_joined_total", Help: "Viewers that connected.",
		}, camT),
		FramesSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_frames_sent_total", Help: "Frames written to viewers.",
		}, camT),
		FramesSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_frames_skipped_total", Help: "Frames a viewer never got because a newer one replaced them while it was busy (newest wins).",
		}, camT),
		BytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_sent_bytes_total", Help: "Frame bytes written to viewers.",
		}, camT),
		FanoutDelay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "camrelay_fanout_delay_seconds", Help: "Time from the gateway receiving a frame to the frame being written to a viewer's socket.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
		}, camT),
		LaneHandbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_lane_handbacks_total", Help: "Viewers handed back from their camera's direct lane to their own goroutine, by reason (behind, full, partial, busy, deadline, error, state, viewer).",
		}, []string{"camera", "transport", "reason"}),
		Disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_viewer_disconnects_total", Help: "Viewers that left, by reason (closed, write_timeout, write_error, shutdown, protocol).",
		}, []string{"camera", "transport", "reason"}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_auth_failures_total", Help: "Requests refused for a missing or wrong credential, by endpoint.",
		}, []string{"endpoint"}),
		LimitHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_limit_hits_total", Help: "Requests or connections refused or closed for going over a limit, by reason.",
		}, []string{"reason"}),
		ViewerRejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camrelay_viewer_messages_rejected_total", Help: "Messages from viewers that the gateway refused, by reason (too_large, binary, not_json, unknown_type).",
		}, []string{"camera", "reason"}),
		lastFrame: newAgeCollector(),
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "camrelay_build_info", Help: "Build metadata of the running gateway; always 1.",
	}, []string{"version", "commit", "date", "goversion"})
	info.WithLabelValues(b.Version, b.Commit, b.Date, runtime.Version()).Set(1)
	for _, e := range AuthEndpoints {
		m.AuthFailures.WithLabelValues(e)
	}
	for _, r := range []string{LimitViewersPerCamera, LimitViewersTotal, LimitViewerMessage, LimitConnsPerClient, LimitAuthFailures} {
		m.LimitHits.WithLabelValues(r)
	}

	reg.MustRegister(
		m.FramesIn, m.BytesIn, m.FramesDropped, m.FrameBytes, m.FrameInterval, m.CaptureDelay,
		m.CameraUp, m.Reconnects, m.Messages,
		m.Viewers, m.ViewersDirect, m.ViewersTotal, m.FramesSent, m.FramesSkipped, m.BytesOut, m.FanoutDelay, m.Disconnects, m.LaneHandbacks,
		m.AuthFailures, m.LimitHits, m.ViewerRejects, info, m.lastFrame,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Camera readies the series of one camera so that they exist at zero from
// start-up: a dashboard or alert then sees a camera that never sent a frame,
// instead of no series at all.
func (m *Metrics) Camera(id string) {
	m.FramesIn.WithLabelValues(id)
	m.BytesIn.WithLabelValues(id)
	m.CameraUp.WithLabelValues(id).Set(0)
	m.Reconnects.WithLabelValues(id)
	for _, r := range DropReasons {
		m.FramesDropped.WithLabelValues(id, r)
	}
	for _, r := range ViewerRejectReasons {
		m.ViewerRejects.WithLabelValues(id, r)
	}
	for _, t := range []string{TransportWS, TransportMJPEG} {
		m.Viewers.WithLabelValues(id, t)
		m.ViewersDirect.WithLabelValues(id, t)
		for _, r := range LaneHandbacks {
			m.LaneHandbacks.WithLabelValues(id, t, r)
		}
		m.FramesSent.WithLabelValues(id, t)
		m.FramesSkipped.WithLabelValues(id, t)
		m.BytesOut.WithLabelValues(id, t)
	}
}
