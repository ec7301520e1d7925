package main

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/camrelay/camrelay/internal/auth"
)

// withLimits adds lines to the limits: mapping of cfg.
func withLimits(cfg string, lines ...string) string {
	return strings.Replace(cfg, "limits:\n", "limits:\n  "+strings.Join(lines, "\n  ")+"\n", 1)
}

// proxied sets the header a trusted reverse proxy adds, so one test on
// 127.0.0.1 can play clients at several addresses.
func proxied(client string) map[string]string {
	return map[string]string{"X-Forwarded-For": client}
}

func TestRepeatedWrongCredentialsFromOneAddressAreAnswered429(t *testing.T) {
	g := startGateway(t, "admin_token: admin-tok\ntrusted_proxies: [127.0.0.1]\n"+
		withLimits(pushConfig, "max_auth_failures: 3", "auth_failure_forgive: 1m"))
	const attacker, neighbour = "198.51.100.66", "198.51.100.7"
	wrong := func(client string) map[string]string {
		return map[string]string{"X-Forwarded-For": client, "Authorization": "Bearer guess"}
	}
	for i := range 3 {
		if status, _, _ := get(t, g.url("/cam/front/ingest"), wrong(attacker)); status != http.StatusUnauthorized {
			t.Fatalf("wrong uplink token %d: %d, want 401", i+1, status)
		}
	}
	// Now even the right token gets no answer: guessing learns nothing.
	right := map[string]string{"X-Forwarded-For": attacker, "Authorization": "Bearer s3cret"}
	status, h, body := get(t, g.url("/cam/front/ingest"), right)
	retry, _ := strconv.Atoi(h.Get("Retry-After"))
	if status != http.StatusTooManyRequests || retry < 1 || retry > 60 || !strings.Contains(body, "too many failed") {
		t.Fatalf("after 3 failures: %d Retry-After %q %q; want 429 with Retry-After 1..60 s", status, h.Get("Retry-After"), body)
	}
	// The block covers every endpoint that takes a credential.
	if status, _, _ := get(t, g.url("/cam/front/control"), wrong(attacker)); status != http.StatusTooManyRequests {
		t.Errorf("control from the blocked address: %d, want 429", status)
	}
	// Another address is not affected, nor is viewing without auth.
	if status, _, _ := get(t, g.url("/cam/front/ingest"), wrong(neighbour)); status != http.StatusUnauthorized {
		t.Errorf("another address: %d, want 401", status)
	}
	if status, _, _ := get(t, g.url("/api/cameras"), proxied(attacker)); status != http.StatusOK {
		t.Errorf("open viewing from the blocked address: %d, want 200", status)
	}
	if got := g.metric(t, `camrelay_limit_hits_total{reason="auth_failures"}`); got != 2 {
		t.Errorf("limit hits auth_failures: %v, want 2", got)
	}
	if got := g.metric(t, `camrelay_auth_failures_total{endpoint="ingest"}`); got != 4 {
		t.Errorf("auth failures ingest: %v, want 4", got)
	}
	if !strings.Contains(g.logs.String(), "refused after repeated wrong credentials") {
		t.Errorf("no log line names the blocked address:\n%s", g.logs)
	}
	if strings.Contains(g.logs.String(), "s3cret") || strings.Contains(g.logs.String(), "admin-tok") {
		t.Errorf("the log shows a token:\n%s", g.logs)
	}
}

func TestConnectionsPerClientAddressAreCapped(t *testing.T) {
	g := startGateway(t, "trusted_proxies: [127.0.0.1]\n"+withLimits(pushConfig, "max_conns_per_client: 2"))
	up := uplink(t, g, "front", "s3cret")
	send(t, up, websocket.MessageBinary, testFrames(t, 1)[0])
	const client = "203.0.113.5"
	open := func(client string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, g.url("/cam/front/stream.mjpeg"), nil)
		req.Header.Set("X-Forwarded-For", client)
		return http.DefaultClient.Do(req)
	}
	var streams []*http.Response
	for range 2 {
		resp, err := open(client)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream within the cap: %v %v", resp, err)
		}
		streams = append(streams, resp)
		t.Cleanup(func() { resp.Body.Close() })
	}
	status, h, body := get(t, g.url("/cam/front/stream.mjpeg"), proxied(client))
	if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "max_conns_per_client") {
		t.Fatalf("third stream: %d %q, want 429 naming max_conns_per_client", status, body)
	}
	if status, _, _ := get(t, g.url("/cam/front/snapshot.jpg"), proxied("203.0.113.6")); status != 200 {
		t.Errorf("another address: %d, want 200", status)
	}
	if got := g.metric(t, `camrelay_limit_hits_total{reason="conns_per_client"}`); got != 1 {
		t.Errorf("limit hits conns_per_client: %v, want 1", got)
	}
	// A viewer that leaves gives its place back.
	streams[0].Body.Close()
	waitFor(t, 5*time.Second, "a freed slot", func() bool {
		status, _, _ := get(t, g.url("/cam/front/snapshot.jpg"), proxied(client))
		return status == 200
	})
	// The machine itself is not capped: it is the operator or a proxy
	// whose trusted_proxies is not set.
	for range 3 {
		m := openMJPEG(t, g.url("/cam/front/stream.mjpeg"))
		_ = m
	}
}

// servedName connects with TLS and returns the certificate's common name.
func servedName(t *testing.T, addr string) string {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

type io0 struct{}

func (io0) Write(p []byte) (int, error) { return len(p), nil }

func TestHashCommandPrintsWhatTheConfigTakes(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := hashCmd([]string{"token"}, strings.NewReader("my-token\n"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	tok, err := auth.ParseTokenHash(strings.TrimSpace(out.String()))
	if err != nil || !tok.Match("my-token") {
		t.Errorf("hash token printed %q (%v); it must parse and match the token", out.String(), err)
	}
	out.Reset()
	if err := hashCmd([]string{"password"}, strings.NewReader("pw with spaces\n"), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewViewers([]auth.User{{Name: "u", PasswordHash: strings.TrimSpace(out.String())}}, auth.Token{})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth("u", "pw with spaces")
	if res, _ := v.Check(r); res != auth.OK {
		t.Errorf("the printed bcrypt hash does not accept the password: %v", res)
	}
	out.Reset()
	if err := hashCmd([]string{"token", "--new"}, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "token: ") || !strings.Contains(out.String(), "hash:  sha256:") {
		t.Errorf("token --new printed %q", out.String())
	}
	if err := hashCmd([]string{"password"}, strings.NewReader(""), &out, &errOut); err == nil {
		t.Error("empty input accepted")
	}
}
