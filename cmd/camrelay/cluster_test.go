package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
	natsserver "github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsServer is an in-process NATS server with JetStream on a loopback
// port, its store in a directory that survives a restart.
type natsServer struct {
	t          *testing.T
	port       int
	store      string
	maxPayload int32
	s          *natsserver.Server
}

// startNATS starts a server whose messages may be maxPayload bytes; zero
// means 8 MiB, room for camrelay's default 4 MiB frames (NATS's own default
// is 1 MiB).
func startNATS(t *testing.T, maxPayload int32) *natsServer {
	t.Helper()
	if maxPayload == 0 {
		maxPayload = 8 << 20
	}
	n := &natsServer{t: t, port: -1, store: filepath.Join(t.TempDir(), "jetstream"), maxPayload: maxPayload}
	n.start()
	t.Cleanup(n.stop)
	return n
}

// start starts the server, on the port of the previous run if there was one.
func (n *natsServer) start() {
	n.t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: n.port, JetStream: true, StoreDir: n.store,
		MaxPayload: n.maxPayload, NoLog: true, NoSigs: true,
	})
	if err != nil {
		n.t.Fatalf("nats server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("nats server not ready within 10 s")
	}
	n.s = s
	n.port = s.Addr().(*net.TCPAddr).Port
}

func (n *natsServer) stop() {
	if n.s != nil {
		n.s.Shutdown()
		n.s.WaitForShutdown()
		n.s = nil
	}
}

