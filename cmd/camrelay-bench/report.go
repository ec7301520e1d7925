package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// The targets the report checks.
const (
	// targetCPURatio is the most CPU per delivered frame the gateway may
	// spend, relative to the ceiling.
	targetCPURatio = 1.25
	// cpuRatioMinN is the smallest case the CPU target applies to: with
	// one viewer the cost of taking the frame in dominates the cost of
	// fanning it out, and that is not what the ratio is about.
	cpuRatioMinN = 100
	// targetFPS is the least every viewer must receive, of pushFPS sent.
	targetFPS = 19.5
	// targetMemPerViewer is the most memory one viewer may cost.
	targetMemPerViewer = 32 << 10
	// memMinN is the smallest case the memory target is judged on: below
	// it, the runtime's own growth outweighs the viewers'.
	memMinN = 100
	// targetFirstFrame is the longest a new viewer may wait for a frame.
	targetFirstFrame = 5 * time.Millisecond
	// targetSlowMedian and targetSlowWorst bound the age of the frames a
	// slow viewer reads.
	targetSlowMedian = 3 * time.Second
	targetSlowWorst  = 5 * time.Second
	// saturatedBusy is the machine CPU use above which a case's figures
	// are bounded by the machine rather than by the server.
	saturatedBusy = 0.95
	// otherLoadNote is the CPU, in cores, that processes other than the
	// server and the bench may use in a window before the report says so.
	otherLoadNote = 0.25
	// slowDrain is how long the gateway may take to notice that every
	// viewer closed before the report says so.
	slowDrain = time.Second
)

// report is everything one run measured.
type report struct {
	opts           options
	started        time.Time
	elapsed        time.Duration
	machine        machineInfo
	gatewayBin     string // the -gateway path, or how it was built
	gatewayVersion string
	frameBytes     int // average stamped frame size
	quality        int // JPEG quality the frames were encoded at

	fanout     []fanoutResult
	firstFrame []firstFrameResult
	slow       []slowResult
	cluster    *clusterResult // nil unless -cluster
}

// fanoutResult is one fan-out case: n viewers of one transport on one
// target.
type fanoutResult struct {
	kind, transport string
	n               int
	err             error // the case could not be measured

	ready       int           // viewers that received a frame
	attachTime  time.Duration // from the first dial until every viewer had a frame
	viewersSeen int           // the gateway's own count with n attached; -1 for the ceiling
	window      time.Duration
	sourceFPS   float64 // frames the pusher sent per second during the window
	slowPushes  int     // pusher sends in the window that blocked over slowSend
	fpsMin      float64
	fpsMedian   float64
	latP50      time.Duration
	latP99      time.Duration
	delivered   int           // frames received by all viewers in the window
	cpu         time.Duration // the target's CPU time in the window
	benchCPU    time.Duration // the bench's (viewers', pusher's) CPU time
	// beside is the CPU time, in the same window, of the other server of
	// a pair measured side by side (zero when measured alone); benchCPU
	// then covers both servers' viewers and pushers.
	beside      time.Duration
	machineBusy float64 // all CPUs, 0 to 1
	machineTask float64 // the part charged to processes, 0 to 1
	machineIRQ  float64 // the part spent in interrupts, 0 to 1
	rssBase     int64
	rssN        int64
	goMemBase   int64   // gateway heap in use + stacks, idle
	goMemN      int64   // the same with n viewers
	gwIn        float64 // frames the gateway received in the window (its counter)
	gwSent      float64 // frames the gateway wrote to viewers in the window
	gwSkipped   float64 // frames the gateway skipped for busy viewers in the window
	drain       time.Duration
	drained     bool
	bad         int // messages that were not stamped JPEGs
	reordered   int // frames whose sequence number did not increase
	failed      int // viewers whose stream ended with an error
	firstErr    error
	notes       []string
}

// cpuPerFrame is the target's CPU time per delivered frame in µs.
func (r fanoutResult) cpuPerFrame() float64 {
	if r.delivered == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(r.delivered)
}

// otherLoad is the CPU, in cores, charged in the window to processes other
// than the server and the bench: other work on the machine.
func (r fanoutResult) otherLoad(ncpu int) float64 {
	return r.machineTask*float64(ncpu) - cores(r.cpu, r.window) - cores(r.beside, r.window) - cores(r.benchCPU, r.window)
}

