package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, MaxPayload: 1 << 20, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats server not ready")
	}
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
