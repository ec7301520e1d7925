// Command camrelay-bench measures the camrelay gateway against a ceiling
// measured side by side in the same run: a minimal raw-socket fan-out that
// does nothing but one writev per frame per viewer. It starts the gateway
// as a subprocess, pushes 20 fps of ~35 KB JPEGs into it like an ESP32-CAM
// at VGA, attaches up to a thousand cheap hand-rolled viewers over
// WebSocket and MJPEG, and prints a Markdown report of delivered frame
// rate, latency, CPU per delivered frame, memory per viewer, time to first
// frame and the treatment of slow viewers, each next to its target.
//
// Usage:
//
//	go run ./cmd/camrelay-bench [-quick] [-n 1,100,500,1000] [-out report.md]
//
// It is a measurement tool: it exits 0 when a target is missed, and 1 only
// when it could not measure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "camrelay-bench:", err)
		stop()
		os.Exit(1)
	}
}

// options are the bench's settings, from its flags.
type options struct {
	// gateway is the gateway binary; empty builds ./cmd/camrelay.
	gateway string
	// ns are the viewer counts of the fan-out cases.
	ns []int
	// duration is each fan-out case's measurement window.
	duration time.Duration
	// slowDuration is the slow-viewer case's measurement window.
	slowDuration time.Duration
	// warmup runs between the viewers' first frames and the window.
	warmup time.Duration
	// transports are the viewer transports measured: ws, mjpeg.
	transports []string
	// out is a file the report is also written to; empty for none.
	out string
	// skipCeiling leaves out every ceiling measurement.
	skipCeiling bool
	// quick is set when -quick chose the defaults.
	quick bool
	// cluster adds the cluster case: the hop between two gateways.
	cluster bool
	// repeat is how many times a fan-out pair of more than one viewer is
	// measured; the pair with the median ratio is reported.
	repeat int
}

// sideBySideUpTo is the largest viewer count whose gateway and ceiling are
// measured at the same time. Small cases use a few hundredths of a core, so
// a neighbour on a shared machine moved their ratio by a quarter when they
// were measured in turn; large ones would compete for the cores.
const sideBySideUpTo = 100

// Fixed shape of the first-frame and slow-viewer cases.
const (
	firstFrameViewers = 20
	slowViewersTotal  = 100
	slowViewersSlow   = 10
	// slowPause is how long a slow viewer sleeps after each frame.
	slowPause = 2 * time.Second
)

// run is the whole program; main only calls it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		gateway      = fs.String("gateway", "", "gateway `binary` to run; default: go build ./cmd/camrelay into a temp dir")
		ns           = fs.String("n", "1,100,500,1000", "viewer `counts` of the fan-out cases, comma-separated")
		duration     = fs.Duration("duration", 8*time.Second, "measurement window of each fan-out case")
		slowDuration = fs.Duration("slow-duration", 30*time.Second, "measurement window of the slow-viewer case")
		transports   = fs.String("transports", "ws,mjpeg", "viewer `transports` to measure, comma-separated: ws, mjpeg")
		out          = fs.String("out", "", "also write the report to `file`")
		skipCeiling  = fs.Bool("skip-ceiling", false, "do not measure the ceiling (no ratios)")
		cluster      = fs.Bool("cluster", true, "measure the cluster hop: viewers on gateway B of a camera on gateway A, over a NATS server")
		repeat       = fs.Int("repeat", 3, "measure each fan-out pair of more than one viewer this many `times` and report the one with the median ratio")
		quick        = fs.Bool("quick", false, "sanity run: -n 1,100, 3 s windows (explicit flags still win)")
		ceilingServe = fs.Bool("ceiling-serve", false, "internal: run as the ceiling process")
	)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: camrelay-bench [flags]\n\n"+
			"camrelay-bench measures the camrelay gateway against a minimal raw-socket fan-out\n"+
			"and prints a Markdown report with PASS/FAIL next to each target.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *ceilingServe {
		return serveCeiling(ctx, stdout)
	}

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["n"] {
			*ns = "1,100"
		}
		if !set["duration"] {
			*duration = 3 * time.Second
		}
		if !set["slow-duration"] {
			*slowDuration = 3 * time.Second
		}
	}
	opts := options{
		gateway:      *gateway,
		duration:     *duration,
		slowDuration: *slowDuration,
		warmup:       2 * time.Second,
		out:          *out,
		skipCeiling:  *skipCeiling,
		quick:        *quick,
		cluster:      *cluster,
		repeat:       *repeat,
	}
	var err error
	if opts.ns, err = parseCounts(*ns); err != nil {
		return err
	}
	if opts.transports, err = parseTransports(*transports); err != nil {
		return err
	}
	if opts.repeat < 1 {
		return errors.New("-repeat must be at least 1")
	}
	if *quick && !set["repeat"] {
		opts.repeat = 1
	}
	if opts.duration < time.Second {
		return errors.New("-duration must be at least 1s")
	}
	// A slow viewer reads one frame per slowPause: a shorter window may
	// hold none of its reads.
	if opts.slowDuration < slowPause*3/2 {
		return fmt.Errorf("-slow-duration must be at least %s", slowPause*3/2)
	}

	rep, err := runBench(ctx, opts, stderr)
	if rep != nil {
		text := rep.markdown()
		if _, werr := io.WriteString(stdout, text); werr != nil {
			err = errors.Join(err, fmt.Errorf("write report: %w", werr))
		}
		if opts.out != "" {
			if werr := os.WriteFile(opts.out, []byte(text), 0o644); werr != nil {
				err = errors.Join(err, fmt.Errorf("write report: %w", werr))
			}
		}
	}
	return err
}

// parseCounts parses -n.
func parseCounts(s string) ([]int, error) {
	var ns []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 10000 {
			return nil, fmt.Errorf("-n: %q is not a viewer count from 1 to 10000", f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// parseTransports parses -transports.
func parseTransports(s string) ([]string, error) {
	var ts []string
	for f := range strings.SplitSeq(s, ",") {
		switch f = strings.TrimSpace(f); f {
		case transportWS, transportMJPEG:
			ts = append(ts, f)
		default:
			return nil, fmt.Errorf("-transports: unknown transport %q (want ws or mjpeg)", f)
		}
	}
	return ts, nil
}
