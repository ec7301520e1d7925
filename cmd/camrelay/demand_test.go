package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// nextDemand reads the uplink until a demand command and returns its rate.
func nextDemand(t *testing.T, ctx context.Context, c *websocket.Conn) string {
	t.Helper()
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for a demand command: %v", err)
		}
		var m struct{ Type, Rate string }
		if typ == websocket.MessageText && json.Unmarshal(msg, &m) == nil && m.Type == "demand" {
			return m.Rate
		}
	}
}

func TestDemandIdlesTheCameraWithoutViewersAndWakesItForOne(t *testing.T) {
	g := startGateway(t, `
limits:
  idle_after: 300ms
cameras:
  - {id: front, source: push, token: s3cret}
`)
	up := uplink(t, g, "front", "s3cret")
	send(t, up, websocket.MessageBinary, testFrames(t, 1)[0])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if rate := nextDemand(t, ctx, up); rate != "idle" {
		t.Fatalf("with no viewers the camera was told %q, want idle", rate)
	}
	// Snapshots keep working from the newest frame while idle.
	resp, err := http.Get(g.url("/cam/front/snapshot.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("snapshot while idle: %d", resp.StatusCode)
	}

	start := time.Now()
	viewer := viewerWS(t, g, "front")
	if rate := nextDemand(t, ctx, up); rate != "full" {
		t.Fatalf("a viewer arrived and the camera was told %q, want full", rate)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("full rate asked %v after the viewer came", d)
	}
	viewer.Close(websocket.StatusNormalClosure, "")
	if rate := nextDemand(t, ctx, up); rate != "idle" {
		t.Fatalf("after the viewer left: %q, want idle", rate)
	}

	// A camera that reconnects while nobody watches is told at once.
	again := uplink(t, g, "front", "s3cret")
	if rate := nextDemand(t, ctx, again); rate != "idle" {
		t.Fatalf("a new uplink was told %q, want idle", rate)
	}
}
