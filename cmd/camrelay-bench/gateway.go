package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// The camera the bench configures in the gateway.
const (
	benchCamera = "bench"
	benchToken  = "benchtoken"
	// pushFPS is the camera's frame rate: an OV2640 at VGA.
	pushFPS = 20
	// pushWriteTimeout bounds one frame write by the pusher; a server that
	// takes nothing for this long has failed.
	pushWriteTimeout = 5 * time.Second
	// startTimeout bounds a server's start: up, camera online.
	startTimeout = 15 * time.Second
	// uplinkReadLimit is what the pusher accepts from the gateway: JSON
	// commands, far below this.
	uplinkReadLimit = 1 << 20
)

// gatewayLogLevel keeps the gateway's log to what deserves a look:
// lifecycle lines would drown them.
const gatewayLogLevel = "warn"

// gatewayConfig is the file the bench starts the gateway with. The viewer
// limits sit above the largest case; everything else is the default.
const gatewayConfig = `listen: "%s"
log_level: %s
limits:
  max_viewers_per_camera: 10000
  max_viewers: 20000
cameras:
  - id: ` + benchCamera + `
    source: push
    token: ` + benchToken + `
`

// buildGateway builds ./cmd/camrelay of the module the bench runs in into
// dir and returns the binary's path.
func buildGateway(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("find the module: not inside the camrelay module; run from the repository or pass -gateway")
	}
	bin := filepath.Join(dir, "camrelay")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/camrelay")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/camrelay: %w\n%s", err, out)
	}
	return bin, nil
}

// gatewayVersion returns the first line of `camrelay --version`.
func gatewayVersion(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// target is one server under test with its pusher: a gateway process or a
// ceiling process. It is used by one goroutine; stop must be called on
// every path.
type target struct {
	kind string // "gateway" or "ceiling"
	addr string // where viewers connect
	// paths maps a transport to the viewer request path.
	paths map[string]string
	proc  *child
	push  *pusher
	// http talks to the gateway's API; nil for the ceiling.
	http *http.Client

	cancel   context.CancelFunc
	pushDone chan error      // the pusher's result
	stopping []func() string // extra teardown; each may return a note
}

// stop ends the pusher and the process and returns notes on anything
// abnormal: a pusher failure, a process that needed SIGKILL or died early.
func (t *target) stop() []string {
	var notes []string
	if t.cancel != nil {
		t.cancel()
	}
	if t.pushDone != nil {
		if err := <-t.pushDone; err != nil {
			notes = append(notes, fmt.Sprintf("%s pusher: %v", t.kind, err))
		}
		t.pushDone = nil
	}
	for _, f := range t.stopping {
		if n := f(); n != "" {
			notes = append(notes, n)
		}
	}
	t.stopping = nil
	if t.proc != nil {
		early := t.proc.exited()
		t.proc.stop()
		switch {
		case early:
			notes = append(notes, fmt.Sprintf("%s process exited on its own during the case: %v", t.kind, t.proc.err))
		case t.proc.killed:
			notes = append(notes, fmt.Sprintf("%s process ignored SIGTERM for %s and was killed", t.kind, stopGrace))
		}
		if last, lines := t.proc.log.tail(3); lines > 0 {
			notes = append(notes, fmt.Sprintf("%s logged %d lines; the last: %s", t.kind, lines, strings.Join(last, " | ")))
		}
	}
	if t.http != nil {
		t.http.CloseIdleConnections()
	}
	return notes
}

// startPusher runs p until stop.
func (t *target) startPusher(ctx context.Context, p *pusher) {
	t.push = p
	t.pushDone = make(chan error, 1)
	go func() { t.pushDone <- p.run(ctx) }()
}

// startGateway writes a config into dir, starts bin with it, waits for
// /healthz, connects the pusher and waits until the camera is online.
func startGateway(ctx context.Context, bin, dir string, bases [][]byte) (t *target, err error) {
	return startGatewayWith(ctx, bin, dir, bases, "", true)
}

// startGatewayWith is startGateway with extra top-level config lines (a
// cluster: block) and, when push is false, no uplink: the camera is then
// another gateway's, and the start ends once /healthz answers.
func startGatewayWith(ctx context.Context, bin, dir string, bases [][]byte, extra string, push bool) (t *target, err error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if dir, err = os.MkdirTemp(dir, "gateway-"); err != nil {
		return nil, fmt.Errorf("make gateway dir: %w", err)
	}
	cfg := filepath.Join(dir, "camrelay.yaml")
	if err := os.WriteFile(cfg, append(fmt.Appendf(nil, gatewayConfig, addr, gatewayLogLevel), extra...), 0o600); err != nil {
		return nil, fmt.Errorf("write gateway config: %w", err)
	}
	proc, err := startChild("gateway", bin, []string{"--config", cfg}, nil)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	t = &target{
		kind: "gateway",
		addr: addr,
		paths: map[string]string{
			transportWS:    "/cam/" + benchCamera + "/ws",
			transportMJPEG: "/cam/" + benchCamera + "/stream.mjpeg",
		},
		proc:   proc,
		http:   &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}},
		cancel: cancel,
	}
	defer func() {
		if err != nil {
			t.stop()
			t = nil
		}
	}()

	if err := t.waitHTTP(ctx, "/healthz"); err != nil {
		return t, err
	}
	if !push {
		return t, nil
	}
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/cam/"+benchCamera+"/ingest", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + benchToken}},
		HTTPClient: t.http,
	})
	if err != nil {
		return t, fmt.Errorf("connect the uplink: %w", err)
	}
	c.SetReadLimit(uplinkReadLimit)
	// The gateway sends JSON commands (demand, control) down the uplink;
	// they must be read, or the library never sees the close handshake.
	// The reader has its own context: a cancelled Read closes the
	// connection abruptly, and the bench ends the uplink with a normal
	// close instead, as a camera that is switched off cleanly would.
	readCtx, stopRead := context.WithCancel(context.WithoutCancel(ctx))
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			if _, _, err := c.Read(readCtx); err != nil {
				return
			}
		}
	}()
	t.stopping = append(t.stopping, func() string {
		defer stopRead()
		closed := make(chan error, 1)
		go func() { closed <- c.Close(websocket.StatusNormalClosure, "bench done") }()
		var note string
		select {
		case err := <-closed:
			if err != nil {
				note = fmt.Sprintf("gateway uplink close handshake: %v", err)
			}
		case <-time.After(pushWriteTimeout):
			note = "gateway did not answer the uplink's close frame"
			_ = c.CloseNow()
			<-closed
		}
		stopRead()
		<-readDone
		return note
	})
	t.startPusher(ctx, &pusher{bases: bases, sink: &wsSink{c: c}})

	deadline := time.Now().Add(startTimeout)
	for {
		st, err := t.camera(ctx)
		if err == nil && st.Online && st.Frames > 0 {
			return t, nil
		}
		if time.Now().After(deadline) {
			lines, _ := t.proc.log.tail(5)
			return t, fmt.Errorf("camera %q not online within %s with the pusher streaming (status: online %v, %d frames; error: %v; gateway log: %s)",
				benchCamera, startTimeout, st.Online, st.Frames, err, strings.Join(lines, " | "))
		}
		if err := t.alive(); err != nil {
			return t, err
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return t, err
		}
	}
}

