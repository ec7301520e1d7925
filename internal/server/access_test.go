package server

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestClassifyProtectsEveryPathButTheListedOnes: viewer auth is the
// default; only probes, metrics, the uplink and control are sorted out, and
// only by exact shape.
func TestClassifyProtectsEveryPathButTheListedOnes(t *testing.T) {
	tests := []struct {
		path     string
		kind     int
		endpoint string
	}{
		{"/healthz", kindOpen, ""},
		{"/readyz", kindOpen, ""},
		{"/metrics", kindMetrics, "metrics"},
		{"/cam/front/ingest", kindOwnAuth, "ingest"},
		{"/cam/front/control", kindOwnAuth, "control"},
		{"/", kindViewer, "page"},
		{"/cam/front", kindViewer, "page"},
		{"/static/index.js", kindViewer, "page"},
		{"/cam/front/ws", kindViewer, "ws"},
		{"/api/ws", kindViewer, "ws"},
		{"/cam/front/stream.mjpeg", kindViewer, "mjpeg"},
		{"/api/stream.mjpeg", kindViewer, "mjpeg"},
		{"/cam/front/snapshot.jpg", kindViewer, "snapshot"},
		{"/api/frame.jpeg", kindViewer, "snapshot"},
		{"/api/cameras", kindViewer, "api"},
		{"/cam/front/ingest/", kindViewer, "page"},
		{"/cam/front%2Fingest", kindViewer, "page"},
		{"/healthz/", kindViewer, "page"},
		{"/api/new-endpoint", kindViewer, "page"},
		{"/metrics.json", kindViewer, "page"},
	}
	for _, tt := range tests {
		kind, endpoint := classify(tt.path)
		if kind != tt.kind || endpoint != tt.endpoint {
			t.Errorf("classify(%q) = %d %q, want %d %q", tt.path, kind, endpoint, tt.kind, tt.endpoint)
		}
	}
}