// memPerViewer is the RSS growth per viewer in bytes.
func (r fanoutResult) memPerViewer() float64 { return float64(r.rssN-r.rssBase) / float64(r.n) }

// goMemPerViewer is the Go heap+stacks growth per viewer in bytes.
func (r fanoutResult) goMemPerViewer() float64 { return float64(r.goMemN-r.goMemBase) / float64(r.n) }

func (r fanoutResult) summary() string {
	if r.err != nil {
		return "ERROR: " + r.err.Error()
	}
	return fmt.Sprintf("%d viewers streaming after %s; fps min %.2f median %.2f, latency p50 %s p99 %s, CPU %.1f µs/frame (%.2f cores), bench %.2f cores, machine %.0f%%",
		r.ready, r.attachTime.Round(time.Millisecond), r.fpsMin, r.fpsMedian, ms(r.latP50), ms(r.latP99), r.cpuPerFrame(),
		cores(r.cpu, r.window), cores(r.benchCPU, r.window), 100*r.machineBusy)
}

// firstFrameResult is the time-to-first-frame case of one transport.
type firstFrameResult struct {
	transport string
	samples   []time.Duration // sorted
	// slowest is the slowest sample in its phases: dialing (the TCP
	// handshake), the server's response to the request, and the first
	// frame after it; and the age of that frame when it arrived.
	slowest struct{ dial, response, frame, age time.Duration }
	// responses are the response phases of every sample, sorted; and
	// those of as many viewers of the ceiling (empty if not measured).
	responses, ceilingResponses []time.Duration
	missed                      int // viewers that got no frame in firstFrameTimeout
	err                         error
	notes                       []string
}

func (r firstFrameResult) summary() string {
	if len(r.samples) == 0 {
		return fmt.Sprintf("first frame %s: no samples (%v)", r.transport, r.err)
	}
	sl := r.slowest
	return fmt.Sprintf("first frame %s: median %s max %s (dial %s, response %s, frame %s, frame age %s), %d missed", r.transport,
		ms(percentile(r.samples, 0.5)), ms(r.samples[len(r.samples)-1]), ms(sl.dial), ms(sl.response), ms(sl.frame), ms(sl.age), r.missed)
}

// slowResult is the slow-viewer case on one target.
type slowResult struct {
	kind          string
	err           error
	slowFrames    int // frames the slow viewers read in the window
	ageMedian     time.Duration
	ageWorst      time.Duration
	fastFPSMin    float64
	fastFPSMedian float64
	fastP99       time.Duration
	slowDropped   int // slow viewers whose stream ended with an error
	fastDropped   int
	bad           int
	reordered     int
	firstErr      error
	notes         []string
}

// slowOK reports whether the slow viewers met their targets: fresh enough
// frames, and still connected.
func (r slowResult) slowOK() bool {
	return r.err == nil && r.slowFrames > 0 && r.slowDropped == 0 &&
		r.ageMedian <= targetSlowMedian && r.ageWorst <= targetSlowWorst
}

func (r slowResult) summary() string {
	if r.err != nil {
		return "ERROR: " + r.err.Error()
	}
	return fmt.Sprintf("slow viewers' frame age median %s worst %s; fast fps min %.2f median %.2f p99 %s",
		secs(r.ageMedian), secs(r.ageWorst), r.fastFPSMin, r.fastFPSMedian, ms(r.fastP99))
}

// machineInfo describes where the run happened.
type machineInfo struct {
	cpu     string
	cores   int
	kernel  string
	goVer   string
	memory  string
	nofile  uint64
	hostOS  string
	hostArc string
}

func readMachine() machineInfo {
	m := machineInfo{cpu: "unknown", kernel: "unknown", memory: "unknown", cores: runtime.NumCPU(),
		goVer: runtime.Version(), hostOS: runtime.GOOS, hostArc: runtime.GOARCH}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == "MemTotal" {
				var kb int64
				if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err == nil {
					m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				}
				break
			}
		}
		f.Close()
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		m.nofile = rl.Cur
	}
	return m
}

// verdict renders a check.
func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "**FAIL**"
}

