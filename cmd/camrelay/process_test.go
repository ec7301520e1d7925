package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// procGateway is the camrelay binary run as a process of its own, so that
// its goroutines and heap, read from its profiler, are its alone: the fault
// and soak tests compare them before and after a fault.
type procGateway struct {
	*gateway
	pprof string
	cmd   *exec.Cmd
	exit  chan error // the process's exit, once
}

var listeningRE = regexp.MustCompile(`msg="(camrelay|profiler) listening" addr=(\S+)`)

// startProcess runs the binary on cfg, listening on 127.0.0.1 with the
// profiler on, and stops it with SIGTERM when the test ends.
func startProcess(t *testing.T, cfg string) *procGateway {
	t.Helper()
	bin := distBinary(t)
	path := filepath.Join(t.TempDir(), "camrelay.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", path, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "CAMRELAY_PPROF=127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &procGateway{gateway: &gateway{logs: &syncBuffer{}}, cmd: cmd, exit: make(chan error, 1)}
	addrs := make(chan [2]string, 2)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.logs, line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				addrs <- [2]string{m[1], m[2]}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		p.exit <- cmd.Wait()
	}()
	t.Cleanup(func() { p.terminate(t) })
	for p.addr == "" || p.pprof == "" {
		select {
		case a := <-addrs:
			if a[0] == "camrelay" {
				p.addr = a[1]
			} else {
				p.pprof = a[1]
			}
		case err := <-p.exit:
			p.exit <- err
			t.Fatalf("camrelay exited at start: %v\n%s", err, p.logs)
		case <-time.After(15 * time.Second):
			t.Fatalf("camrelay did not report its addresses within 15 s\n%s", p.logs)
		}
	}
	return p
}

// terminate sends SIGTERM and waits for a clean exit within 5 s.
func (p *procGateway) terminate(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exit:
		p.exit <- err
		if err != nil {
			t.Errorf("camrelay exited with %v after SIGTERM\n%s", err, p.logs)
		}
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("camrelay did not exit within 5 s of SIGTERM\n%s", p.logs)
		p.exit <- <-p.exit
	}
}

// resources is what the gateway process holds: its goroutines, and its
// heap in use right after a garbage collection.
type resources struct {
	goroutines int
	heap       int64
}

var (
	goroutineTotalRE = regexp.MustCompile(`goroutine profile: total (\d+)`)
	heapInuseRE      = regexp.MustCompile(`# HeapInuse = (\d+)`)
)

func (p *procGateway) profile(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + p.pprof + path)
	if err != nil {
		t.Fatalf("profiler: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("profiler %s: %d %v", path, resp.StatusCode, err)
	}
	return string(b)
}

func (p *procGateway) resources(t *testing.T) resources {
	t.Helper()
	g := goroutineTotalRE.FindStringSubmatch(p.profile(t, "/debug/pprof/goroutine?debug=1"))
	h := heapInuseRE.FindStringSubmatch(p.profile(t, "/debug/pprof/heap?gc=1&debug=1"))
	if g == nil || h == nil {
		t.Fatal("profiler output without goroutine total or HeapInuse")
	}
	n, _ := strconv.Atoi(g[1])
	heap, _ := strconv.ParseInt(h[1], 10, 64)
	return resources{goroutines: n, heap: heap}
}

// Tolerances for "back to the baseline": a goroutine or two may be between
// states (a timer, a keep-alive connection closing); the heap may hold a
// little more after a garbage collection (allocator pages, pools). Growth
// beyond these is a leak.
const (
	goroutineSlack = 3
	heapSlack      = 4 << 20
	heapFactor     = 1.25
)

// settles waits until the gateway's goroutines and heap are back within the
// tolerances of base, and fails with a goroutine dump if they stay above.
func (p *procGateway) settles(t *testing.T, base resources) resources {
	t.Helper()
	http.DefaultClient.CloseIdleConnections() // their server sides are goroutines too
	deadline := time.Now().Add(15 * time.Second)
	for {
		now := p.resources(t)
		gOK := now.goroutines <= base.goroutines+goroutineSlack
		hOK := float64(now.heap) <= float64(base.heap)*heapFactor+heapSlack
		if gOK && hOK {
			t.Logf("gateway back to baseline: goroutines %d (baseline %d), heap %.1f MiB (baseline %.1f MiB)",
				now.goroutines, base.goroutines, mib(now.heap), mib(base.heap))
			return now
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not return to its baseline within 15 s: goroutines %d (baseline %d + %d), heap %.1f MiB (baseline %.1f MiB × %.2f + %d MiB)\n%s",
				now.goroutines, base.goroutines, goroutineSlack, mib(now.heap), mib(base.heap), heapFactor, heapSlack>>20,
				p.profile(t, "/debug/pprof/goroutine?debug=1"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// rawUplink opens a camera uplink by hand, without a WebSocket library, so
// a test can cut the link in the middle of a frame as a board losing power
// does. It returns the connection after the 101 answer.
func rawUplink(t *testing.T, g *gateway, camera, token string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	fmt.Fprintf(c, "GET /cam/%s/ingest HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\nOrigin: file://\r\n\r\n",
		camera, g.addr, base64.StdEncoding.EncodeToString(key), token)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("raw uplink handshake: %v %v", resp, err)
	}
	return c
}

// clientFrame encodes one final, masked client frame (RFC 6455 section 5.2).
func clientFrame(opcode byte, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteByte(0x80 | opcode)
	switch n := len(payload); {
	case n < 126:
		b.WriteByte(0x80 | byte(n))
	case n <= 0xFFFF:
		b.WriteByte(0x80 | 126)
		_ = binary.Write(&b, binary.BigEndian, uint16(n))
	default:
		b.WriteByte(0x80 | 127)
		_ = binary.Write(&b, binary.BigEndian, uint64(n))
	}
	mask := []byte{0x37, 0xfa, 0x21, 0x3d}
	b.Write(mask)
	for i, c := range payload {
		b.WriteByte(c ^ mask[i%4])
	}
	return b.Bytes()
}
