package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// socatPair links two pseudo-terminals at a and b, like a USB-serial
// adapter with the board on the other end. stop ends it (both ends vanish).
func socatPair(t *testing.T, a, b string) (stop func()) {
	t.Helper()
	socat, err := exec.LookPath("socat")
	if err != nil {
		t.Fatal("socat is not installed: run `make test`, which installs it")
	}
	cmd := exec.Command(socat, "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop = func() {
		cmd.Process.Kill()
		<-done
	}
	t.Cleanup(stop)
	waitFor(t, 5*time.Second, "socat's pseudo-terminals", func() bool {
		_, errA := os.Stat(a)
		_, errB := os.Stat(b)
		return errA == nil && errB == nil
	})
	return stop
}

// buildCamsim builds the software camera once per test binary.
func buildCamsim(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "camsim")
	out, err := exec.Command("go", "build", "-o", bin, "../camsim").CombinedOutput()
	if err != nil {
		t.Fatalf("build camsim: %v\n%s", err, out)
	}
	return bin
}

// TestSerialCameraEndToEnd: camsim speaks the UART link, with boot text and
// log lines between packets, into one end of a pseudo-terminal pair; the
// gateway opens the other end with go.bug.st/serial and its frames reach a
// viewer. The adapter vanishes and comes back: so does the camera.
func TestSerialCameraEndToEnd(t *testing.T) {
	dir := t.TempDir()
	board, gatewaySide := filepath.Join(dir, "board"), filepath.Join(dir, "ttyUSB0")
	stop := socatPair(t, board, gatewaySide)
	g := startGateway(t, fmt.Sprintf(`
limits: {offline_after: 1s}
cameras:
  - {id: bench, source: serial, device: %q, baud: 115200}
`, gatewaySide))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cam := exec.CommandContext(ctx, buildCamsim(t), "--link", "uart", "--device", board, "--baud", "115200",
		"--uart-noise", "--id", "bench", "--fps", "10", "--framesize", "QVGA", "--log-level", "warn")
	cam.Stdout, cam.Stderr = os.Stderr, os.Stderr
	if err := cam.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cam.Wait() }()

	viewer := viewerWS(t, g, "bench")
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	for range 5 {
		if _, err := nextJPEG(rctx, viewer); err != nil {
			t.Fatalf("no frames over the serial link: %v\n%s", err, g.logs)
		}
	}
	if n := g.metric(t, `camrelay_frames_dropped_total{camera="bench",reason="bad_crc"}`); n > 0 {
		t.Errorf("%v packets failed their CRC on a clean line", n)
	}

	// Unplug the adapter: the camera goes offline.
	stop()
	waitFor(t, 5*time.Second, "the camera offline", func() bool {
		return g.metric(t, `camrelay_camera_up{camera="bench"}`) == 0
	})
	// Plug it back in: the gateway reopens the device by itself, camsim
	// reconnects as a board would, frames flow again.
	socatPair(t, board, gatewaySide)
	waitFor(t, 20*time.Second, "the camera back online", func() bool {
		return g.metric(t, `camrelay_camera_up{camera="bench"}`) == 1
	})
}
