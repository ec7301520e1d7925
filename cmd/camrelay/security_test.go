package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/camrelay/camrelay/internal/auth"
)

// Secrets of the viewer-auth tests; the log must never show any of them.
const (
	viewToken = "view-tok-5c2e1b"
	haPass    = "ha-pass-9d81"
	vlcPass   = "vlc-pass-77aa"
)

// authConfig is pushConfig with viewer auth: a token, a user with a plain
// password (from the environment in real life) and one with a bcrypt hash.
func authConfig(t *testing.T, extra string) string {
	t.Helper()
	hash, err := auth.HashPassword(vlcPass)
	if err != nil {
		t.Fatal(err)
	}
	return `
viewers:
  token: ` + viewToken + `
  users:
    - name: homeassistant
      password: ` + haPass + `
    - name: vlc
      password_hash: "` + hash + `"
` + extra + pushConfig
}

// get does one GET with optional headers and returns the status, headers
// and the body's start.
func get(t *testing.T, url string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b := make([]byte, 512)
	n, _ := io.ReadFull(resp.Body, b)
	return resp.StatusCode, resp.Header, string(b[:n])
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// dialViewer dials a viewer socket with headers and returns the status of
// a refused handshake, or the socket.
func dialViewer(t *testing.T, url string, hdr http.Header) (*websocket.Conn, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", url, err)
		}
		return nil, resp.StatusCode
	}
	c.SetReadLimit(8 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c, http.StatusSwitchingProtocols
}

func TestViewerAuthGuardsEveryViewerPathAndLeavesProbesOpen(t *testing.T) {
	g := startGateway(t, authConfig(t, ""), "--log-level", "debug")
	up := uplink(t, g, "front", "s3cret")
	frames := testFrames(t, 1)
	send(t, up, websocket.MessageBinary, frames[0])

	viewerPaths := []string{"/", "/cam/front", "/cam/front/", "/static/index.js", "/static/style.css",
		"/cam/front/snapshot.jpg", "/cam/front/stream.mjpeg", "/api/cameras",
		"/api/frame.jpeg?src=front", "/api/stream.mjpeg?src=front", "/cam/nosuch/snapshot.jpg",
		// An escaped slash must not make a page look like the uplink or
		// control, which have their own tokens and skip viewer auth.
		"/cam/front%2Fingest", "/cam/front%2Fcontrol", "/cam/x%2Fingest/"}
	for _, p := range viewerPaths {
		status, h, _ := get(t, g.url(p), nil)
		if status != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials: %d, want 401", p, status)
			continue
		}
		if got := h.Values("WWW-Authenticate"); len(got) == 0 || got[0] != `Basic realm="camrelay", charset="UTF-8"` {
			t.Errorf("GET %s: WWW-Authenticate %q, want Basic realm=\"camrelay\" first so browsers and VLC ask", p, got)
		}
	}
	for _, p := range []string{"/cam/front/ws", "/api/ws?src=front"} {
		if _, status := dialViewer(t, g.ws(p), nil); status != http.StatusUnauthorized {
			t.Errorf("viewer socket %s without credentials: %d, want 401", p, status)
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if status, _, _ := get(t, g.url(p), nil); status != http.StatusOK {
			t.Errorf("GET %s: %d, want 200 without credentials (probes and scrapers stay open)", p, status)
		}
	}

	t.Run("Home Assistant and VLC put user:pass in the URL", func(t *testing.T) {
		for _, u := range []struct{ user, pass string }{{"homeassistant", haPass}, {"vlc", vlcPass}} {
			url := "http://" + u.user + ":" + u.pass + "@" + g.addr
			m := openMJPEG(t, url+"/cam/front/stream.mjpeg")
			if b, err := m.next(); err != nil || !bytes.Equal(b, frames[0]) {
				t.Errorf("%s: first MJPEG part %d bytes, %v", u.user, len(b), err)
			}
			if status, _, body := get(t, url+"/api/frame.jpeg?src=front", nil); status != 200 || !strings.HasPrefix(body, "\xff\xd8") {
				t.Errorf("%s: snapshot %d", u.user, status)
			}
		}
	})
	t.Run("a browser that signed in with Basic sends it on the socket", func(t *testing.T) {
		c, status := dialViewer(t, g.ws("/cam/front/ws"), http.Header{"Authorization": {basic("vlc", vlcPass)}})
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("socket with Basic: %d", status)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if b, err := nextJPEG(ctx, c); err != nil || !bytes.Equal(b, frames[0]) {
			t.Errorf("frame over the socket: %d bytes, %v", len(b), err)
		}
	})
	t.Run("the viewer token as bearer, query and the page's cookie", func(t *testing.T) {
		if status, _, _ := get(t, g.url("/cam/front/snapshot.jpg"), map[string]string{"Authorization": "Bearer " + viewToken}); status != 200 {
			t.Errorf("snapshot with bearer: %d", status)
		}
		if _, status := dialViewer(t, g.ws("/api/ws?src=front&token="+viewToken), nil); status != http.StatusSwitchingProtocols {
			t.Errorf("go2rtc socket with ?token=: %d", status)
		}
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, Timeout: 5 * time.Second}
		resp, err := browser.Get(g.url("/cam/front?token=" + viewToken))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == auth.CookieName {
				cookie = c
			}
		}
		if resp.StatusCode != 200 || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
			t.Fatalf("page with ?token=: %d, cookie %+v; want 200 and an HttpOnly SameSite=Strict cookie", resp.StatusCode, cookie)
		}
		for _, p := range []string{"/static/camera.js", "/api/cameras"} {
			resp, err := browser.Get(g.url(p))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("%s with the page's cookie: %d", p, resp.StatusCode)
			}
		}
	})
	t.Run("wrong credentials are refused and counted", func(t *testing.T) {
		before := g.metric(t, `camrelay_auth_failures_total{endpoint="mjpeg"}`)
		for _, h := range []map[string]string{
			{"Authorization": basic("vlc", "wrong")},
			{"Authorization": basic("nobody", vlcPass)},
			{"Authorization": "Bearer " + haPass},
		} {
			if status, _, body := get(t, g.url("/cam/front/stream.mjpeg"), h); status != 401 || !strings.Contains(body, "wrong") {
				t.Errorf("%v: %d %q, want 401", h, status, body)
			}
		}
		if got := g.metric(t, `camrelay_auth_failures_total{endpoint="mjpeg"}`); got != before+3 {
			t.Errorf("auth failures mjpeg: %v, want %v", got, before+3)
		}
	})
	for _, secret := range []string{viewToken, haPass, vlcPass, "s3cret", base64.StdEncoding.EncodeToString([]byte("vlc:" + vlcPass))} {
		if strings.Contains(g.logs.String(), secret) {
			t.Errorf("the log shows the secret %q:\n%s", secret, g.logs)
		}
	}
}