// alive returns an error with the log tail if the process has exited.
func (t *target) alive() error {
	if !t.proc.exited() {
		return nil
	}
	lines, _ := t.proc.log.tail(20)
	return fmt.Errorf("%s exited: %v\n%s", t.kind, t.proc.err, strings.Join(lines, "\n"))
}

// waitHTTP polls path until it answers 200.
func (t *target) waitHTTP(ctx context.Context, path string) error {
	deadline := time.Now().Add(startTimeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.addr+path, nil)
		if err != nil {
			return fmt.Errorf("wait for %s: %w", path, err)
		}
		resp, err := t.http.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if err := t.alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s: %w", path, err)
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// cameraStatus is the part of /api/cameras the bench reads.
type cameraStatus struct {
	ID      string         `json:"id"`
	Online  bool           `json:"online"`
	FPSIn   float64        `json:"fps_in"`
	Viewers map[string]int `json:"viewers"`
	Width   int            `json:"width"`
	Height  int            `json:"height"`
	Frames  uint64         `json:"frames"`
}

// camera returns the bench camera's entry of /api/cameras.
func (t *target) camera(ctx context.Context) (cameraStatus, error) {
	var list []cameraStatus
	if err := t.getJSON(ctx, "/api/cameras", &list); err != nil {
		return cameraStatus{}, err
	}
	for _, c := range list {
		if c.ID == benchCamera {
			return c, nil
		}
	}
	return cameraStatus{}, fmt.Errorf("/api/cameras lists no camera %q", benchCamera)
}

func (t *target) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.addr+path, nil)
	if err != nil {
		return fmt.Errorf("get %s: %w", path, err)
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: status %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("get %s: %w", path, err)
	}
	return nil
}

// scrape reads the gateway's /metrics and returns each wanted metric's
// value summed over its label sets. A metric the gateway does not expose
// is absent from the result.
func (t *target) scrape(ctx context.Context, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.addr+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("get /metrics: %w", err)
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get /metrics: status %s", resp.Status)
	}
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	got := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		// Text format: name{labels} value [timestamp].
		end := strings.IndexAny(line, "{ ")
		if end < 0 || !want[line[:end]] {
			continue
		}
		rest, reason := line[end:], ""
		if rest[0] == '{' {
			i := strings.LastIndexByte(rest, '}')
			if i < 0 {
				continue
			}
			if _, r, ok := strings.Cut(rest[:i], `reason="`); ok {
				reason, _, _ = strings.Cut(r, `"`)
			}
			rest = rest[i+1:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("parse /metrics %s: %w", line[:end], err)
		}
		got[line[:end]] += v
		if reason != "" {
			got[line[:end]+"/"+reason] += v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /metrics: %w", err)
	}
	return got, nil
}

