package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// clusterViewers is the cluster case's viewer count: enough that fan-out
// dominates on gateway B, as in the fan-out case it is compared with.
const clusterViewers = 100

// natsConfig is the NATS server of the cluster case: JetStream for the
// camera directory, and room for the gateway's default 4 MiB frames.
const natsConfig = `listen: "%s"
max_payload: 8MB
jetstream { store_dir: "%s" }
`

// clusterResult is the cluster case: the camera pushes to gateway A, n
// WebSocket viewers watch on gateway B, A and B joined over a NATS server.
type clusterResult struct {
	n       int
	err     error
	notes   []string
	ready   int
	window  time.Duration
	pushed  int // frames the pusher sent in the window
	frames  int // frames received by all viewers in the window
	fpsMed  float64
	latP50  time.Duration
	latP99  time.Duration
	cpuA    time.Duration // gateway A (the owner) in the window
	cpuB    time.Duration // gateway B (the viewers') in the window
	cpuNATS time.Duration
}

// perFrameIn is a CPU time per frame pushed, in µs: the cost of moving
// one frame, whatever the number of viewers.
func (r clusterResult) perFrameIn(d time.Duration) float64 {
	if r.pushed == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(r.pushed)
}

func (r clusterResult) summary() string {
	if r.err != nil {
		return "ERROR: " + r.err.Error()
	}
	return fmt.Sprintf("%d viewers on B streaming; fps median %.2f, latency p50 %s p99 %s; CPU per frame in: A %.1f µs, NATS %.1f µs, B %.1f µs",
		r.ready, r.fpsMed, ms(r.latP50), ms(r.latP99), r.perFrameIn(r.cpuA), r.perFrameIn(r.cpuNATS), r.perFrameIn(r.cpuB))
}

// buildNATS builds the NATS server the module requires into dir.
func buildNATS(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("find the module: not inside the camrelay module")
	}
	bin := filepath.Join(dir, "nats-server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build nats-server: %w\n%s", err, out)
	}
	return bin, nil
}

// startNATS runs the NATS server and waits until it accepts connections.
func startNATS(ctx context.Context, bin, dir string) (*child, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	cfg := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, natsConfig, addr, filepath.Join(dir, "jetstream")), 0o600); err != nil {
		return nil, "", fmt.Errorf("write nats config: %w", err)
	}
	proc, err := startChild("nats-server", bin, []string{"-c", cfg}, nil)
	if err != nil {
		return nil, "", err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return proc, addr, nil
		}
		if proc.exited() || time.Now().After(deadline) {
			proc.stop()
			lines, _ := proc.log.tail(5)
			return nil, "", fmt.Errorf("nats-server not listening on %s within %s: %s", addr, startTimeout, strings.Join(lines, " | "))
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			proc.stop()
			return nil, "", err
		}
	}
}