func TestViewingStaysOpenWithoutViewerAuth(t *testing.T) {
	g := startGateway(t, pushConfig)
	for _, p := range []string{"/", "/api/cameras", "/static/index.js"} {
		if status, _, _ := get(t, g.url(p), map[string]string{"Authorization": "Bearer anything"}); status != 200 {
			t.Errorf("GET %s: %d, want 200", p, status)
		}
	}
}

func TestAMetricsTokenGuardsMetricsAndLeavesProbesOpen(t *testing.T) {
	g := startGateway(t, "metrics_token: scrape-tok-31\n"+pushConfig)
	if status, h, _ := get(t, g.url("/metrics"), nil); status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("/metrics without the token: %d %q, want 401 asking for Bearer", status, h.Get("WWW-Authenticate"))
	}
	if status, _, _ := get(t, g.url("/metrics"), map[string]string{"Authorization": "Bearer nope"}); status != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong token: %d, want 401", status)
	}
	status, _, body := get(t, g.url("/metrics"), map[string]string{"Authorization": "Bearer scrape-tok-31"})
	if status != 200 || !strings.Contains(body, "# HELP") {
		t.Errorf("/metrics with the token: %d", status)
	}
	for _, p := range []string{"/healthz", "/readyz", "/api/cameras"} {
		if status, _, _ := get(t, g.url(p), nil); status != 200 {
			t.Errorf("GET %s: %d, want 200 (the metrics token guards only /metrics)", p, status)
		}
	}
}

func TestHashedUplinkAndAdminTokensWorkLikePlainOnes(t *testing.T) {
	g := startGateway(t, `
admin_token_hash: `+auth.HashToken("admin-plain")+`
cameras:
  - id: front
    source: push
    token_hash: `+auth.HashToken("cam-plain")+`
`)
	up := uplink(t, g, "front", "cam-plain")
	frame := testFrames(t, 1)[0]
	send(t, up, websocket.MessageBinary, frame)
	waitFor(t, 5*time.Second, "the frame", func() bool {
		status, _, _ := get(t, g.url("/cam/front/snapshot.jpg"), nil)
		return status == 200
	})
	if status, _, _ := get(t, g.url("/cam/front/ingest"), map[string]string{"Authorization": "Bearer " + auth.HashToken("cam-plain")}); status != 401 {
		t.Errorf("the hash itself as the uplink token: %d, want 401", status)
	}
	// Without its uplink the camera answers control at once (409), rather
	// than after the ack timeout.
	up.Close(websocket.StatusNormalClosure, "")
	control := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, g.url("/cam/front/control"), strings.NewReader(`{"quality":10}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status := control("admin-plain"); status == http.StatusUnauthorized || status == http.StatusForbidden {
		t.Errorf("control with the admin token whose hash is configured: %d", status)
	}
	if status := control("wrong"); status != http.StatusUnauthorized {
		t.Errorf("control with a wrong token: %d, want 401", status)
	}
}
