//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The firmware's UART link end to end: firmware/test/uart_writer, built
// from the firmware's portable C core (the same framing code the sketch
// compiles), writes ESP32 boot text, a hello and JPEG frames into one side
// of a pseudo-terminal; the gateway reads the other side as a `source:
// serial` camera; a viewer must get every frame byte for byte. Then the
// gateway's control commands go down the same line and the firmware's C
// parser answers them. It proves that the firmware's bytes and the
// gateway's reader agree, both ways.

// firmwareWriter builds uart_writer with the firmware's Makefile into a
// temporary directory and returns its path.
func firmwareWriter(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"make", "gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run make test, which installs them", tool)
		}
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-s", "-C", filepath.Join(repoRoot(t), "firmware"), "BUILD="+dir, "CC=gcc", "uart_writer")
	if out, err := cmd.CombinedOutput(); err != nil {
		if bytes.Contains(out, []byte("cJSON")) {
			t.Fatalf("libcjson-dev is not installed: run make test, which installs them\n%s", out)
		}
		t.Fatalf("build firmware/test/uart_writer: %v\n%s", err, out)
	}
	return filepath.Join(dir, "uart_writer")
}

// firmwarePTY opens a pseudo-terminal pair and puts its slave side in raw
// mode; it returns the master (the camera's end) and the slave's path (the
// gateway's device).
func firmwarePTY(t *testing.T) (*os.File, string) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	master := os.NewFile(uintptr(fd), "ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	slave := fmt.Sprintf("/dev/pts/%d", n)
	sfd, err := unix.Open(slave, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", slave, err)
	}
	defer unix.Close(sfd)
	tio, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	// cfmakeraw: no echo, no translation of CR/LF, no signals.
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	if err := unix.IoctlSetTermios(sfd, unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	return master, slave
}

func TestFirmwareUARTFramesReachViewersByteIdentical(t *testing.T) {
	writer := firmwareWriter(t)
	master, slave := firmwarePTY(t)

	g := startGateway(t, fmt.Sprintf(`
admin_token: adm1n
cameras:
  - id: bench
    source: serial
    device: %s
    baud: 115200
`, slave))
	waitFor(t, 5*time.Second, "the gateway to open the pty", func() bool {
		return strings.Contains(g.logs.String(), "serial port open")
	})
	viewer := viewerWS(t, g, "bench")

	frames := testFrames(t, 12)
	dir := t.TempDir()
	args := []string{"-f", "3", "-b", "-i", "40", "-a", "10000", "-n", "2",
		"-j", `{"type":"hello","fw":"uart_writer","board":"host","sensor":"none","framesize":"QQVGA","psram":false,"reset":"POWERON","link":"uart"}`}
	for i, f := range frames {
		path := filepath.Join(dir, fmt.Sprintf("frame%02d.jpg", i))
		if err := os.WriteFile(path, f, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, writer, args...)
	cmd.ExtraFiles = []*os.File{master} // fd 3: the camera's end of the line
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	wait := func() error {
		if waited {
			return nil
		}
		waited = true
		return cmd.Wait()
	}
	defer wait()

	// Every frame that arrives is one of those written, byte for byte, in
	// order; the last one always arrives (a viewer may skip, never reorder).
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	last, got := -1, 0
	for last < len(frames)-1 {
		jpg, err := nextJPEG(rctx, viewer)
		if err != nil {
			t.Fatalf("after %d frames (last index %d): %v\ngateway log:\n%s\nwriter: %s", got, last, err, g.logs, stderr.String())
		}
		i := indexOf(jpg)
		if i <= last || i >= len(frames) {
			t.Fatalf("frame index %d after %d", i, last)
		}
		if !bytes.Equal(jpg, frames[i]) {
			t.Fatalf("frame %d differs from what the firmware's writer sent (%d vs %d bytes)", i, len(jpg), len(frames[i]))
		}
		last = i
		got++
	}
	if got < len(frames)/2 {
		t.Errorf("only %d of %d frames reached the viewer", got, len(frames))
	}
	// The boot text before the packets was skipped, not taken for a frame,
	// and the hello reached the camera list.
	resp, err := http.Get(g.url("/api/cameras"))
	if err != nil {
		t.Fatal(err)
	}
	var api bytes.Buffer
	api.ReadFrom(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(api.Bytes(), []byte(`uart_writer`)) {
		t.Errorf("/api/cameras does not show the writer's hello:\n%s", api.String())
	}

	// Control down the same line, answered by the firmware's C parser.
	status, body := postControl(t, g, "bench", "adm1n", `{"framesize":"svga","quality":10,"vflip":1}`)
	if status == http.StatusNotImplemented {
		t.Logf("control over a serial link is not wired in this gateway yet (501 %s); frames checked only", body)
		cancel()
		_ = wait()
		return
	}
	if status != http.StatusOK || !strings.Contains(body, `"framesize":"SVGA"`) || !strings.Contains(body, `"quality":10`) || !strings.Contains(body, `"vflip":true`) {
		t.Errorf("control = %d %s, want 200 with the firmware's applied values\nwriter: %s", status, body, stderr.String())
	}
	status, body = postControl(t, g, "bench", "adm1n", `{"framesize":"QXGA"}`)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "above the size the camera was started with (UXGA)") {
		t.Errorf("control of a size above the camera's = %d %s, want 422 with the firmware's reason", status, body)
	}
	if err := wait(); err != nil {
		t.Errorf("uart_writer: %v\n%s", err, stderr.String())
	}
	if n := strings.Count(stderr.String(), `uart_writer: sent {"type":"ack"`); n != 2 {
		t.Errorf("the firmware's parser answered %d commands, want 2:\n%s", n, stderr.String())
	}
}
