//go:build unix

package main

// The tests that send SIGHUP to the test process itself: Unix only.

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/camrelay/camrelay/internal/certs/certstest"
)

func TestHTTPSServesViewersAndReloadsTheCertificateOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := certstest.WritePair(t, dir, "first")
	path := filepath.Join(dir, "camrelay.yaml")
	if err := os.WriteFile(path, []byte(pushConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	addrc := make(chan string, 1)
	logs := &syncBuffer{}
	go func() {
		done <- runWith(ctx, []string{"camrelay", "--config", path, "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile},
			func(string) string { return "" }, io0{}, logs, func(a net.Addr) { addrc <- a.String() })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("gateway did not start: %v\n%s", err, logs)
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway exited with %v", err)
		}
	}()

	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	waitFor(t, 5*time.Second, "https healthz", func() bool {
		resp, err := client.Get("https://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	// A viewer socket over wss:// and an uplink over it: the page served by
	// https:// dials wss://.
	up := func() *websocket.Conn {
		c, _, err := websocket.Dial(ctx, "wss://"+addr+"/cam/front/ingest", &websocket.DialOptions{
			HTTPClient: client, HTTPHeader: http.Header{"Authorization": {"Bearer s3cret"}}})
		if err != nil {
			t.Fatalf("uplink over TLS: %v", err)
		}
		return c
	}()
	defer up.CloseNow()
	viewer, _, err := websocket.Dial(ctx, "wss://"+addr+"/cam/front/ws", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("viewer over TLS: %v", err)
	}
	defer viewer.CloseNow()
	viewer.SetReadLimit(8 << 20)
	frame := testFrames(t, 1)[0]
	send(t, up, websocket.MessageBinary, frame)
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	if b, err := nextJPEG(rctx, viewer); err != nil || !bytes.Equal(b, frame) {
		t.Fatalf("frame over wss: %d bytes, %v", len(b), err)
	}

	if got := servedName(t, addr); got != "first" {
		t.Fatalf("serves %q, want first", got)
	}
	// The container's HEALTHCHECK speaks HTTPS when TLS is configured.
	if err := runWith(ctx, []string{"camrelay", "--healthcheck", "--listen", addr, "--tls-cert", certFile}, func(string) string { return "" }, io0{}, io0{}, nil); err != nil {
		t.Errorf("--healthcheck over TLS: %v", err)
	}
	certstest.WritePair(t, dir, "second")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the new certificate", func() bool { return servedName(t, addr) == "second" })

	// A broken pair is refused and the good one stays.
	if err := os.WriteFile(keyFile, []byte("-----BEGIN EC PRIVATE KEY-----\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, 5*time.Second, "the reload error in the log", func() bool {
		return strings.Contains(logs.String(), "TLS certificate reload failed")
	})
	if got := servedName(t, addr); got != "second" {
		t.Errorf("after a failed reload serves %q, want second", got)
	}
	// The viewer that was watching all along is still there.
	send(t, up, websocket.MessageBinary, frame)
	if b, err := nextJPEG(rctx, viewer); err != nil || !bytes.Equal(b, frame) {
		t.Errorf("frame after reloads: %d bytes, %v", len(b), err)
	}
}

func TestSIGHUPWithoutTLSIsLoggedAndTheGatewayStays(t *testing.T) {
	g := startGateway(t, pushConfig)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the SIGHUP log line", func() bool {
		return strings.Contains(g.logs.String(), "SIGHUP: nothing to reload")
	})
	if status, _, _ := get(t, g.url("/healthz"), nil); status != 200 {
		t.Errorf("healthz after SIGHUP: %d", status)
	}
}
