package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// settleTime lets a fresh server take a few frames before its idle
	// memory is read.
	settleTime = time.Second
	// readyTimeout bounds the wait for every viewer's first frame.
	readyTimeout = 30 * time.Second
	// countTimeout bounds the wait for the gateway's viewer count to
	// reach the number of viewers attached.
	countTimeout = 5 * time.Second
	// drainTimeout bounds the wait for the gateway's viewer count to go
	// back to 0 after the viewers closed.
	drainTimeout = 10 * time.Second
	// firstFrameTimeout bounds one time-to-first-frame sample.
	firstFrameTimeout = 5 * time.Second
)

// Kinds of target.
const (
	kindGateway = "gateway"
	kindCeiling = "ceiling"
)

// bench holds what every case needs.
type bench struct {
	opts     options
	bin      string   // the gateway binary
	natsBin  string   // the NATS server, built for the cluster case
	dir      string   // scratch directory
	bases    [][]byte // unstamped JPEGs
	progress io.Writer
}

// runBench runs every case and returns the report. A case that fails is
// recorded in the report and the run goes on; the error is for what stops
// the whole run (no gateway binary, an interrupt). Every child process is
// stopped before it returns.
func runBench(ctx context.Context, opts options, progress io.Writer) (*report, error) {
	start := time.Now()
	rep := &report{opts: opts, started: start, machine: readMachine()}
	defer func() { rep.elapsed = time.Since(start) }()
	dir, err := os.MkdirTemp("", "camrelay-bench-")
	if err != nil {
		return nil, fmt.Errorf("make scratch dir: %w", err)
	}
	defer os.RemoveAll(dir)

	b := &bench{opts: opts, dir: dir, progress: progress, bin: opts.gateway}
	if b.bin == "" {
		b.logf("building ./cmd/camrelay ...")
		if b.bin, err = buildGateway(ctx, dir); err != nil {
			return nil, err
		}
	}
	rep.gatewayBin = opts.gateway
	if rep.gatewayBin == "" {
		rep.gatewayBin = "built from ./cmd/camrelay"
	}
	rep.gatewayVersion = gatewayVersion(ctx, b.bin)
	b.logf("encoding frames ...")
	if b.bases, rep.quality, err = makeBaseFrames(frameVariants); err != nil {
		return nil, err
	}
	for _, f := range b.bases {
		rep.frameBytes += len(f) + stampLen
	}
	rep.frameBytes /= len(b.bases)

	kinds := []string{kindGateway}
	if !opts.skipCeiling {
		kinds = append(kinds, kindCeiling)
	}
	var retried time.Duration // re-measuring so far, against retryBudget
	for _, tr := range opts.transports {
		for _, n := range opts.ns {
			pair, err := b.fanoutCase(ctx, kinds, tr, n, &retried)
			rep.fanout = append(rep.fanout, pair...)
			if err != nil {
				return rep, err
			}
		}
	}
	if opts.cluster {
		b.logf("cluster: %d viewers on gateway B of a camera on gateway A (%s) ...", clusterViewers, opts.duration)
		res := b.cluster(ctx, clusterViewers)
		rep.cluster = &res
		b.logf("  %s", res.summary())
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	b.logf("time to first frame ...")
	rep.firstFrame = b.firstFrame(ctx)
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	for _, kind := range kinds {
		b.logf("slow viewers against the %s (%s) ...", kind, opts.slowDuration)
		res := b.slow(ctx, kind)
		rep.slow = append(rep.slow, res)
		b.logf("  %s", res.summary())
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	return rep, nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.progress, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// Re-measuring a disturbed fan-out pair.
const (
	// disturbedLoad is the CPU, in cores, that other processes may take
	// during a pair before it is measured again.
	disturbedLoad = 0.5
	// retryBudget caps the time spent re-measuring in one run.
	retryBudget = 90 * time.Second
)

// fanoutCase measures one fan-out case against each kind. The machine may
// be shared: when other processes took a good part of it during the pair,
// it measures the pair again (while *retried, the time spent so, is within
// retryBudget, so that a run stays within minutes) and keeps the quieter
// of the two. The error is ctx's, when the run is interrupted.
func (b *bench) fanoutCase(ctx context.Context, kinds []string, tr string, n int, retried *time.Duration) ([]fanoutResult, error) {
	if n > 1 && b.opts.repeat > 1 && len(kinds) == 2 {
		return b.repeatedCase(ctx, kinds, tr, n)
	}
	pair, err := b.fanoutPair(ctx, kinds, tr, n)
	ncpu := runtime.NumCPU()
	load := disturbance(pair, ncpu)
	if err != nil || load <= disturbedLoad || *retried >= retryBudget {
		return pair, err
	}
	b.logf("  other processes used %.2f cores: measuring the pair again", load)
	start := time.Now()
	again, err := b.fanoutPair(ctx, kinds, tr, n)
	*retried += time.Since(start)
	if err != nil {
		return pair, err
	}
	kept, other := again, pair
	if disturbance(again, ncpu) > load {
		kept, other = pair, again
	}
	kept[0].notes = append(kept[0].notes, fmt.Sprintf(
		"measured twice because other processes used %.2f cores; kept the run with %.2f cores of other load (the other: %s)",
		load, disturbance(kept, ncpu), other[0].summary()))
	return kept, nil
}

// repeatedCase measures a fan-out case's pair opts.repeat times and keeps
// the pair whose ratio (gateway ÷ ceiling CPU per delivered frame) is the
// median, noting every ratio: on a shared machine one pair says little,
// and one neighbour's burst in one server's window must not decide it.
func (b *bench) repeatedCase(ctx context.Context, kinds []string, tr string, n int) ([]fanoutResult, error) {
	type measured struct {
		pair  []fanoutResult
		ratio float64
	}
	var all []measured
	for i := range b.opts.repeat {
		b.logf("pair %d of %d", i+1, b.opts.repeat)
		pair, err := b.fanoutPair(ctx, kinds, tr, n)
		if err != nil {
			return pair, err
		}
		if pair[0].err != nil || pair[1].err != nil || pair[1].cpuPerFrame() == 0 {
			return pair, nil // a failed case is reported as it is
		}
		all = append(all, measured{pair, pair[0].cpuPerFrame() / pair[1].cpuPerFrame()})
	}
	slices.SortFunc(all, func(a, b measured) int { return cmp.Compare(a.ratio, b.ratio) })
	ratios := make([]string, len(all))
	for i, m := range all {
		ratios[i] = fmt.Sprintf("%.2f×", m.ratio)
	}
	kept := all[len(all)/2].pair
	kept[0].notes = append(kept[0].notes, fmt.Sprintf(
		"measured %d times, gateway ÷ ceiling CPU per frame %s; this is the median pair", len(all), strings.Join(ratios, ", ")))
	return kept, nil
}

// fanoutPair measures one fan-out case against each kind: in turn for
// large cases, side by side for small ones. The error is ctx's, when the
// run is interrupted.
func (b *bench) fanoutPair(ctx context.Context, kinds []string, tr string, n int) ([]fanoutResult, error) {
	if len(kinds) == 2 && n > 1 && n <= sideBySideUpTo {
		return b.fanoutSideBySide(ctx, kinds, tr, n)
	}
	var pair []fanoutResult
	for _, kind := range kinds {
		b.logf("fan-out %s N=%d against the %s ...", tr, n, kind)
		res := b.fanout(ctx, kind, tr, n, nil)
		pair = append(pair, res)
		b.logf("  %s", res.summary())
		if ctx.Err() != nil {
			return pair, ctx.Err()
		}
	}
	return pair, nil
}

// fanoutSideBySide measures a small case against both kinds at once, over
// the same window. Such a case uses a few hundredths of a core, so a
// neighbour's burst during one server's window and not the other's would
// decide their ratio; side by side, both servers meet the same machine.
// Large cases are measured in turn: two thousand viewers at once would
// make the servers compete for the bench's cores instead.
func (b *bench) fanoutSideBySide(ctx context.Context, kinds []string, tr string, n int) ([]fanoutResult, error) {
	b.logf("fan-out %s N=%d against the %s, side by side ...", tr, n, strings.Join(kinds, " and the "))
	pair := make([]fanoutResult, len(kinds))
	meet := newRendezvous(len(kinds))
	var wg sync.WaitGroup
	for i, kind := range kinds {
		wg.Go(func() { pair[i] = b.fanout(ctx, kind, tr, n, meet) })
	}
	wg.Wait()
	for i := range pair {
		pair[i].beside = pair[1-i].cpu
		b.logf("  %s: %s", pair[i].kind, pair[i].summary())
	}
	return pair, ctx.Err()
}

// A rendezvous lines up the measurement windows of the targets of a pair
// measured side by side: the window starts when the last of them is ready.
type rendezvous struct {
	mu     sync.Mutex
	absent int       // parties yet to arrive
	start  time.Time // the latest start asked for so far
	all    chan struct{}
}

func newRendezvous(parties int) *rendezvous {
	return &rendezvous{absent: parties, all: make(chan struct{})}
}

// meet offers a window start and waits for the other parties; it returns
// the latest start offered. A party that failed before it could offer one
// arrives with the zero time, so that the others do not wait for it. A nil
// rendezvous returns start: a target measured alone.
func (r *rendezvous) meet(ctx context.Context, start time.Time) (time.Time, error) {
	if r == nil {
		return start, nil
	}
	r.mu.Lock()
	if start.After(r.start) {
		r.start = start
	}
	r.absent--
	if r.absent == 0 {
		close(r.all)
	}
	r.mu.Unlock()
	select {
	case <-r.all:
	case <-ctx.Done():
		return start, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.start, nil
}

// disturbance is the most CPU, in cores, that other processes took during
// any window of the pair.
func disturbance(pair []fanoutResult, ncpu int) float64 {
	worst := 0.0
	for _, r := range pair {
		if r.err == nil {
			worst = max(worst, r.otherLoad(ncpu))
		}
	}
	return worst
}

// start starts a fresh target of kind with its pusher streaming.
func (b *bench) start(ctx context.Context, kind string) (*target, error) {
	if kind == kindCeiling {
		return startCeiling(ctx, b.bases)
	}
	return startGateway(ctx, b.bin, b.dir, b.bases)
}

// sample is a reading of the CPU counters at one instant.
type sample struct {
	at         time.Time
	cpu        time.Duration // the target process
	self       time.Duration // the bench process: viewers and pusher
	machine    cpuTimes      // all CPUs
	pushed     uint64
	slowPushes uint64
}

func (b *bench) sample(t *target) (sample, error) {
	s := sample{at: time.Now(), pushed: t.push.sent.Load(), slowPushes: t.push.slow.Load()}
	var err error
	if s.cpu, err = procCPU(t.proc.pid()); err != nil {
		return s, err
	}
	if s.self, err = procCPU(os.Getpid()); err != nil {
		return s, err
	}
	s.machine, err = machineCPU()
	return s, err
}

// memory reads the gateway's RSS and Go heap+stacks; the ceiling has no
// /metrics, so only its RSS.
func (b *bench) memory(ctx context.Context, t *target) (rss, goMem int64, err error) {
	if rss, err = procRSS(t.proc.pid()); err != nil {
		return 0, 0, err
	}
	if t.kind == kindGateway {
		goMem, err = t.goMemory(ctx)
	}
	return rss, goMem, err
}

// fanout runs one fan-out case: n viewers of transport on a fresh target
// of kind. Each case gets a fresh process, so that memory the runtime kept
// from a bigger earlier case does not hide this case's cost. A target
// measured side by side with another meets it, through meet, to share its
// window; meet is nil for a target measured alone.
func (b *bench) fanout(ctx context.Context, kind, transport string, n int, meet *rendezvous) (res fanoutResult) {
	res = fanoutResult{kind: kind, transport: transport, n: n, viewersSeen: -1}
	met := false
	defer func() {
		if !met {
			_, _ = meet.meet(ctx, time.Time{}) // failed early: do not hold up the other
		}
	}()
	fail := func(err error) fanoutResult {
		res.err = err
		return res
	}
	t, err := b.start(ctx, kind)
	if err != nil {
		return fail(err)
	}
	defer func() { res.notes = append(res.notes, t.stop()...) }()
	if err := sleepCtx(ctx, settleTime); err != nil {
		return fail(err)
	}
	if res.rssBase, res.goMemBase, err = b.memory(ctx, t); err != nil {
		return fail(fmt.Errorf("idle memory: %w", err))
	}

	specs := make([]viewerSpec, n)
	for i := range specs {
		specs[i] = viewerSpec{addr: t.addr, path: t.paths[transport], transport: transport}
	}
	attachStart := time.Now()
	vs := attach(ctx, specs)
	defer vs.close()
	if res.ready = vs.waitReady(ctx, readyTimeout); res.ready < n {
		res.notes = append(res.notes, fmt.Sprintf("only %d of %d viewers received a frame within %s", res.ready, n, readyTimeout))
	}
	res.attachTime = time.Since(attachStart)
	if kind == kindGateway {
		seen, _, err := t.waitViewers(ctx, transport, n, countTimeout)
		res.viewersSeen = seen
		if err != nil {
			res.notes = append(res.notes, fmt.Sprintf("viewer count: %v", err))
		}
	}

	var w window
	met = true
	if w.start, err = meet.meet(ctx, time.Now().Add(b.opts.warmup)); err != nil {
		return fail(err)
	}
	w.end = w.start.Add(b.opts.duration)
	vs.setWindow(w)
	// The gateway's counters are read just outside the CPU window, so
	// that serving /metrics is not billed to the frames.
	var fc0, fc1 frameCounters
	if err := sleepUntil(ctx, w.start.Add(-20*time.Millisecond)); err != nil {
		return fail(err)
	}
	if kind == kindGateway {
		if fc0, err = t.frameCounters(ctx); err != nil {
			res.notes = append(res.notes, fmt.Sprintf("frame counters: %v", err))
		}
	}
	if err := sleepUntil(ctx, w.start); err != nil {
		return fail(err)
	}
	s0, err := b.sample(t)
	if err != nil {
		return fail(err)
	}
	if err := sleepUntil(ctx, w.end); err != nil {
		return fail(err)
	}
	s1, err := b.sample(t)
	if err != nil {
		return fail(err)
	}
	if kind == kindGateway {
		if fc1, err = t.frameCounters(ctx); err != nil {
			res.notes = append(res.notes, fmt.Sprintf("frame counters: %v", err))
		}
		res.gwIn, res.gwSent, res.gwSkipped = fc1.in-fc0.in, fc1.sent-fc0.sent, fc1.skipped-fc0.skipped
		var hb []string
		for _, r := range slices.Sorted(maps.Keys(fc1.handbacks)) {
			if d := fc1.handbacks[r] - fc0.handbacks[r]; d > 0 {
				hb = append(hb, fmt.Sprintf("%s %.0f", r, d))
			}
		}
		if len(hb) > 0 {
			res.notes = append(res.notes, "viewers handed back from the direct lane to their own goroutines in the window (camrelay_lane_handbacks_total): "+strings.Join(hb, ", "))
		}
	}
	if res.rssN, res.goMemN, err = b.memory(ctx, t); err != nil {
		return fail(fmt.Errorf("memory with %d viewers: %w", n, err))
	}
	if err := t.alive(); err != nil {
		return fail(err)
	}
	vs.close()

	secs := s1.at.Sub(s0.at).Seconds()
	res.window = s1.at.Sub(s0.at)
	res.sourceFPS = float64(s1.pushed-s0.pushed) / secs
	res.slowPushes = int(s1.slowPushes - s0.slowPushes)
	res.cpu = s1.cpu - s0.cpu
	res.benchCPU = s1.self - s0.self
	if total := float64(s1.machine.total - s0.machine.total); total > 0 {
		res.machineBusy = float64(s1.machine.busy()-s0.machine.busy()) / total
		res.machineTask = float64(s1.machine.task-s0.machine.task) / total
		res.machineIRQ = float64(s1.machine.irq-s0.machine.irq) / total
	}
	var fps []float64
	var lat []time.Duration
	for _, r := range vs.recs {
		s := r.snapshot()
		fps = append(fps, float64(s.frames)/w.end.Sub(w.start).Seconds())
		lat = append(lat, s.lat...)
		res.delivered += s.frames
		res.bad += s.bad
		res.reordered += s.reordered
		if s.err != nil {
			res.failed++
			if res.firstErr == nil {
				res.firstErr = s.err
			}
		}
	}
	slices.Sort(fps)
	slices.Sort(lat)
	res.fpsMin, res.fpsMedian = fps[0], fps[len(fps)/2]
	res.latP50, res.latP99 = percentile(lat, 0.50), percentile(lat, 0.99)

	if kind == kindGateway {
		left, took, err := t.waitViewers(ctx, transport, 0, drainTimeout)
		res.drain, res.drained = took, err == nil && left == 0
		if !res.drained {
			res.notes = append(res.notes, fmt.Sprintf("gateway still counted %d %s viewers %s after all closed (%v)", left, transport, drainTimeout, err))
		}
	}
	return res
}

// firstFrame measures the time from dialing to the first complete JPEG for
// firstFrameViewers new viewers per transport, connected one after another
// at random points of the frame interval while the camera streams. The
// ceiling, measured the same way, is the reference for the part of that
// time that is only accepting a connection and answering its request.
func (b *bench) firstFrame(ctx context.Context) []firstFrameResult {
	var out []firstFrameResult
	t, err := b.start(ctx, kindGateway)
	if err != nil {
		for _, tr := range b.opts.transports {
			out = append(out, firstFrameResult{transport: tr, err: err})
		}
		return out
	}
	var notes []string
	defer func() {
		notes = append(notes, t.stop()...)
		if len(out) > 0 {
			out[len(out)-1].notes = append(out[len(out)-1].notes, notes...)
		}
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tr := range b.opts.transports {
		res := sampleFirstFrames(ctx, t, tr, rng)
		if left, _, err := t.waitViewers(ctx, tr, 0, drainTimeout); err != nil || left != 0 {
			res.notes = append(res.notes, fmt.Sprintf("gateway still counted %d %s viewers %s after all closed (%v)", left, tr, drainTimeout, err))
		}
		out = append(out, res)
		b.logf("  %s", res.summary())
	}
	if b.opts.skipCeiling || ctx.Err() != nil {
		return out
	}
	c, err := b.start(ctx, kindCeiling)
	if err != nil {
		notes = append(notes, fmt.Sprintf("ceiling for the first-frame reference: %v", err))
		return out
	}
	defer func() { notes = append(notes, c.stop()...) }()
	for i, tr := range b.opts.transports {
		ref := sampleFirstFrames(ctx, c, tr, rng)
		out[i].ceilingResponses = ref.responses
		b.logf("  ceiling %s: response median %s max %s", tr, ms(percentile(ref.responses, 0.5)), ms(percentile(ref.responses, 1)))
	}
	return out
}

// sampleFirstFrames connects firstFrameViewers viewers of transport to t,
// one after another, and times each one's first frame.
func sampleFirstFrames(ctx context.Context, t *target, tr string, rng *rand.Rand) firstFrameResult {
	res := firstFrameResult{transport: tr}
	var sets []*viewerSet
	defer func() {
		for _, vs := range sets {
			vs.close()
		}
	}()
	for range firstFrameViewers {
		// Land anywhere in the 50 ms between two frames.
		if err := sleepCtx(ctx, time.Duration(rng.IntN(int(time.Second/pushFPS)))); err != nil {
			break
		}
		vs := attach(ctx, []viewerSpec{{addr: t.addr, path: t.paths[tr], transport: tr}})
		sets = append(sets, vs)
		if vs.waitReady(ctx, firstFrameTimeout) == 0 {
			res.missed++
			if s := vs.recs[0].snapshot(); s.err != nil && res.err == nil {
				res.err = s.err
			}
			continue
		}
		s := vs.recs[0].snapshot()
		took := s.first.Sub(s.dialStart)
		if len(res.samples) == 0 || took > slices.Max(res.samples) {
			sl := &res.slowest
			sl.dial, sl.response, sl.frame = s.connected.Sub(s.dialStart), s.answered.Sub(s.connected), s.first.Sub(s.answered)
			sl.age = s.firstAge
		}
		res.samples = append(res.samples, took)
		res.responses = append(res.responses, s.answered.Sub(s.connected))
	}
	slices.Sort(res.samples)
	slices.Sort(res.responses)
	return res
}

// slow runs the slow-viewer case on a fresh target of kind:
// slowViewersTotal WebSocket viewers of which slowViewersSlow sleep
// slowPause after each frame, the rest read at full speed.
func (b *bench) slow(ctx context.Context, kind string) (res slowResult) {
	res = slowResult{kind: kind}
	fail := func(err error) slowResult {
		res.err = err
		return res
	}
	t, err := b.start(ctx, kind)
	if err != nil {
		return fail(err)
	}
	defer func() { res.notes = append(res.notes, t.stop()...) }()

	specs := make([]viewerSpec, slowViewersTotal)
	for i := range specs {
		specs[i] = viewerSpec{addr: t.addr, path: t.paths[transportWS], transport: transportWS}
		if i < slowViewersSlow {
			specs[i].pause = slowPause
		}
	}
	vs := attach(ctx, specs)
	defer vs.close()
	if ready := vs.waitReady(ctx, readyTimeout); ready < len(specs) {
		res.notes = append(res.notes, fmt.Sprintf("only %d of %d viewers received a frame within %s", ready, len(specs), readyTimeout))
	}
	w := window{start: time.Now().Add(b.opts.warmup)}
	w.end = w.start.Add(b.opts.slowDuration)
	vs.setWindow(w)
	if err := sleepUntil(ctx, w.end); err != nil {
		return fail(err)
	}
	if err := t.alive(); err != nil {
		return fail(err)
	}
	vs.close()

	var ages, fastLat []time.Duration
	var fastFPS []float64
	for i, r := range vs.recs {
		s := r.snapshot()
		if s.err != nil {
			if i < slowViewersSlow {
				res.slowDropped++
			} else {
				res.fastDropped++
			}
			if res.firstErr == nil {
				res.firstErr = s.err
			}
		}
		res.bad += s.bad
		res.reordered += s.reordered
		if i < slowViewersSlow {
			ages = append(ages, s.lat...)
			continue
		}
		fastFPS = append(fastFPS, float64(s.frames)/w.end.Sub(w.start).Seconds())
		fastLat = append(fastLat, s.lat...)
	}
	slices.Sort(ages)
	slices.Sort(fastLat)
	slices.Sort(fastFPS)
	res.slowFrames = len(ages)
	res.ageMedian, res.ageWorst = percentile(ages, 0.5), percentile(ages, 1)
	res.fastFPSMin, res.fastFPSMedian = fastFPS[0], fastFPS[len(fastFPS)/2]
	res.fastP99 = percentile(fastLat, 0.99)
	return res
}

// percentile returns the nearest-rank q-quantile of sorted d; 0 for none.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(d)))) - 1
	return d[min(max(i, 0), len(d)-1)]
}