// cluster measures the cross-gateway hop: n WebSocket viewers on gateway B
// of a camera that pushes to gateway A.
func (b *bench) cluster(ctx context.Context, n int) (res clusterResult) {
	res.n = n
	fail := func(err error) clusterResult {
		res.err = err
		return res
	}
	if b.natsBin == "" {
		b.logf("building nats-server ...")
		var err error
		if b.natsBin, err = buildNATS(ctx, b.dir); err != nil {
			return fail(err)
		}
	}
	dir, err := os.MkdirTemp(b.dir, "cluster-")
	if err != nil {
		return fail(err)
	}
	nats, natsAddr, err := startNATS(ctx, b.natsBin, dir)
	if err != nil {
		return fail(err)
	}
	defer nats.stop()
	join := func(name string) string {
		return fmt.Sprintf("cluster:\n  nats_url: nats://%s\n  name: %s\n", natsAddr, name)
	}
	a, err := startGatewayWith(ctx, b.bin, dir, b.bases, join("a"), true)
	if err != nil {
		return fail(fmt.Errorf("gateway A: %w", err))
	}
	defer func() { res.notes = append(res.notes, a.stop()...) }()
	gb, err := startGatewayWith(ctx, b.bin, dir, b.bases, join("b"), false)
	if err != nil {
		return fail(fmt.Errorf("gateway B: %w", err))
	}
	defer func() { res.notes = append(res.notes, gb.stop()...) }()

	specs := make([]viewerSpec, n)
	for i := range specs {
		specs[i] = viewerSpec{addr: gb.addr, path: gb.paths[transportWS], transport: transportWS}
	}
	vs := attach(ctx, specs)
	defer vs.close()
	if res.ready = vs.waitReady(ctx, readyTimeout); res.ready < n {
		res.notes = append(res.notes, fmt.Sprintf("only %d of %d viewers on B received a frame within %s", res.ready, n, readyTimeout))
	}

	w := window{start: time.Now().Add(b.opts.warmup)}
	w.end = w.start.Add(b.opts.duration)
	vs.setWindow(w)
	type reading struct {
		at         time.Time
		a, b, nats time.Duration
		pushed     uint64
	}
	read := func() (r reading, err error) {
		r.at, r.pushed = time.Now(), a.push.sent.Load()
		if r.a, err = procCPU(a.proc.pid()); err != nil {
			return r, err
		}
		if r.b, err = procCPU(gb.proc.pid()); err != nil {
			return r, err
		}
		r.nats, err = procCPU(nats.pid())
		return r, err
	}
	if err := sleepUntil(ctx, w.start); err != nil {
		return fail(err)
	}
	r0, err := read()
	if err != nil {
		return fail(err)
	}
	if err := sleepUntil(ctx, w.end); err != nil {
		return fail(err)
	}
	r1, err := read()
	if err != nil {
		return fail(err)
	}
	for _, t := range []*target{a, gb} {
		if err := t.alive(); err != nil {
			return fail(err)
		}
	}
	vs.close()
	res.window = r1.at.Sub(r0.at)
	res.pushed = int(r1.pushed - r0.pushed)
	res.cpuA, res.cpuB, res.cpuNATS = r1.a-r0.a, r1.b-r0.b, r1.nats-r0.nats
	var fps []float64
	var lat []time.Duration
	for _, r := range vs.recs {
		s := r.snapshot()
		fps = append(fps, float64(s.frames)/w.end.Sub(w.start).Seconds())
		lat = append(lat, s.lat...)
		res.frames += s.frames
	}
	slices.Sort(fps)
	slices.Sort(lat)
	res.fpsMed = fps[len(fps)/2]
	res.latP50, res.latP99 = percentile(lat, 0.50), percentile(lat, 0.99)
	return res
}

// clusterSection compares the cluster case with the single gateway at the
// same viewer count.
func (rep *report) clusterSection(p printer) {
	if rep.cluster == nil {
		return
	}
	r := *rep.cluster
	p("## Cluster: one hop over NATS")
	p("")
	p("The camera pushes to gateway A; %d WebSocket viewers watch on gateway B; A and B are joined over a NATS server (all three on this machine, loopback). Compared with the same viewers on the single gateway of the fan-out case.", r.n)
	p("")
	if r.err != nil {
		p("ERROR: %s", mdEscape(r.err.Error()))
		p("")
		return
	}
	p("| setup | fps median | latency p50 | latency p99 | CPU per frame in |")
	p("| --- | ---: | ---: | ---: | ---: |")
	total := r.cpuA + r.cpuB + r.cpuNATS
	p("| A → NATS → B | %.2f | %s | %s | %.1f µs (A %.1f, NATS %.1f, B %.1f) |", r.fpsMed, ms(r.latP50), ms(r.latP99),
		r.perFrameIn(total), r.perFrameIn(r.cpuA), r.perFrameIn(r.cpuNATS), r.perFrameIn(r.cpuB))
	if s, ok := rep.find(kindGateway, transportWS, r.n); ok && s.err == nil && s.gwIn > 0 {
		single := float64(s.cpu.Microseconds()) / s.gwIn
		p("| single gateway | %.2f | %s | %s | %.1f µs |", s.fpsMedian, ms(s.latP50), ms(s.latP99), single)
		p("")
		p("The hop adds %s at the median and %.1f µs of CPU per frame (A publishing, NATS relaying, B receiving), whatever the number of viewers on B.",
			ms(r.latP50-s.latP50), r.perFrameIn(total)-single)
	}
	p("")
}
