package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/camrelay/camrelay/internal/frame"
	"github.com/camrelay/camrelay/internal/hub"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startNATS runs a NATS server with opts on a free loopback port until the
// test ends.
func startNATS(t *testing.T, opts *natsserver.Options) *natsserver.Server {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
	srv, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats server not ready")
	}
	return srv
}

// The subjects are a wire contract between gateways of different versions:
// docs/CLUSTER.md lists them.
func TestSubjectsAreTheDocumentedOnes(t *testing.T) {
	s := subjects{prefix: "camrelay.site1"}
	for got, want := range map[string]string{
		s.frame("front"):                   "camrelay.site1.cam.front.frame",
		s.status("front"):                  "camrelay.site1.cam.front.status",
		s.demand("front"):                  "camrelay.site1.cam.front.demand",
		s.allDemand():                      "camrelay.site1.cam.*.demand",
		s.control("gw-a"):                  "camrelay.site1.gw.gw-a.control",
		s.snapshot("gw-a"):                 "camrelay.site1.gw.gw-a.snapshot",
		tokenBeforeLast(s.demand("front")): "front",
	} {
		if got != want {
			t.Errorf("%q, want %q", got, want)
		}
	}
}

func TestConnectRefusesAServerThatWouldDropLargeFrames(t *testing.T) {
	srv := startNATS(t, &natsserver.Options{MaxPayload: 1 << 20})
	opts := Options{URL: srv.ClientURL(), Name: "gw-a", Namespace: "default"}

	opts.MaxFrame = 1<<20 - headerRoom
	n, err := Connect(context.Background(), opts)
	if err != nil {
		t.Fatalf("frames that fit: %v", err)
	}
	n.Conn().Close()

	opts.MaxFrame = 4 << 20
	_, err = Connect(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "max_payload") || !strings.Contains(err.Error(), "1048576") {
		t.Fatalf("frames of 4 MiB on a 1 MiB server: %v, want a refusal naming max_payload and the limit", err)
	}
}

func TestConnectStartsWithoutNATS(t *testing.T) {
	// Nothing listens on port 1: the gateway must start anyway (after a
	// bounded wait) and keep trying in the background.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	n, err := Connect(ctx, Options{URL: "nats://127.0.0.1:1", Name: "gw-a", Namespace: "default", MaxFrame: 4 << 20})
	if err != nil {
		t.Fatalf("Connect without NATS: %v, want a node that keeps trying", err)
	}
	if n.Conn().IsConnected() {
		t.Fatal("connected to nothing")
	}
	n.Conn().Close()
}

// nopSink is a local camera's sink that keeps nothing.
type nopSink struct{}

func (nopSink) Publish(*frame.Frame) uint64     { return 0 }
func (nopSink) SetOnline(bool)                  {}
func (nopSink) Message(string, json.RawMessage) {}
func (nopSink) Dropped(string)                  {}
func (nopSink) Connected()                      {}

// The newest link wins, and only a new link: a gateway renewing a claim it
// lost (its entry expired during a slow heartbeat or a NATS restart) must
// not take the camera back from a gateway whose board connected since.
// Getting this wrong closes the board's new uplink and keeps its stale one.
func TestARenewedClaimGivesWayToANewerLinkAndANewLinkTakesTheCamera(t *testing.T) {
	srv := startNATS(t, &natsserver.Options{JetStream: true, StoreDir: t.TempDir()})
	ctx := context.Background()
	n, err := Connect(ctx, Options{URL: srv.ClientURL(), Name: "gw-c", Namespace: "default", MaxFrame: 64 << 10, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	released := 0
	l := n.Local(LocalOptions{ID: "front", Source: "push", Sink: nopSink{}, Release: func() { released++ }})
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: n.bucket(), History: 1})
	if err != nil {
		t.Fatal(err)
	}
	owner := func() string {
		e, err := kv.Get(ctx, "front")
		if err != nil {
			t.Fatal(err)
		}
		var v entry
		if err := json.Unmarshal(e.Value(), &v); err != nil {
			t.Fatal(err)
		}
		return v.Gateway
	}

	// The board connects here: its claim overwrites gw-b's older one.
	if _, err := kv.Put(ctx, "front", []byte(`{"gateway":"gw-b"}`)); err != nil {
		t.Fatal(err)
	}
	l.Sink().Connected()
	n.reconcile(ctx, kv)
	if got := owner(); got != "gw-c" || released != 0 {
		t.Fatalf("after a new link here the directory names %q (released %d), want gw-c", got, released)
	}

	// Our entry expires; meanwhile the board connects to gw-b, which claims
	// the camera. Our renewal finds gw-b's claim and gives the camera up.
	if err := kv.Delete(ctx, "front"); err != nil {
		t.Fatal(err)
	}
	l.c.rev.Store(0)
	if _, err := kv.Put(ctx, "front", []byte(`{"gateway":"gw-b"}`)); err != nil {
		t.Fatal(err)
	}
	n.reconcile(ctx, kv)
	if got := owner(); got != "gw-b" || released != 1 || !l.c.yielded.Load() {
		t.Fatalf("after a renewal here the directory names %q (released %d, yielded %v), want gw-b, our link released",
			got, released, l.c.yielded.Load())
	}

	// An expired entry nobody else claimed is simply renewed.
	l.Sink().Connected()
	n.reconcile(ctx, kv)
	if err := kv.Delete(ctx, "front"); err != nil {
		t.Fatal(err)
	}
	l.c.rev.Store(0)
	n.reconcile(ctx, kv)
	if got := owner(); got != "gw-c" || l.c.rev.Load() == 0 {
		t.Fatalf("after renewing an expired entry the directory names %q (revision %d), want gw-c", got, l.c.rev.Load())
	}
}

// A gateway that shuts down says so: its directory entries go at once, not
// when they expire, and a control request sent to it afterwards fails at
// once with "no responders" instead of waiting out its timeout.
func TestAGatewayThatStopsLeavesNoClaimAndNoSubscription(t *testing.T) {
	srv := startNATS(t, &natsserver.Options{JetStream: true, StoreDir: t.TempDir()})
	n, err := Connect(context.Background(), Options{URL: srv.ClientURL(), Name: "gw-a", Namespace: "default", Heartbeat: time.Hour,
		MaxFrame: 64 << 10, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	l := n.Local(LocalOptions{ID: "front", Source: "push", Hub: hub.New("front", nil), Sink: nopSink{}, Release: func() {}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	l.Sink().Connected()

	other, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	js, err := jetstream.New(other)
	if err != nil {
		t.Fatal(err)
	}
	var kv jetstream.KeyValue
	deadline := time.Now().Add(5 * time.Second)
	for {
		if kv == nil {
			kv, _ = js.KeyValue(context.Background(), n.bucket())
		}
		if kv != nil {
			if _, err := kv.Get(context.Background(), "front"); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("gw-a did not claim front within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := kv.Get(context.Background(), "front"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("gw-a's claim after it stopped: %v, want it deleted", err)
	}
	start := time.Now()
	_, err = other.Request(n.subject.control("gw-a"), []byte(`{"camera":"front"}`), 5*time.Second)
	if !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("control request to a stopped gateway: %v after %v, want no responders", err, time.Since(start))
	}
}
