package main

import (
	"bytes"
	"context"
	"encoding/json"
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
