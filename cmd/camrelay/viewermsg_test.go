package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const viewerMsgConfig = `
admin_token: adm1n
limits:
  max_viewer_message_bytes: 1024
cameras:
  - {id: front, source: push, token: s3cret}
`

// readText reads viewer messages until a text message containing want,
// skipping frames and other events.
func readText(t *testing.T, ctx context.Context, c *websocket.Conn, want string) map[string]any {
	t.Helper()
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for a message with %s: %v", want, err)
		}
		if typ != websocket.MessageText || !bytes.Contains(msg, []byte(want)) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatalf("gateway sent non-JSON text %q", msg)
		}
		return m
	}
}

// TestViewerSendsGarbageText: text that is not JSON, or JSON of no known
// type, is answered with an error message and counted, and the viewer keeps
// receiving frames; a text message over max_viewer_message_bytes closes the
// viewer with 1009 and is counted by reason, and the gateway stays up.
func TestViewerSendsGarbageText(t *testing.T) {
	g := startGateway(t, viewerMsgConfig)
	up := uplink(t, g, "front", "s3cret")
	viewer := viewerWS(t, g, "front")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	frames := testFrames(t, 4)

	garbage := []string{
		`{{{`,
		"\x00\xff not even UTF-8 \xfe",
		`"a string"`,
		`[1,2,3]`,
		`{"type":42}`,
		`{"no":"type"}`,
		`{"type":"selfdestruct"}`,
		strings.Repeat("x", 1024), // exactly the limit: garbage, not too big
	}
	for i, text := range garbage {
		send(t, viewer, websocket.MessageText, []byte(text))
		if m := readText(t, ctx, viewer, `"type":"error"`); m["value"] == "" {
			t.Errorf("garbage %d: error message %v says nothing", i, m)
		}
		// Still a viewer: the next frame arrives.
		send(t, up, websocket.MessageBinary, frames[i%len(frames)])
		got, err := nextJPEG(ctx, viewer)
		if err != nil || indexOf(got) != i%len(frames) {
			t.Fatalf("after garbage %d: frame %d, %v; want frame %d", i, indexOf(got), err, i%len(frames))
		}
	}
	if n := g.metric(t, `camrelay_viewer_messages_rejected_total{camera="front",reason="not_json"}`); n != 7 {
		t.Errorf("not_json rejects = %v, want 7", n)
	}
	if n := g.metric(t, `camrelay_viewer_messages_rejected_total{camera="front",reason="unknown_type"}`); n != 1 {
		t.Errorf("unknown_type rejects = %v, want 1", n)
	}

	// One byte over the limit: closed with 1009.
	send(t, viewer, websocket.MessageText, []byte(strings.Repeat("y", 1025)))
	var err error
	for err == nil {
		_, _, err = viewer.Read(ctx)
	}
	if s := websocket.CloseStatus(err); s != websocket.StatusMessageTooBig {
		t.Errorf("message over the limit: closed with %v (%v), want 1009", s, err)
	}
	waitFor(t, 5*time.Second, "the too_large reject counted", func() bool {
		return g.metric(t, `camrelay_viewer_messages_rejected_total{camera="front",reason="too_large"}`) == 1
	})
	if n := g.metric(t, `camrelay_limit_hits_total{reason="viewer_message_bytes"}`); n != 1 {
		t.Errorf("limit hits for viewer_message_bytes = %v, want 1", n)
	}

	// The gateway is fine: a new viewer gets the newest frame at once,
	// then the next one.
	other := viewerWS(t, g, "front")
	if _, err := nextJPEG(ctx, other); err != nil {
		t.Fatalf("a new viewer after the close: %v", err)
	}
	send(t, up, websocket.MessageBinary, frames[0])
	if got, err := nextJPEG(ctx, other); err != nil || indexOf(got) != 0 {
		t.Fatalf("a new viewer after the close: frame %d, %v; want frame 0", indexOf(got), err)
	}
}

// TestViewerOfASilentCameraStillGetsAnswers: after the camera has been
// silent for longer than write_timeout, the viewer's pings, control
// commands and the offline event are still answered, and the viewer stays.
func TestViewerOfASilentCameraStillGetsAnswers(t *testing.T) {
	g := startGateway(t, `
admin_token: adm1n
limits:
  write_timeout: 1s
  offline_after: 2s
cameras:
  - {id: front, source: push, token: s3cret}
`)
	up := uplink(t, g, "front", "s3cret")
	viewer := viewerWS(t, g, "front")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	frames := testFrames(t, 2)
	send(t, up, websocket.MessageBinary, frames[0])
	if _, err := nextJPEG(ctx, viewer); err != nil {
		t.Fatal(err)
	}
	// Silent past both the write timeout and offline_after: the offline
	// event arrives.
	if m := readText(t, ctx, viewer, `"type":"status"`); m["online"] != false {
		t.Fatalf("status %v, want offline", m)
	}
	up.CloseNow()                       // and now the board is gone too
	time.Sleep(1500 * time.Millisecond) // past the write timeout once more
	send(t, viewer, websocket.MessageText, []byte(`{"type":"ping","id":1,"t0":1}`))
	readText(t, ctx, viewer, `"type":"pong"`)
	send(t, viewer, websocket.MessageText, []byte(`{"type":"control","id":2,"token":"adm1n","led":0}`))
	if m := readText(t, ctx, viewer, `"type":"ack"`); m["ok"] != false || m["status"] != float64(409) {
		t.Errorf("control of a camera that is gone acked %v, want 409", m)
	}
	up = uplink(t, g, "front", "s3cret")
	send(t, up, websocket.MessageBinary, frames[1])
	if got, err := nextJPEG(ctx, viewer); err != nil || indexOf(got) != 1 {
		t.Fatalf("after the silence: frame %d, %v", indexOf(got), err)
	}
	if n := g.metric(t, `camrelay_viewer_disconnects_total{camera="front",reason="write_timeout",transport="ws"}`); n > 0 {
		t.Errorf("%v viewers dropped for a write timeout", n)
	}
}
