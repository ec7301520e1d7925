package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/camrelay/camrelay/internal/control"
)

// version is set with -ldflags "-X main.version=..."; otherwise it comes
// from the module's build information.
var version = ""

// maxCameras bounds --cameras: each camera renders its own pattern.
const maxCameras = 1000

// cameraID is what the gateway accepts as a camera id.
var cameraID = regexp.MustCompile(`^[a-z0-9-]+$`)

// run is the whole program; main only calls it, so tests can too.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		gateway     = fs.String("gateway", "ws://127.0.0.1:8080", "gateway `URL`; the uplink is URL/cam/ID/ingest")
		id          = fs.String("id", "camsim", "camera `id` ([a-z0-9-]+); with --cameras N the ids are ID-1 … ID-N")
		token       = fs.String("token", "", "uplink `token` of the camera (env CAMSIM_TOKEN); empty for a camera configured insecure")
		fps         = fs.Int("fps", 20, "frames per second at full rate (1-60)")
		framesize   = fs.String("framesize", "VGA", "frame size `name` at start (QVGA, VGA, SVGA, HD, UXGA, …)")
		maxSize     = fs.String("max-framesize", "UXGA", "largest frame size `name` that control may ask for (the OV2640's is UXGA)")
		cameras     = fs.Int("cameras", 1, "number of simulated cameras, for load tests")
		origin      = fs.String("origin", "file://", "Origin header, as arduinoWebSockets sends it; empty sends none")
		statusEvery = fs.Duration("status-interval", 5*time.Second, "time between status messages")
		logLevel    = fs.String("log-level", "info", "log level: debug, info, warn, error")
		linkKind    = fs.String("link", "ws", "uplink: ws (WebSocket to --gateway) or uart (framed packets on --device)")
		device      = fs.String("device", "", "serial device or pseudo-terminal for --link uart")
		baud        = fs.Int("baud", 2000000, "baud rate for --link uart")
		noise       = fs.Bool("uart-noise", false, "with --link uart: write ROM boot text and log lines between packets, as a real board does")
		showVersion = fs.Bool("version", false, "print the version and exit")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: camsim [--gateway ws://HOST:8080] [--id ID] [--token TOKEN] [--cameras N]\n\n"+
			"camsim is a software ESP32-CAM: it dials a camrelay gateway's uplink and streams\n"+
			"a test pattern, as the companion firmware does.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: camsim takes flags only (see --help)", fs.Args())
	}
	fw := "camsim-" + buildVersion()
	if *showVersion {
		fmt.Fprintln(stdout, fw)
		return nil
	}
	if *token == "" {
		*token = getenv("CAMSIM_TOKEN")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", *logLevel)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))

	*framesize, *maxSize = strings.ToUpper(*framesize), strings.ToUpper(*maxSize)
	var problems []string
	if !cameraID.MatchString(*id) {
		problems = append(problems, fmt.Sprintf("--id %q: use lower-case letters, digits and -", *id))
	}
	if *fps < 1 || *fps > 60 {
		problems = append(problems, fmt.Sprintf("--fps %d: use 1 to 60", *fps))
	}
	if *cameras < 1 || *cameras > maxCameras {
		problems = append(problems, fmt.Sprintf("--cameras %d: use 1 to %d", *cameras, maxCameras))
	}
	if *statusEvery <= 0 {
		problems = append(problems, "--status-interval must be positive")
	}
	size, largest := control.FrameSizeIndex(*framesize), control.FrameSizeIndex(*maxSize)
	switch {
	case size < 0:
		problems = append(problems, fmt.Sprintf("--framesize %q: %s", *framesize, frameSizeNames()))
	case largest < 0:
		problems = append(problems, fmt.Sprintf("--max-framesize %q: %s", *maxSize, frameSizeNames()))
	case size > largest:
		problems = append(problems, fmt.Sprintf("--framesize %s is larger than --max-framesize %s", *framesize, *maxSize))
	}
	switch *linkKind {
	case "ws":
		if _, err := ingestURL(*gateway, "x"); err != nil {
			problems = append(problems, err.Error())
		}
	case "uart":
		if *device == "" {
			problems = append(problems, "--link uart needs --device PATH")
		}
		if *cameras > 1 {
			problems = append(problems, "--link uart runs one camera per device: drop --cameras")
		}
	default:
		problems = append(problems, fmt.Sprintf("--link %q: use ws or uart", *linkKind))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	if *token == "" {
		log.Warn("no token: the gateway accepts this only for a camera configured with insecure: true")
	}

	log.Info("camsim starting", "gateway", *gateway, "cameras", *cameras, "fps", *fps, "framesize", *framesize, "fw", fw)
	g, ctx := errgroup.WithContext(ctx)
	for i := range *cameras {
		camID := *id
		if *cameras > 1 {
			camID = fmt.Sprintf("%s-%d", *id, i+1)
		}
		clog := log.With("camera", camID)
		cam, err := newCamera(cameraOptions{
			ID: camID, FW: fw, FPS: *fps, FrameSize: *framesize, MaxFrameSize: *maxSize,
			StatusEvery: *statusEvery, Log: clog, InitialQuality: 12,
		})
		if err != nil {
			return err
		}
		if *linkKind == "uart" {
			up := &uartUplink{device: *device, baud: *baud, noise: *noise, boot: time.Now()}
			g.Go(func() error { return cam.run(ctx, up.dial) })
			continue
		}
		// The uplink: WebSocket, as the firmware's default.
		up, err := newWSUplink(*gateway, camID, *token, *origin)
		if err != nil {
			return err
		}
		g.Go(func() error {
			defer up.close()
			return cam.run(ctx, up.dial)
		})
	}
	err := g.Wait()
	log.Info("camsim stopped")
	return err
}

// frameSizeNames lists the frame size names for an error message.
func frameSizeNames() string {
	names := make([]string, len(control.FrameSizes))
	for i, f := range control.FrameSizes {
		names[i] = f.Name
	}
	return "use one of " + strings.Join(names, ", ")
}

// buildVersion is the version set at link time, the module version, or
// "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