// Gateway metrics the bench reads.
const (
	mHeapInuse     = "go_memstats_heap_inuse_bytes"
	mStackInuse    = "go_memstats_stack_inuse_bytes"
	mFramesIn      = "camrelay_frames_received_total"
	mFramesSent    = "camrelay_frames_sent_total"
	mFramesSkipped = "camrelay_frames_skipped_total"
	mHandbacks     = "camrelay_lane_handbacks_total"
)

// goMemory returns go_memstats_heap_inuse_bytes +
// go_memstats_stack_inuse_bytes from the gateway's /metrics.
func (t *target) goMemory(ctx context.Context) (int64, error) {
	m, err := t.scrape(ctx, mHeapInuse, mStackInuse)
	if err != nil {
		return 0, err
	}
	heap, ok1 := m[mHeapInuse]
	stack, ok2 := m[mStackInuse]
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("/metrics lacks %s or %s", mHeapInuse, mStackInuse)
	}
	return int64(heap + stack), nil
}

// frameCounters returns the gateway's frames received, sent to viewers and
// skipped for viewers (newest wins), all cameras and transports together.
func (t *target) frameCounters(ctx context.Context) (frameCounters, error) {
	m, err := t.scrape(ctx, mFramesIn, mFramesSent, mFramesSkipped, mHandbacks)
	fc := frameCounters{in: m[mFramesIn], sent: m[mFramesSent], skipped: m[mFramesSkipped], handbacks: map[string]float64{}}
	for k, v := range m {
		if r, ok := strings.CutPrefix(k, mHandbacks+"/"); ok {
			fc.handbacks[r] = v
		}
	}
	return fc, err
}

// frameCounters are cumulative gateway frame counts, and the viewers handed
// back from the direct lane by reason.
type frameCounters struct {
	in, sent, skipped float64
	handbacks         map[string]float64
}

// viewerCount returns how many viewers of transport the gateway counts.
func (t *target) viewerCount(ctx context.Context, transport string) (int, error) {
	st, err := t.camera(ctx)
	if err != nil {
		return 0, err
	}
	return st.Viewers[transport], nil
}

// waitViewers polls until the gateway counts want viewers of transport or
// the timeout passes; it returns the last count and how long it took.
func (t *target) waitViewers(ctx context.Context, transport string, want int, timeout time.Duration) (int, time.Duration, error) {
	start := time.Now()
	for {
		n, err := t.viewerCount(ctx, transport)
		if err == nil && n == want {
			return n, time.Since(start), nil
		}
		if time.Since(start) > timeout {
			return n, time.Since(start), err
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return n, time.Since(start), err
		}
	}
}

// frameSink is where a pusher delivers frames.
type frameSink interface {
	send(ctx context.Context, jpeg []byte) error
}

// wsSink sends each frame as one binary WebSocket message: the uplink of a
// push camera.
type wsSink struct{ c *websocket.Conn }

func (s *wsSink) send(ctx context.Context, jpeg []byte) error {
	// Not cancelled with ctx: a write cut short tears the uplink down in
	// the middle of a frame; the pusher stops between frames instead.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pushWriteTimeout)
	defer cancel()
	return s.c.Write(ctx, websocket.MessageBinary, jpeg)
}

// pusher is the camera: one frame every 1/pushFPS seconds, paced by a
// ticker (a late tick is dropped, as a camera drops a frame it could not
// send), each stamped with its sequence number and send time.
type pusher struct {
	bases [][]byte
	sink  frameSink
	sent  atomic.Uint64
	// slow counts sends that took longer than slowSend: the server did
	// not take its uplink's bytes in time.
	slow atomic.Uint64
}

// slowSend is half a frame interval: a send that blocks this long means
// the server is reading its uplink late.
const slowSend = time.Second / pushFPS / 2

// run pushes frames until ctx ends. Ending by ctx is not an error.
func (p *pusher) run(ctx context.Context) error {
	tick := time.NewTicker(time.Second / pushFPS)
	defer tick.Stop()
	for seq := uint64(1); ; seq++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		f, err := stampFrame(p.bases[int(seq%uint64(len(p.bases)))], stamp{Seq: seq, Sent: time.Now()})
		if err != nil {
			return err
		}
		start := time.Now()
		if err := p.sink.send(ctx, f); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("send frame %d: %w", seq, err)
		}
		if time.Since(start) > slowSend {
			p.slow.Add(1)
		}
		p.sent.Add(1)
	}
}