func ms(d time.Duration) string   { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
func kib(b float64) string        { return fmt.Sprintf("%.1f KiB", b/1024) }
func mib(b int64) string          { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// cores is CPU time over a window in cores (1.00 = one core busy).
func cores(cpu, window time.Duration) float64 {
	if window <= 0 {
		return 0
	}
	return cpu.Seconds() / window.Seconds()
}

// find returns the fan-out result of kind, transport and n.
func (rep *report) find(kind, transport string, n int) (fanoutResult, bool) {
	for _, r := range rep.fanout {
		if r.kind == kind && r.transport == transport && r.n == n {
			return r, true
		}
	}
	return fanoutResult{}, false
}

// ratio returns gateway/ceiling CPU per delivered frame for transport and
// n, and whether both were measured.
func (rep *report) ratio(transport string, n int) (float64, bool) {
	g, ok1 := rep.find(kindGateway, transport, n)
	c, ok2 := rep.find(kindCeiling, transport, n)
	if !ok1 || !ok2 || g.err != nil || c.err != nil || c.cpuPerFrame() == 0 || g.delivered == 0 {
		return 0, false
	}
	return g.cpuPerFrame() / c.cpuPerFrame(), true
}

// markdown renders the report.
func (rep *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	o := rep.opts

	p("# camrelay benchmark")
	p("")
	p("Run %s, took %s. Flags: `-n %s -duration %s -slow-duration %s -transports %s -repeat %d%s%s`.",
		rep.started.UTC().Format("2006-01-02 15:04 UTC"), rep.elapsed.Round(time.Second), joinInts(o.ns), o.duration, o.slowDuration,
		strings.Join(o.transports, ","), o.repeat, flagIf(o.skipCeiling, " -skip-ceiling"), flagIf(o.quick, " -quick"))
	p("")
	p("## Machine")
	p("")
	p("| | |")
	p("| --- | --- |")
	p("| CPU | %s |", rep.machine.cpu)
	p("| Cores | %d |", rep.machine.cores)
	p("| Memory | %s |", rep.machine.memory)
	p("| Kernel | %s %s/%s |", rep.machine.kernel, rep.machine.hostOS, rep.machine.hostArc)
	p("| Go | %s |", rep.machine.goVer)
	p("| RLIMIT_NOFILE | %d |", rep.machine.nofile)
	p("| Gateway | %s (%s) |", rep.gatewayVersion, rep.gatewayBin)
	p("| Frames | %dx%d baseline JPEG, %.1f KB average (quality %d, %d pictures, stamped in a COM segment), %d fps over one uplink |",
		frameWidth, frameHeight, float64(rep.frameBytes)/1000, rep.quality, frameVariants, pushFPS)
	p("")

	rep.targets(p)
	for _, tr := range o.transports {
		rep.fanoutSection(p, tr)
	}
	rep.clusterSection(p)
	rep.firstFrameSection(p)
	rep.slowSection(p)
	rep.notesSection(p)
	rep.methodSection(p)
	return b.String()
}

type printer func(format string, args ...any)

// targets renders the summary: one row per target and transport.
func (rep *report) targets(p printer) {
	o := rep.opts
	p("## Targets")
	p("")
	p("| Target | Measured | Result |")
	p("| --- | --- | --- |")
	for _, tr := range o.transports {
		// CPU per delivered frame against the ceiling.
		worst, worstN, measured := 0.0, 0, false
		for _, n := range o.ns {
			if n < cpuRatioMinN {
				continue
			}
			if r, ok := rep.ratio(tr, n); ok {
				measured = true
				if r > worst {
					worst, worstN = r, n
				}
			}
		}
		name := fmt.Sprintf("%s: CPU per delivered frame ≤ %.2f× ceiling (N ≥ %d)", tr, targetCPURatio, cpuRatioMinN)
		if measured {
			p("| %s | worst %.2f× at N=%d | %s |", name, worst, worstN, verdict(worst <= targetCPURatio))
		} else {
			p("| %s | not measured | n/a |", name)
		}

		// Every viewer's frame rate, every N.
		lowest, lowN, ok, measured := 1e9, 0, true, false
		for _, n := range o.ns {
			r, found := rep.find(kindGateway, tr, n)
			if !found {
				continue
			}
			measured = true
			if r.err != nil {
				ok = false
				continue
			}
			if r.fpsMin < lowest {
				lowest, lowN = r.fpsMin, n
			}
			ok = ok && r.fpsMin >= targetFPS
		}
		name = fmt.Sprintf("%s: every viewer ≥ %.1f fps (every N; largest N=%d)", tr, targetFPS, slicesMax(o.ns))
		switch {
		case !measured:
			p("| %s | not measured | n/a |", name)
		case lowN == 0:
			p("| %s | no case completed | %s |", name, verdict(false))
		default:
			p("| %s | lowest viewer %.2f fps at N=%d | %s |", name, lowest, lowN, verdict(ok))
		}

		// Memory per viewer at the largest N.
		name = fmt.Sprintf("%s: memory ≤ %s per viewer (RSS, largest N ≥ %d)", tr, kib(targetMemPerViewer), memMinN)
		if n := slicesMax(o.ns); n >= memMinN {
			if r, found := rep.find(kindGateway, tr, n); found && r.err == nil {
				p("| %s | %s RSS, %s heap+stacks at N=%d | %s |", name, kib(r.memPerViewer()), kib(r.goMemPerViewer()), n,
					verdict(r.memPerViewer() <= targetMemPerViewer))
			} else {
				p("| %s | not measured | %s |", name, verdict(false))
			}
		} else {
			p("| %s | not measured (no N ≥ %d) | n/a |", name, memMinN)
		}

		// First frame.
		name = fmt.Sprintf("%s: first frame within %s (every one of %d new viewers)", tr, ms(targetFirstFrame), firstFrameViewers)
		for _, r := range rep.firstFrame {
			if r.transport != tr {
				continue
			}
			if len(r.samples) == 0 {
				p("| %s | no samples | %s |", name, verdict(false))
				continue
			}
			worst := r.samples[len(r.samples)-1]
			p("| %s | median %s, max %s, %d missed | %s |", name, ms(percentile(r.samples, 0.5)), ms(worst), r.missed,
				verdict(r.missed == 0 && worst <= targetFirstFrame))
		}
	}
	for _, r := range rep.slow {
		if r.kind != kindGateway {
			continue
		}
		name := fmt.Sprintf("slow viewers: frame age ≤ %s median, ≤ %s worst", secs(targetSlowMedian), secs(targetSlowWorst))
		if r.err != nil {
			p("| %s | error | %s |", name, verdict(false))
			continue
		}
		// A viewer that reads every slowPause never stalls a write for a
		// whole write timeout: cutting it off is no way to keep it fresh.
		switch {
		case r.slowFrames == 0:
			p("| %s | no frame read in the window | %s |", name, verdict(false))
		default:
			p("| %s | median %s, worst %s; %d of %d slow viewers disconnected | %s |", name, secs(r.ageMedian), secs(r.ageWorst),
				r.slowDropped, slowViewersSlow, verdict(r.slowOK()))
		}
		p("| fast viewers beside them ≥ %.1f fps | min %.2f fps, p99 latency %s | %s |", targetFPS, r.fastFPSMin, ms(r.fastP99),
			verdict(r.fastFPSMin >= targetFPS && r.fastDropped == 0))
	}
	p("")
}

// fanoutSection renders the fan-out tables of one transport.
func (rep *report) fanoutSection(p printer, tr string) {
	o := rep.opts
	p("## Fan-out over %s", tr)
	p("")
	p("Delivery (window %s after %s warm-up; fresh process per row):", o.duration, o.warmup)
	p("")
	p("| N | server | viewers with frames | source fps | fps min | fps median | skipped per viewer | latency p50 | latency p99 | server CPU | bench CPU | machine busy | fps ≥ %.1f |", targetFPS)
	p("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, n := range o.ns {
		for _, kind := range []string{kindGateway, kindCeiling} {
			r, ok := rep.find(kind, tr, n)
			if !ok {
				continue
			}
			if r.err != nil {
				p("| %d | %s | ERROR: %s | | | | | | | | | | %s |", n, kind, mdEscape(r.err.Error()), verdict(kind != kindGateway))
				continue
			}
			res, skipped := verdict(r.fpsMin >= targetFPS), fmt.Sprintf("%.2f fps", r.gwSkipped/float64(n)/r.window.Seconds())
			if kind == kindCeiling {
				res, skipped = "(reference)", "—"
			}
			p("| %d | %s | %d/%d | %.2f | %.2f | %.2f | %s | %s | %s | %.2f cores | %.2f cores | %.0f%% (irq %.0f%%) | %s |",
				n, kind, r.ready, n, r.sourceFPS, r.fpsMin, r.fpsMedian, skipped, ms(r.latP50), ms(r.latP99),
				cores(r.cpu, r.window), cores(r.benchCPU, r.window), 100*r.machineBusy, 100*r.machineIRQ, res)
		}
	}
	p("")
	p("\"skipped per viewer\" is the gateway's camrelay_frames_skipped_total over the window ÷ N: frames it did not write because the viewer's socket had not drained the previous one (newest wins). The ceiling skips only when a socket is full.")
	p("")
	p("CPU per delivered frame (server CPU time in the window ÷ frames all viewers received in it):")
	p("")
	p("| N | gateway µs/frame | ceiling µs/frame | gateway ÷ ceiling | target | result |")
	p("| ---: | ---: | ---: | ---: | ---: | --- |")
	for _, n := range o.ns {
		g, okG := rep.find(kindGateway, tr, n)
		c, okC := rep.find(kindCeiling, tr, n)
		gs, cs, rs, res := "—", "—", "—", "n/a"
		if okG && g.err == nil {
			gs = fmt.Sprintf("%.1f", g.cpuPerFrame())
		}
		if okC && c.err == nil {
			cs = fmt.Sprintf("%.1f", c.cpuPerFrame())
		}
		if r, ok := rep.ratio(tr, n); ok {
			rs = fmt.Sprintf("%.2f×", r)
			if n >= cpuRatioMinN {
				res = verdict(r <= targetCPURatio)
			} else {
				res = "info (N < " + fmt.Sprint(cpuRatioMinN) + ")"
			}
		} else if okG && g.err != nil {
			res = verdict(false)
		}
		p("| %d | %s | %s | %s | ≤ %.2f× | %s |", n, gs, cs, rs, targetCPURatio, res)
	}
	p("")
	p("Gateway memory (RSS with N viewers − RSS idle with the camera streaming, ÷ N; Go heap in use + stacks from /metrics likewise):")
	p("")
	p("| N | RSS idle | RSS with N | RSS per viewer | heap+stacks per viewer | target | result |")
	p("| ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	largest := slicesMax(o.ns)
	for _, n := range o.ns {
		r, ok := rep.find(kindGateway, tr, n)
		if !ok || r.err != nil {
			continue
		}
		var res string
		switch {
		case n < memMinN:
			res = fmt.Sprintf("info (N < %d: noise)", memMinN)
		case n == largest:
			res = verdict(r.memPerViewer() <= targetMemPerViewer)
		default:
			res = fmt.Sprintf("info (judged at N=%d)", largest)
		}
		p("| %d | %s | %s | %s | %s | ≤ %s | %s |", n, mib(r.rssBase), mib(r.rssN), kib(r.memPerViewer()),
			kib(r.goMemPerViewer()), kib(targetMemPerViewer), res)
	}
	p("")
}

func (rep *report) firstFrameSection(p printer) {
	if len(rep.firstFrame) == 0 {
		return
	}
	p("## Time to first frame")
	p("")
	p("%d new viewers per transport, one after another at random points of the frame interval, while the camera streams; from starting to dial to the first complete JPEG. The slowest sample is split into its phases: the TCP handshake, the server's response to the request, then the first frame; its age is how long before arriving that frame was sent (up to one frame interval: the frame the gateway held).", firstFrameViewers)
	p("")
	p("| transport | samples | missed | min | median | max | slowest: dial + response + frame (frame age) | target | result |")
	p("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |")
	for _, r := range rep.firstFrame {
		if len(r.samples) == 0 {
			p("| %s | 0 | %d | | | | | ≤ %s | %s |", r.transport, r.missed, ms(targetFirstFrame), verdict(false))
			continue
		}
		worst := r.samples[len(r.samples)-1]
		sl := r.slowest
		p("| %s | %d | %d | %s | %s | %s | %s + %s + %s (%s) | ≤ %s | %s |", r.transport, len(r.samples), r.missed, ms(r.samples[0]),
			ms(percentile(r.samples, 0.5)), ms(worst), ms(sl.dial), ms(sl.response), ms(sl.frame), ms(sl.age),
			ms(targetFirstFrame), verdict(r.missed == 0 && worst <= targetFirstFrame))
	}
	if len(rep.firstFrame) > 0 && len(rep.firstFrame[0].ceilingResponses) > 0 {
		p("")
		p("The response phase alone (accepting the connection, reading the request, writing the response head), every sample, against the ceiling's: its handshake is a few lines of Go with no router, no auth and no library, so what the two share is this machine's.")
		p("")
		p("| transport | gateway median | gateway max | ceiling median | ceiling max |")
		p("| --- | ---: | ---: | ---: | ---: |")
		for _, r := range rep.firstFrame {
			if len(r.responses) == 0 || len(r.ceilingResponses) == 0 {
				continue
			}
			p("| %s | %s | %s | %s | %s |", r.transport, ms(percentile(r.responses, 0.5)), ms(percentile(r.responses, 1)),
				ms(percentile(r.ceilingResponses, 0.5)), ms(percentile(r.ceilingResponses, 1)))
		}
	}
	p("")
}

func (rep *report) slowSection(p printer) {
	if len(rep.slow) == 0 {
		return
	}
	p("## Slow viewers")
	p("")
	p("%d WebSocket viewers for %s: %d read one whole frame every %s (a normal socket, no small SO_RCVBUF), %d read at full speed. Age = time read − time sent.",
		slowViewersTotal, rep.opts.slowDuration, slowViewersSlow, slowPause, slowViewersTotal-slowViewersSlow)
	p("")
	p("| server | slow frames read | age median | age worst | fast fps min | fast fps median | fast latency p99 | streams ended early (slow/fast) | result |")
	p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	for _, r := range rep.slow {
		if r.err != nil {
			p("| %s | ERROR: %s | | | | | | | %s |", r.kind, mdEscape(r.err.Error()), verdict(r.kind != kindGateway))
			continue
		}
		res := "(reference)"
		if r.kind == kindGateway {
			res = verdict(r.slowOK() && r.fastFPSMin >= targetFPS && r.fastDropped == 0)
		}
		p("| %s | %d | %s | %s | %.2f | %.2f | %s | %d/%d | %s |", r.kind, r.slowFrames, secs(r.ageMedian), secs(r.ageWorst),
			r.fastFPSMin, r.fastFPSMedian, ms(r.fastP99), r.slowDropped, r.fastDropped, res)
	}
	p("")
	p("Targets: age ≤ %s median and ≤ %s worst with every slow viewer still connected (one that reads every %s never stalls a write for a whole write timeout), fast viewers ≥ %.1f fps. The ceiling has no pacing: whatever the kernel buffers for a slow socket it serves late.",
		secs(targetSlowMedian), secs(targetSlowWorst), slowPause, targetFPS)
	p("")
}

// notesSection lists anything abnormal: errors, protocol problems, counts
// that did not add up, saturated cases, log lines.
func (rep *report) notesSection(p printer) {
	var notes []string
	add := func(prefix string, s ...string) {
		for _, n := range s {
			notes = append(notes, prefix+": "+n)
		}
	}
	for _, r := range rep.fanout {
		prefix := fmt.Sprintf("%s %s N=%d", r.kind, r.transport, r.n)
		if r.err != nil {
			add(prefix, "ERROR: "+r.err.Error())
		}
		if r.bad > 0 {
			add(prefix, fmt.Sprintf("%d messages were not complete stamped JPEGs", r.bad))
		}
		if r.reordered > 0 {
			add(prefix, fmt.Sprintf("%d frames arrived with a sequence number not above the previous one", r.reordered))
		}
		if r.failed > 0 {
			add(prefix, fmt.Sprintf("%d viewer streams ended with an error; the first: %v", r.failed, r.firstErr))
		}
		if r.drained && r.drain > slowDrain {
			add(prefix, fmt.Sprintf("the gateway took %s to count its viewers down to 0 after they closed", r.drain.Round(time.Millisecond)))
		}
		if r.viewersSeen >= 0 && r.viewersSeen != r.n {
			add(prefix, fmt.Sprintf("the gateway counted %d %s viewers with %d attached", r.viewersSeen, r.transport, r.n))
		}
		if r.err == nil && r.machineBusy > saturatedBusy {
			add(prefix, fmt.Sprintf("the machine was %.0f%% busy: figures are bounded by the %d cores", 100*r.machineBusy, rep.machine.cores))
		}
		if other := r.otherLoad(rep.machine.cores); r.err == nil && other > otherLoadNote {
			add(prefix, fmt.Sprintf("other processes on the machine used %.2f cores during the window: figures may be disturbed", other))
		}
		if r.err == nil && r.sourceFPS < targetFPS {
			add(prefix, fmt.Sprintf("the pusher itself sent only %.2f fps", r.sourceFPS))
		}
		if r.slowPushes > 0 {
			add(prefix, fmt.Sprintf("%d of the pusher's frame writes blocked over %s: the %s read its uplink late", r.slowPushes, slowSend, r.kind))
		}
		add(prefix, r.notes...)
	}
	for _, r := range rep.firstFrame {
		prefix := "first frame " + r.transport
		if r.err != nil {
			add(prefix, "ERROR: "+r.err.Error())
		}
		add(prefix, r.notes...)
	}
	for _, r := range rep.slow {
		prefix := "slow viewers " + r.kind
		if r.err != nil {
			add(prefix, "ERROR: "+r.err.Error())
		}
		if r.bad > 0 || r.reordered > 0 {
			add(prefix, fmt.Sprintf("%d bad messages, %d frames out of order", r.bad, r.reordered))
		}
		if r.slowDropped+r.fastDropped > 0 {
			add(prefix, fmt.Sprintf("%d slow and %d fast viewer streams ended early; the first: %v", r.slowDropped, r.fastDropped, r.firstErr))
		}
		add(prefix, r.notes...)
	}
	p("## Notes")
	p("")
	if len(notes) == 0 {
		p("Nothing abnormal: every frame was a complete stamped JPEG in order, every count added up, no process logged anything.")
	}
	for _, n := range notes {
		p("- %s", mdEscape(n))
	}
	p("")
}

func (rep *report) methodSection(p printer) {
	p("## Method")
	p("")
	p("- One pusher per server plays the camera: %d fps from a ticker, one WebSocket uplink to the gateway (`/cam/%s/ingest`), a length-prefixed TCP feed to the ceiling. Each frame carries its sequence number and send time in a JPEG COM segment right after SOI; latency and age are receive time − send time on the same clock.", pushFPS, benchCamera)
	p("- The ceiling is this binary re-executed with `-ceiling-serve`: one goroutine, one non-blocking writev of [header, JPEG(, CRLF)] per viewer per frame; a full socket skips the frame. It is the cost floor of fan-out on this machine.")
	p("- Viewers are hand-rolled (RFC 6455 frame parser, multipart part parser), one goroutine and a 64 KiB bufio.Reader each, in the bench process; their CPU is the \"bench CPU\" column.")
	p("- Server CPU is the server process's time on CPU over the window, summed over its threads from /proc/PID/task/*/schedstat (nanoseconds; /proc/PID/stat's 10 ms ticks as fallback); RSS from /proc/PID/statm. Loopback delivery to the viewers runs in softirq context, which this kernel may charge to no process (the \"irq\" share of machine busy): it is left out of both the gateway's and the ceiling's figures alike.")
	p("- Every row starts a fresh server process, so memory kept from an earlier, larger case does not leak into the next.")
	p("- A pair of at most %d viewers uses a few hundredths of a core, so a neighbour's burst during one server's window and not the other's would decide its ratio: the gateway and the ceiling are measured side by side, each with its own pusher and viewers, over the same window (their rows' bench CPU is both sets of viewers). Larger pairs are measured in turn, gateway then ceiling, so that they do not compete for the cores.", sideBySideUpTo)
	if rep.opts.repeat > 1 {
		p("- Each pair of more than one viewer is measured %d times and the pair with the median ratio is reported; the notes list every ratio. Repeats of a pair measured in turn are interleaved too: gateway, ceiling, gateway, ceiling.", rep.opts.repeat)
	}
	p("- The machine may be shared: a fan-out pair during which other processes used more than %.1f cores is measured once more, within %s per run, and the quieter pair is kept; the notes say so.", disturbedLoad, retryBudget)
	p("- fps per viewer = JPEGs received in the window ÷ window; latency percentiles are over every frame of every viewer in the window.")
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}

func slicesMax(ns []int) int {
	m := 0
	for _, n := range ns {
		m = max(m, n)
	}
	return m
}

func flagIf(on bool, s string) string {
	if on {
		return s
	}
	return ""
}

// mdEscape keeps a message inside one Markdown table cell or list item.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", "\\|")
}
