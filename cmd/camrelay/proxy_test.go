package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// freePort returns a port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startProxy runs a reverse proxy (its process, owned by the test) and
// returns its address once it answers /healthz through to the gateway.
func startProxy(t *testing.T, name string, args []string, env []string, addr string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not proxy /healthz within 10 s: %v\n%s", name, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deployFile reads a file of deploy/.
func deployFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nginxInFront runs deploy/nginx.conf with its own ports and without TLS.
func nginxInFront(t *testing.T, gateway string) string {
	path, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx not installed (scripts/deps.sh installs it)")
	}
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	site := deployFile(t, "nginx.conf")
	var kept []string
	for _, line := range strings.Split(site, "\n") {
		if strings.Contains(line, "ssl_certificate") {
			continue
		}
		kept = append(kept, line)
	}
	site = strings.Join(kept, "\n")
	for old, repl := range map[string]string{
		"listen 443 ssl;":        "listen " + addr + ";",
		"listen 80;":             "listen 127.0.0.1:" + strconv.Itoa(freePort(t)) + ";",
		"server 127.0.0.1:8080;": "server " + gateway + ";",
	} {
		if !strings.Contains(site, old) {
			t.Fatalf("deploy/nginx.conf no longer has %q; update this test", old)
		}
		site = strings.Replace(site, old, repl, 1)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers must reach the test's temporary directory
	}
	main := user + "daemon off;\npid " + dir + "/nginx.pid;\nerror_log " + dir + "/error.log warn;\n" +
		"events { worker_connections 512; }\nhttp {\n  access_log " + dir + "/access.log;\n" +
		"  client_body_temp_path " + dir + "/body;\n  proxy_temp_path " + dir + "/proxy;\n" +
		"  fastcgi_temp_path " + dir + "/fastcgi;\n  uwsgi_temp_path " + dir + "/uwsgi;\n  scgi_temp_path " + dir + "/scgi;\n" +
		"  include " + dir + "/camrelay.conf;\n}\n"
	os.WriteFile(filepath.Join(dir, "camrelay.conf"), []byte(site), 0o644)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644)
	startProxy(t, path, []string{"-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log")}, nil, addr)
	return addr
}

// caddyInFront runs deploy/Caddyfile on a plain-HTTP port of its own.
func caddyInFront(t *testing.T, gateway string) string {
	path, err := exec.LookPath("caddy")
	if err != nil {
		t.Skip("caddy not installed")
	}
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	site := deployFile(t, "Caddyfile")
	for old, repl := range map[string]string{
		"cams.example.com {": "http://" + addr + " {",
		" 127.0.0.1:8080 {":  " " + gateway + " {",
	} {
		if !strings.Contains(site, old) {
			t.Fatalf("deploy/Caddyfile no longer has %q; update this test", old)
		}
		site = strings.ReplaceAll(site, old, repl)
	}
	site = "{\n\tadmin off\n\tauto_https off\n\tgrace_period 500ms\n}\n" + site
	file := filepath.Join(dir, "Caddyfile")
	os.WriteFile(file, []byte(site), 0o644)
	startProxy(t, path, []string{"run", "--config", file, "--adapter", "caddyfile"},
		[]string{"HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}, addr)
	return addr
}

// TestTheDeployedProxiesCarryUplinksViewerSocketsAndMJPEG runs nginx and
// Caddy with the files in deploy/ in front of a gateway: the uplink and the
// viewer socket upgrade through them, and MJPEG parts arrive one by one,
// not held in a buffer.
func TestTheDeployedProxiesCarryUplinksViewerSocketsAndMJPEG(t *testing.T) {
	for name, front := range map[string]func(*testing.T, string) string{"nginx": nginxInFront, "caddy": caddyInFront} {
		t.Run(name, func(t *testing.T) {
			g := startGateway(t, "trusted_proxies: [127.0.0.1]\n"+pushConfig)
			proxy := front(t, g.addr)
			via := &gateway{addr: proxy}
			up := uplink(t, via, "front", "s3cret")
			frames := testFrames(t, 3)
			ws := viewerWS(t, via, "front")
			mj := openMJPEG(t, via.url("/cam/front/stream.mjpeg"))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i, f := range frames {
				send(t, up, websocket.MessageBinary, f)
				// Each frame arrives before the next is sent: a buffering
				// proxy would hold these small parts back.
				if b, err := nextJPEG(ctx, ws); err != nil || !bytes.Equal(b, f) {
					t.Fatalf("socket frame %d: %d bytes, %v", i, len(b), err)
				}
				partc := make(chan []byte, 1)
				go func() { b, _ := mj.next(); partc <- b }()
				select {
				case b := <-partc:
					if !bytes.Equal(b, f) {
						t.Fatalf("MJPEG part %d: %d bytes, want the frame", i, len(b))
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("MJPEG part %d did not come through %s within 5 s: buffered?", i, name)
				}
			}
			if v := g.metric(t, `camrelay_viewers{camera="front",transport="ws"}`); v != 1 {
				t.Errorf("ws viewers %v, want 1", v)
			}
			// The rest of the surface comes through with its own framing.
			for _, p := range []string{"/", "/static/index.js", "/api/cameras", "/cam/front/snapshot.jpg"} {
				resp, err := http.Get(via.url(p))
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || len(body) == 0 {
					t.Errorf("GET %s through %s: %d, %d bytes, %v", p, name, resp.StatusCode, len(body), err)
				}
			}
		})
	}
}