func (n *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// clusterConfig is one gateway of a test cluster: the push camera front
// (configured on every gateway, as behind a load balancer) and whatever
// extra cameras the gateway alone has.
func clusterConfig(nats *natsServer, name, extra string) string {
	return fmt.Sprintf(`
admin_token: adm1n
limits:
  offline_after: 1s
  idle_after: 0s
  max_fps_in: 0 # the lock-step board sends as fast as frames arrive, far above a camera's rate
cluster:
  nats_url: %s
  name: %s
  heartbeat: 200ms
cameras:
  - {id: front, source: push, token: s3cret}
%s`, nats.url(), name, extra)
}

// apiCamera is the part of /api/cameras the cluster tests read.
type apiCamera struct {
	ID      string          `json:"id"`
	Online  bool            `json:"online"`
	Gateway string          `json:"gateway"`
	Remote  bool            `json:"remote"`
	Source  string          `json:"source"`
	Hello   json.RawMessage `json:"hello"`
}

func apiCameras(t *testing.T, g *gateway) map[string]apiCamera {
	t.Helper()
	resp, err := http.Get(g.url("/api/cameras"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []apiCamera
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	out := map[string]apiCamera{}
	for _, c := range list {
		out[c.ID] = c
	}
	return out
}

// seen is a frame a viewer received: its test index and when.
type seen struct {
	idx int
	at  time.Time
}

// watch reads a viewer's frames on a goroutine of its own (a read with a
// short deadline would close a WebSocket) until the viewer is closed.
func watch(c *websocket.Conn) <-chan seen {
	ch := make(chan seen, 1024)
	go func() {
		defer close(ch)
		for {
			msg, err := nextJPEG(context.Background(), c)
			if err != nil {
				return
			}
			ch <- seen{indexOf(msg), time.Now()}
		}
	}()
	return ch
}

// resume sends frames from *next on, one every 50 ms, until the viewer
// receives one of them, and fails after within. The viewer's connection
// stays as it is: this is what a viewer sees after a failover.
func resume(t *testing.T, up *websocket.Conn, frames [][]byte, next *int, v <-chan seen, within time.Duration) {
	t.Helper()
	from := *next
	deadline := time.Now().Add(within)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		send(t, up, websocket.MessageBinary, frames[*next])
		*next++
		for wait := true; wait; {
			select {
			case s, ok := <-v:
				if !ok {
					t.Fatal("viewer connection closed; it should have stayed open")
				}
				if s.idx >= from {
					return
				}
			case <-tick.C:
				wait = false
			}
		}
	}
	t.Fatalf("viewer got none of frames %d..%d within %v", from, *next-1, within)
}

// TestClusterOfThreeGateways runs three gateways on one NATS server: a board
// pushes to A, viewers on B and C see every frame in order; only gateways
// with viewers subscribe; control from C reaches the board on A; A dies and
// the board reconnects to B while C's viewer stays connected; a newer
// uplink on C replaces B's; NATS restarts and frames flow again.
func TestClusterOfThreeGateways(t *testing.T) {
	nats := startNATS(t, 0)
	a := startGateway(t, clusterConfig(nats, "gw-a", "  - {id: pattern, source: demo, fps: 5, width: 160, height: 128}"))
	b := startGateway(t, clusterConfig(nats, "gw-b", ""))
	c := startGateway(t, clusterConfig(nats, "gw-c", ""))
	frames := testFrames(t, 600)
	next := 0

	for _, g := range []*gateway{a, b, c} {
		if n := g.metric(t, "camrelay_cluster_subscriptions"); n != 0 {
			t.Fatalf("%s: %v subscriptions before any viewer, want 0", g.addr, n)
		}
	}

	// Every gateway lists the demo camera that only A has, held by A.
	waitFor(t, 5*time.Second, "pattern listed on C as A's", func() bool {
		p, ok := apiCameras(t, c)["pattern"]
		return ok && p.Gateway == "gw-a" && p.Remote && p.Source == "demo"
	})
	pv := viewerWS(t, c, "pattern")
	select {
	case <-watch(pv):
	case <-time.After(5 * time.Second):
		t.Fatal("C's viewer of A's demo camera got no frame within 5 s")
	}
	pv.CloseNow()
	mj := openMJPEG(t, c.url("/cam/pattern/stream.mjpeg"))
	if f, err := mj.next(); err != nil || len(f) < 4 || f[0] != 0xFF || f[1] != 0xD8 {
		t.Fatalf("MJPEG of A's camera on C: %d bytes, %v; want a JPEG part", len(f), err)
	}
	mj.resp.Body.Close()
	waitFor(t, 5*time.Second, "C to unsubscribe once its last viewer of pattern left", func() bool {
		return c.metric(t, "camrelay_cluster_subscriptions") == 0
	})
	// Without a subscription, a snapshot on C is fetched from A.
	resp, err := http.Get(c.url("/cam/pattern/snapshot.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(snap) < 4 || snap[0] != 0xFF || snap[1] != 0xD8 {
		t.Fatalf("snapshot of A's camera on C: %d, %d bytes; want 200 and a JPEG", resp.StatusCode, len(snap))
	}

	// The board pushes to A; viewers watch on B and C.
	upA := uplink(t, a, "front", "s3cret")
	send(t, upA, websocket.MessageText, []byte(`{"type":"hello","fw":"1.2.3","board":"esp32cam"}`))
	vb, vc := viewerWS(t, b, "front"), viewerWS(t, c, "front")
	wb, wc := watch(vb), watch(vc)
	for _, g := range []*gateway{b, c} {
		waitFor(t, 5*time.Second, "a subscription on a gateway with a viewer", func() bool {
			return g.metric(t, "camrelay_cluster_subscriptions") == 1
		})
	}
	resume(t, upA, frames, &next, wb, 5*time.Second)
	resume(t, upA, frames, &next, wc, 5*time.Second)
	warm := next

	// Lock step: each frame must reach both viewers before the next is sent,
	// so that newest-wins never has a reason to skip one.
	const steps = 50
	var lat []time.Duration
	for range steps {
		i := next
		next++
		sent := time.Now()
		send(t, upA, websocket.MessageBinary, frames[i])
		for _, w := range []<-chan seen{wb, wc} {
		again:
			select {
			case s := <-w:
				if s.idx < warm {
					goto again // still in flight from the warm-up
				}
				if s.idx != i {
					t.Fatalf("viewer got frame %d, want %d (every frame, in order)", s.idx, i)
				}
				lat = append(lat, s.at.Sub(sent))
			case <-time.After(5 * time.Second):
				t.Fatalf("frame %d did not reach a viewer within 5 s", i)
			}
		}
	}
	slices.Sort(lat)
	t.Logf("board → A → NATS → B/C → viewer, %d frames of %d bytes: median %v, p90 %v, max %v",
		len(lat), len(frames[0]), lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)-1])
	sum, count := c.metric(t, "camrelay_cluster_latency_seconds_sum{camera=\"front\"}"), c.metric(t, "camrelay_cluster_latency_seconds_count{camera=\"front\"}")
	t.Logf("C's camrelay_cluster_latency_seconds (A's ingest → C's hub): %d frames, mean %.2f ms", int(count), 1000*sum/count)

	// A has no viewer of front: it publishes, it does not subscribe.
	if n := a.metric(t, "camrelay_cluster_subscriptions"); n != 0 {
		t.Errorf("A: %v subscriptions without a viewer, want 0", n)
	}
	if n := a.metric(t, `camrelay_cluster_frames_published_total{camera="front"}`); n < steps {
		t.Errorf("A published %v frames of front, want at least %d", n, steps)
	}
	if got := apiCameras(t, c)["front"]; got.Gateway != "gw-a" || !got.Remote || !got.Online {
		t.Errorf("C's /api/cameras front = %+v, want online, on gw-a, remote", got)
	}
	// C subscribed after the board's hello: the owner sent it again.
	waitFor(t, 5*time.Second, "the board's hello on C", func() bool {
		return strings.Contains(string(apiCameras(t, c)["front"].Hello), `"1.2.3"`)
	})
	if got := apiCameras(t, a)["front"]; got.Gateway != "gw-a" || got.Remote {
		t.Errorf("A's /api/cameras front = %+v, want on gw-a, not remote", got)
	}

	// Control from C reaches the board on A and returns its ack.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := board(t, ctx, upA, false)
	status, body := postControl(t, c, "front", "adm1n", `{"framesize":"SVGA"}`)
	if status != http.StatusOK || !strings.Contains(body, `"SVGA"`) {
		t.Fatalf("control through C = %d %s, want 200 with the ack", status, body)
	}
	if cmd := <-cmds; cmd["framesize"] != "SVGA" {
		t.Errorf("board got %v, want framesize SVGA", cmd)
	}
	if status, body := postControl(t, c, "pattern", "adm1n", `{"quality":10}`); status != http.StatusNotImplemented {
		t.Errorf("control of A's demo camera through C = %d %s, want 501 as on A", status, body)
	}

	// A dies; the board reconnects through the load balancer to B. C's
	// viewer resumes on the same connection.
	a.stop(t)
	if status, body := postControl(t, c, "front", "adm1n", `{"framesize":"VGA"}`); status != http.StatusConflict {
		t.Errorf("control through C while no gateway holds the board = %d %s, want 409 offline", status, body)
	}
	upB := uplink(t, b, "front", "s3cret")
	resume(t, upB, frames, &next, wc, 10*time.Second)
	waitFor(t, 5*time.Second, "C to show front on gw-b", func() bool {
		return apiCameras(t, c)["front"].Gateway == "gw-b"
	})

	// The board's newest uplink reaches C: B closes its old one.
	upC := uplink(t, c, "front", "s3cret")
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	if s, err := closeStatus(rctx, upB); s != 4001 {
		t.Fatalf("B's old uplink closed with %v (%v), want 4001 replaced", s, err)
	}
	resume(t, upC, frames, &next, wb, 10*time.Second)
	if n := b.metric(t, "camrelay_cluster_directory_conflicts_total"); n != 1 {
		t.Errorf("B counted %v directory conflicts, want 1", n)
	}

	// NATS restarts on the same port with the same store: B's viewer gets
	// frames from C again without reconnecting.
	// While NATS is down, C still serves its own uplink to its own viewer.
	nats.stop()
	resume(t, upC, frames, &next, wc, 5*time.Second)
	nats.start()
	resume(t, upC, frames, &next, wb, 15*time.Second)

	// The directory works again too: a takeover after the restart closes
	// C's uplink as it did B's.
	upB2 := uplink(t, b, "front", "s3cret")
	if s, err := closeStatus(rctx, upC); s != 4001 {
		t.Fatalf("after the NATS restart C's old uplink closed with %v (%v), want 4001 replaced", s, err)
	}
	resume(t, upB2, frames, &next, wc, 10*time.Second)
}

func TestClusterRefusesNATSWhosePayloadLimitIsBelowTheFrameLimit(t *testing.T) {
	nats := startNATS(t, 64<<10)
	path := filepath.Join(t.TempDir(), "camrelay.yaml")
	if err := os.WriteFile(path, []byte(clusterConfig(nats, "gw-a", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"camrelay", "--config", path, "--listen", "127.0.0.1:0"},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "max_payload") || !strings.Contains(err.Error(), "4194304") {
		t.Fatalf("run = %v, want a refusal naming max_payload and the 4 MiB frame limit", err)
	}
}

func TestClusterViewersOnAnotherGatewayKeepTheCameraAtFullRate(t *testing.T) {
	nats := startNATS(t, 0)
	cfg := func(name string) string {
		return strings.Replace(clusterConfig(nats, name, ""), "idle_after: 0s", "idle_after: 300ms", 1)
	}
	a, b := startGateway(t, cfg("gw-a")), startGateway(t, cfg("gw-b"))
	up := uplink(t, a, "front", "s3cret")
	send(t, up, websocket.MessageBinary, testFrames(t, 1)[0])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if rate := nextDemand(t, ctx, up); rate != "idle" {
		t.Fatalf("with no viewers anywhere the camera was told %q, want idle", rate)
	}
	start := time.Now()
	viewer := viewerWS(t, b, "front")
	if rate := nextDemand(t, ctx, up); rate != "full" {
		t.Fatalf("a viewer arrived on B and the camera on A was told %q, want full", rate)
	}
	t.Logf("full rate asked %v after a viewer came to another gateway", time.Since(start).Round(time.Millisecond))
	viewer.Close(websocket.StatusNormalClosure, "")
	if rate := nextDemand(t, ctx, up); rate != "idle" {
		t.Fatalf("after B's viewer left: %q, want idle", rate)
	}
}

func TestPageOfAGatewayShowsAndPlaysTheCamerasOfAnother(t *testing.T) {
	nats := startNATS(t, 0)
	startGateway(t, clusterConfig(nats, "gw-a", "  - {id: pattern, name: Pattern, source: demo, fps: 10, width: 160, height: 128}"))
	b := startGateway(t, clusterConfig(nats, "gw-b", ""))
	br := newPageBrowser(t)
	br.do(chromedp.Navigate(b.url("/")))
	type tile struct{ ID, State, Title string }
	pageWait(t, 15*time.Second, "A's demo camera live on B's page", func() (bool, string) {
		tiles, err := pageTryEval[[]tile](br, `[...document.querySelectorAll("#grid > li")].map(li => ({
			ID: li.dataset.camera, State: li.querySelector(".badge").dataset.state,
			Title: li.querySelector(".tile-name").title}))`)
		if err != nil {
			return false, err.Error()
		}
		for _, tl := range tiles {
			if tl.ID == "pattern" && tl.State == "live" && strings.Contains(tl.Title, "via gateway gw-a") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", tiles)
	})
}

// A gateway that dies without a word leaves its directory entries behind;
// they expire after three heartbeats.
func TestClusterDirectoryEntriesOfAVanishedGatewayExpire(t *testing.T) {
	nats := startNATS(t, 0)
	c := startGateway(t, clusterConfig(nats, "gw-c", ""))

	// gw-x claims a camera the way a gateway does, then is never heard of
	// again.
	nc, err := natsgo.Connect(nats.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var kv jetstream.KeyValue
	waitFor(t, 5*time.Second, "C to create the directory bucket", func() bool {
		kv, err = js.KeyValue(ctx, "camrelay_default_cameras")
		return err == nil
	})
	if _, err := kv.Put(ctx, "ghost", []byte(`{"gateway":"gw-x","name":"Ghost","source":"serial"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "C to list gw-x's camera", func() bool {
		g := apiCameras(t, c)["ghost"]
		return g.Gateway == "gw-x" && g.Remote && g.Online
	})
	start := time.Now()
	waitFor(t, 5*time.Second, "gw-x's entry to expire", func() bool {
		g, ok := apiCameras(t, c)["ghost"]
		return ok && g.Gateway == "" && !g.Online
	})
	t.Logf("a vanished gateway's camera shown without an owner after %v (heartbeat 200ms, expiry after 3)", time.Since(start).Round(10*time.Millisecond))
}
