package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const controlConfig = `
admin_token: adm1n
cameras:
  - {id: front, source: push, token: s3cret}
  - {id: demo, source: demo}
`

// board answers control commands on an uplink like the firmware does; it
// acks every command unless told to stay silent.
func board(t *testing.T, ctx context.Context, c *websocket.Conn, silent bool) <-chan map[string]any {
	got := make(chan map[string]any, 10)
	go func() {
		defer close(got)
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if typ != websocket.MessageText {
				continue
			}
			var cmd map[string]any
			if err := json.Unmarshal(msg, &cmd); err != nil {
				t.Errorf("camera got non-JSON text %q", msg)
				return
			}
			got <- cmd
			if silent {
				continue
			}
			applied := map[string]any{}
			for k, v := range cmd {
				if k != "type" && k != "id" {
					applied[k] = v
				}
			}
			ack, _ := json.Marshal(map[string]any{"type": "ack", "id": cmd["id"], "ok": true, "applied": applied})
			if err := c.Write(ctx, websocket.MessageText, ack); err != nil {
				return
			}
		}
	}()
	return got
}

func postControl(t *testing.T, g *gateway, camera, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.url("/cam/"+camera+"/control"), strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestControlReachesThePushCameraAndReturnsItsAck(t *testing.T) {
	g := startGateway(t, controlConfig)
	if status, body := postControl(t, g, "front", "adm1n", `{"framesize":"SVGA"}`); status != http.StatusConflict {
		t.Errorf("control of an offline camera = %d %s, want 409", status, body)
	}
	up := uplink(t, g, "front", "s3cret")
	uplinkRegistered(t, g, "front", 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := board(t, ctx, up, false)

	status, body := postControl(t, g, "front", "adm1n", `{"framesize":"svga","quality":10,"vflip":1,"led":255}`)
	if status != http.StatusOK || !strings.Contains(body, `"framesize":"SVGA"`) {
		t.Fatalf("control = %d %s, want 200 with the applied values", status, body)
	}
	cmd := <-cmds
	if cmd["type"] != "control" || cmd["framesize"] != "SVGA" || cmd["quality"] != float64(10) || cmd["vflip"] != true || cmd["led"] != float64(255) {
		t.Errorf("the camera got %v", cmd)
	}
	resp, err := http.Get(g.url("/api/cameras"))
	if err != nil {
		t.Fatal(err)
	}
	api, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(api, []byte(`"framesize": "SVGA"`)) {
		t.Errorf("/api/cameras does not show the applied settings:\n%s", api)
	}
}

func TestControlRefusesBadRequests(t *testing.T) {
	g := startGateway(t, controlConfig)
	cases := []struct {
		name, camera, token, body string
		status                    int
		contains                  []string
	}{
		{"no token", "front", "", `{"quality":10}`, 401, []string{"admin token"}},
		{"wrong token", "front", "nope", `{"quality":10}`, 401, []string{"admin token"}},
		{"every bad key named", "front", "adm1n", `{"quality":99,"framesize":"HUGE","colour":1,"brightness":"x"}`, 400,
			[]string{"quality", "framesize", "colour", "brightness", "VGA"}},
		{"not JSON", "front", "adm1n", `framesize=VGA`, 400, []string{"not a JSON object"}},
		{"nothing to do", "front", "adm1n", `{}`, 400, []string{"no settings"}},
		{"a camera whose link cannot carry control", "demo", "adm1n", `{"quality":10}`, 501, []string{"cannot be controlled"}},
		{"unknown camera", "nope", "adm1n", `{"quality":10}`, 404, []string{"no camera"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postControl(t, g, tc.camera, tc.token, tc.body)
			if status != tc.status {
				t.Errorf("status %d %s, want %d", status, body, tc.status)
			}
			for _, c := range tc.contains {
				if !strings.Contains(body, c) {
					t.Errorf("answer %s does not mention %q", body, c)
				}
			}
		})
	}
	if n := g.metric(t, `camrelay_auth_failures_total{endpoint="control"}`); n != 2 {
		t.Errorf("control auth failures = %v, want 2", n)
	}
}

func TestControlTimesOutWhenTheCameraDoesNotAnswer(t *testing.T) {
	g := startGateway(t, controlConfig)
	up := uplink(t, g, "front", "s3cret")
	uplinkRegistered(t, g, "front", 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	board(t, ctx, up, true)
	start := time.Now()
	if status, body := postControl(t, g, "front", "adm1n", `{"led":0}`); status != http.StatusGatewayTimeout {
		t.Errorf("silent camera: %d %s, want 504", status, body)
	}
	if d := time.Since(start); d > 7*time.Second {
		t.Errorf("the 504 took %v", d)
	}
}

func TestControlIsOffWithoutAnAdminToken(t *testing.T) {
	g := startGateway(t, pushConfig)
	if status, body := postControl(t, g, "front", "anything", `{"led":0}`); status != http.StatusForbidden || !strings.Contains(body, "admin_token") {
		t.Errorf("control without admin token configured: %d %s", status, body)
	}
}

// controlWS sends a control message on a viewer socket and returns the ack
// with its id, skipping frames and other events.
func controlWS(t *testing.T, ctx context.Context, viewer *websocket.Conn, id int, msg string) map[string]any {
	t.Helper()
	if msg != "" {
		send(t, viewer, websocket.MessageText, []byte(msg))
	}
	for {
		m := readText(t, ctx, viewer, `"type":"ack"`)
		if m["id"] == float64(id) {
			return m
		}
	}
}

// TestControlOverTheViewerSocket: the page's viewer socket takes
// {"type":"control","id":N,"token":…,…settings} (a browser cannot set
// headers on a WebSocket) and answers with an ack carrying the same
// outcome that POST /cam/{id}/control gives, while frames keep flowing.
func TestControlOverTheViewerSocket(t *testing.T) {
	g := startGateway(t, controlConfig)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	viewer := viewerWS(t, g, "front")

	refused := []struct {
		name, msg string
		status    float64
		says      string
	}{
		{"no token", `{"type":"control","id":1,"quality":10}`, 401, "admin token"},
		{"wrong token", `{"type":"control","id":2,"token":"nope","quality":10}`, 401, "admin token"},
		{"token not a string", `{"type":"control","id":3,"token":7,"quality":10}`, 401, "admin token"},
		{"every bad key named", `{"type":"control","id":4,"token":"adm1n","quality":99,"colour":1}`, 400, "colour"},
		{"nothing to do", `{"type":"control","id":5,"token":"adm1n"}`, 400, "no settings"},
		{"camera offline", `{"type":"control","id":6,"token":"adm1n","framesize":"SVGA"}`, 409, "offline"},
	}
	for i, tc := range refused {
		ack := controlWS(t, ctx, viewer, i+1, tc.msg)
		if ack["ok"] != false || ack["status"] != tc.status || !strings.Contains(fmt.Sprint(ack["error"], ack["problems"]), tc.says) {
			t.Errorf("%s: ack %v, want status %v mentioning %q", tc.name, ack, tc.status, tc.says)
		}
	}
	if n := g.metric(t, `camrelay_auth_failures_total{endpoint="control"}`); n != 3 {
		t.Errorf("control auth failures = %v, want 3", n)
	}

	up := uplink(t, g, "front", "s3cret")
	uplinkRegistered(t, g, "front", 1)
	bctx, stopBoard := context.WithCancel(ctx)
	cmds := board(t, bctx, up, false)
	ack := controlWS(t, ctx, viewer, 7, `{"type":"control","id":7,"token":"adm1n","framesize":"svga","vflip":1,"led":128}`)
	applied, _ := ack["applied"].(map[string]any)
	if ack["ok"] != true || applied["framesize"] != "SVGA" || applied["led"] != float64(128) {
		t.Fatalf("ack %v, want ok with what the camera applied", ack)
	}
	cmd := <-cmds
	if cmd["type"] != "control" || cmd["framesize"] != "SVGA" || cmd["vflip"] != true || cmd["led"] != float64(128) || cmd["token"] != nil {
		t.Errorf("the camera got %v (and never the admin token)", cmd)
	}
	api := getBody(t, g.url("/api/cameras"))
	if !strings.Contains(api, `"framesize": "SVGA"`) {
		t.Errorf("/api/cameras does not show the applied settings:\n%s", api)
	}
	stopBoard()
	<-cmds

	// A camera that does not answer: 504 after the control timeout, and
	// meanwhile the viewer still gets frames and a fifth command is
	// refused rather than queued.
	up.CloseNow()
	up = uplink(t, g, "front", "s3cret")
	uplinkRegistered(t, g, "front", 2)
	board(t, ctx, up, true)
	for id := 80; id < 84; id++ {
		send(t, viewer, websocket.MessageText, []byte(fmt.Sprintf(`{"type":"control","id":%d,"token":"adm1n","led":0}`, id)))
	}
	if busy := controlWS(t, ctx, viewer, 9, `{"type":"control","id":9,"token":"adm1n","led":1}`); busy["status"] != float64(429) {
		t.Errorf("a fifth command while four wait: %v, want 429", busy)
	}
	frames := testFrames(t, 2)
	send(t, up, websocket.MessageBinary, frames[1])
	for {
		got, err := nextJPEG(ctx, viewer)
		if err != nil {
			t.Fatalf("frames while a control waits: %v", err)
		}
		if indexOf(got) == 1 {
			break
		}
	}
	start := time.Now()
	if late := controlWS(t, ctx, viewer, 83, ""); late["ok"] != false || late["status"] != float64(504) {
		t.Errorf("silent camera: %v, want 504", late)
	}
	t.Logf("504 after a further %v", time.Since(start))

	demo := viewerWS(t, g, "demo")
	if ack := controlWS(t, ctx, demo, 10, `{"type":"control","id":10,"token":"adm1n","quality":10}`); ack["status"] != float64(501) {
		t.Errorf("control of the demo camera: %v, want 501", ack)
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// uplinkRegistered waits until the gateway has taken the camera's n-th
// uplink as current: the client's dial returns once the handshake answer
// is read, which can be a moment before the gateway's handler gets there.
func uplinkRegistered(t *testing.T, g *gateway, camera string, n float64) {
	t.Helper()
	waitFor(t, 5*time.Second, "the uplink registered", func() bool {
		return g.metric(t, `camrelay_uplink_connects_total{camera="`+camera+`"}`) >= n
	})
}
