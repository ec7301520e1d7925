//go:build linux

package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.bug.st/serial"
	"golang.org/x/sys/unix"

	"github.com/camrelay/camrelay/internal/camlink"
	"github.com/camrelay/camrelay/internal/control"
)

// These tests run the Serial source against a real pseudo-terminal pair:
// the test plays the camera on the master side, and the source opens the
// slave side with go.bug.st/serial, as it opens a USB adapter. The source
// always opens a symlink that the test controls, so that a test can pull
// the "adapter" out (close the master) and plug a new one in at the same
// path.

// serialPTY is one pseudo-terminal pair.
type serialPTY struct {
	master *os.File // the camera's end
	slave  string   // /dev/pts/N
}

// newSerialPTY opens a pty pair (posix_openpt, unlockpt, ptsname by hand
// with x/sys/unix) and puts its slave side in raw mode, so that nothing
// written before the source opens it is echoed or translated.
func newSerialPTY(t *testing.T) *serialPTY {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("ptsname: %v", err)
	}
	p := &serialPTY{master: os.NewFile(uintptr(fd), "ptmx"), slave: fmt.Sprintf("/dev/pts/%d", n)}
	t.Cleanup(func() { p.master.Close() })

	sfd, err := unix.Open(p.slave, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", p.slave, err)
	}
	defer unix.Close(sfd)
	tio, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	// cfmakeraw
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	if err := unix.IoctlSetTermios(sfd, unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	return p
}

// pointSerialLink makes link point at target, atomically.
func pointSerialLink(t *testing.T, link, target string) {
	t.Helper()
	tmp := link + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

// waitUntil polls cond, under the sink's lock, each time the sink changes,
// until it holds or the deadline passes.
func (s *linkSink) waitUntil(t *testing.T, what string, cond func(s *linkSink) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		ok := cond(s)
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("timed out waiting for %s: %d frames, messages %v, drops %v, %d connects",
				what, len(s.frames), s.messages, s.drops, s.connects)
		}
	}
}

// serialJPEGs returns n real JPEGs of different sizes and contents.
func serialJPEGs(t *testing.T, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range n {
		w, h := 64+16*(i%8), 48+8*(i%5)
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				img.Set(x, y, color.RGBA{uint8(x*i + y), uint8(y * 3), uint8(i * 40), 255})
			}
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	return out
}

// serialCamera writes packets to the master side with a sequence number of
// its own.
type serialCamera struct {
	t   *testing.T
	w   io.Writer
	seq uint32
	up  uint64 // µs
}

func (c *serialCamera) write(b []byte) {
	c.t.Helper()
	if _, err := c.w.Write(b); err != nil {
		c.t.Errorf("camera write: %v", err)
	}
}

func (c *serialCamera) packet(typ camlink.Type, payload []byte) []byte {
	c.up += 50_000
	p := camlink.Encode(camlink.Packet{Type: typ, Seq: c.seq, Flags: camlink.FlagUptime, Uptime: c.up, Payload: payload})
	c.seq++
	return p
}

func (c *serialCamera) send(typ camlink.Type, payload []byte) { c.write(c.packet(typ, payload)) }

var serialQuiet = slog.New(slog.DiscardHandler)

// runSerial starts s.Run and returns a stop function that cancels it and
// returns its error; it fails the test if Run does not end within a
// second.
func runSerial(t *testing.T, s *Serial, sink Sink) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, sink) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(time.Second):
				t.Fatal("Run did not stop within a second of its context ending")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func TestSerialFramesAndMessages(t *testing.T) {
	p := newSerialPTY(t)
	dev := filepath.Join(t.TempDir(), "ttyCAM")
	pointSerialLink(t, dev, p.slave)
	sink := newLinkSink()
	src := &Serial{Device: dev, Baud: 3_000_000, MaxFrame: 256 << 10, Log: serialQuiet}
	stop := runSerial(t, src, sink)
	sink.waitUntil(t, "the port to open", func(s *linkSink) bool { return s.connects == 1 })

	cam := &serialCamera{t: t, w: p.master}
	frames := serialJPEGs(t, 24)
	hello := []byte(`{"type":"hello","fw":"test","board":"pty","framesize":"VGA"}`)
	status := []byte(`{"type":"status","rssi":-60,"heap":120000}`)

	// What a real line carries: boot text, then packets with log lines,
	// noise and damaged packets between them.
	var line bytes.Buffer
	line.WriteString("ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\nentry 0x400805f0\r\n")
	line.Write(cam.packet(camlink.TypeJSON, hello))
	for i, f := range frames {
		switch i % 6 {
		case 1:
			line.WriteString("\x1b[0;33mW (5678) cam_hal: NO-EOI\x1b[0m\r\n")
		case 2:
			bad := cam.packet(camlink.TypeJPEG, f) // sent, then damaged: lost
			bad[camlink.HeaderLen+len(f)/2] ^= 0xFF
			line.Write(bad)
		case 3:
			line.Write([]byte{0xA5, 0x5A, 0x43, 0x52, 0x01, 0x00, 0xFF, 0xFF}) // a sync, then a header that fails its check
			line.WriteString("noise noise noise noise\r\n")
		case 4:
			line.Write(cam.packet(camlink.TypeJSON, status))
		}
		line.Write(cam.packet(camlink.TypeJPEG, f))
	}
	// A header that checks out but claims more than MaxFrame.
	tooBig := cam.packet(camlink.TypeJPEG, make([]byte, 300<<10))
	line.Write(tooBig[:camlink.HeaderLen])
	last := serialJPEGs(t, 1)[0]
	line.Write(cam.packet(camlink.TypeJPEG, last))
	// Write in uneven pieces, as a USB adapter delivers them.
	data := line.Bytes()
	for len(data) > 0 {
		n := min(len(data), 1+len(data)%4093)
		cam.write(data[:n])
		data = data[n:]
	}

	wantFrames := append(frames, last)
	sink.waitUntil(t, "every good frame", func(s *linkSink) bool { return len(s.frames) >= len(wantFrames) })
	if err := stop(); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}

	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.frames) != len(wantFrames) {
		t.Fatalf("%d frames, want %d", len(sink.frames), len(wantFrames))
	}
	for i, f := range sink.frames {
		if !bytes.Equal(f.Data, wantFrames[i]) {
			t.Errorf("frame %d differs (%d bytes, want %d)", i, len(f.Data), len(wantFrames[i]))
		}
		if f.Width == 0 || f.Received.IsZero() {
			t.Errorf("frame %d: width %d, received %v", i, f.Width, f.Received)
		}
		if f.Captured.IsZero() || f.Captured.After(f.Received) {
			t.Errorf("frame %d: captured %v, received %v", i, f.Captured, f.Received)
		}
	}
	wantTypes := []string{"hello", "status", "status", "status", "status"}
	if strings.Join(sink.messages, ",") != strings.Join(wantTypes, ",") {
		t.Errorf("messages %v, want %v", sink.messages, wantTypes)
	}
	if !bytes.Equal(sink.raw[0], hello) {
		t.Errorf("hello = %s", sink.raw[0])
	}
	wantDrops := map[string]int{"bad_crc": 4, "bad_header": 4, "too_large": 1}
	for k, n := range wantDrops {
		if sink.drops[k] != n {
			t.Errorf("drops[%s] = %d, want %d (all: %v)", k, sink.drops[k], n, sink.drops)
		}
	}
}

func TestSerialMissingDevice(t *testing.T) {
	src := &Serial{Device: "/nonexistent/ttyUSB0", Log: serialQuiet}
	err := src.Run(context.Background(), newLinkSink())
	if err == nil || err.Error() != "open serial /nonexistent/ttyUSB0: no such file or directory" {
		t.Errorf("Run = %v, want open serial /nonexistent/ttyUSB0: no such file or directory", err)
	}
	if err := src.Send(context.Background(), []byte(`{"type":"x"}`)); !errors.Is(err, control.ErrOffline) {
		t.Errorf("Send while not connected = %v, want ErrOffline", err)
	}
}

// serialDownlink reads the packets that the gateway writes to the camera.
func serialDownlink(t *testing.T, master io.Reader) <-chan camlink.Packet {
	ch := make(chan camlink.Packet, 16)
	go func() {
		defer close(ch)
		rd := camlink.NewReader(master, nil)
		for {
			p, err := rd.Next()
			if err != nil {
				return
			}
			ch <- p
		}
	}()
	return ch
}

func nextDownlink(t *testing.T, ch <-chan camlink.Packet) camlink.Packet {
	t.Helper()
	select {
	case p, ok := <-ch:
		if !ok {
			t.Fatal("downlink ended")
		}
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("nothing came down the line")
	}
	return camlink.Packet{}
}

func TestSerialSendControlDemand(t *testing.T) {
	p := newSerialPTY(t)
	dev := filepath.Join(t.TempDir(), "ttyCAM")
	pointSerialLink(t, dev, p.slave)
	sink := newLinkSink()
	src := &Serial{Device: dev, Log: serialQuiet}
	ctx := context.Background()
	if err := src.Send(ctx, []byte(`{"type":"x"}`)); !errors.Is(err, control.ErrOffline) {
		t.Fatalf("Send before Run = %v, want ErrOffline", err)
	}
	stop := runSerial(t, src, sink)
	sink.waitUntil(t, "the port to open", func(s *linkSink) bool { return s.connects == 1 })
	down := serialDownlink(t, p.master)

	if err := src.Send(ctx, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if got := nextDownlink(t, down); got.Type != camlink.TypeJSON || got.Seq != 0 || string(got.Payload) != `{"type":"ping"}` || got.HasUptime() {
		t.Errorf("downlink %+v", got)
	}
	if err := src.Send(ctx, []byte(`not json`)); err == nil {
		t.Error("Send accepted text that is not JSON")
	}
	if err := src.Send(ctx, bytes.Repeat([]byte(" "), MaxSerialMessage+1)); err == nil {
		t.Error("Send accepted a message over MaxSerialMessage")
	}

	// Control: the camera answers the command with an ack.
	q := 12
	type result struct {
		ack control.Ack
		err error
	}
	res := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		a, err := src.Control(ctx, control.Settings{Quality: &q})
		res <- result{a, err}
	}()
	cmd := nextDownlink(t, down)
	var c control.Command
	if err := json.Unmarshal(cmd.Payload, &c); err != nil || c.Type != "control" || c.Quality == nil || *c.Quality != 12 || cmd.Seq != 1 {
		t.Fatalf("command %s (seq %d): %v", cmd.Payload, cmd.Seq, err)
	}
	cam := &serialCamera{t: t, w: p.master}
	cam.send(camlink.TypeJSON, fmt.Appendf(nil, `{"type":"ack","id":%d,"ok":true,"applied":{"quality":12}}`, c.ID))
	r := <-res
	if r.err != nil || !r.ack.OK || r.ack.ID != c.ID {
		t.Errorf("Control = %+v, %v", r.ack, r.err)
	}

	// Demand: told at once, and again when the camera says hello (it
	// rebooted, and boots at full rate).
	src.Demand(false)
	if d := nextDownlink(t, down); string(d.Payload) != `{"type":"demand","rate":"idle"}` {
		t.Errorf("demand message %s", d.Payload)
	}
	cam.send(camlink.TypeJSON, []byte(`{"type":"hello"}`))
	if d := nextDownlink(t, down); string(d.Payload) != `{"type":"demand","rate":"idle"}` {
		t.Errorf("demand message after hello %s", d.Payload)
	}
	src.Demand(true)
	if d := nextDownlink(t, down); string(d.Payload) != `{"type":"demand","rate":"full"}` {
		t.Errorf("demand message %s", d.Payload)
	}

	if err := stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
	if err := src.Send(ctx, []byte(`{"type":"x"}`)); !errors.Is(err, control.ErrOffline) {
		t.Errorf("Send after Run = %v, want ErrOffline", err)
	}
	p.master.Close() // ends serialDownlink's goroutine
	for range down {
	}
}

// syncBuffer is a bytes.Buffer for a logger shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestSerialReconnect pulls the adapter out under a Supervisor and plugs a
// new one in at the same path: the source fails, the supervisor reopens
// it by itself, and frames flow again.
func TestSerialReconnect(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "ttyCAM")
	p1 := newSerialPTY(t)
	pointSerialLink(t, dev, p1.slave)

	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sink := newLinkSink()
	sup := NewSupervisor(&Serial{Device: dev, Log: log}, sink, time.Minute, log)
	ctx, cancel := context.WithCancel(context.Background())
	supDone := make(chan error, 1)
	go func() { supDone <- sup.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-supDone:
		case <-time.After(2 * time.Second):
			t.Error("Supervisor did not stop")
		}
	}()

	frames := serialJPEGs(t, 4)
	sink.waitUntil(t, "the first open", func(s *linkSink) bool { return s.connects == 1 })
	cam := &serialCamera{t: t, w: p1.master}
	cam.send(camlink.TypeJPEG, frames[0])
	cam.send(camlink.TypeJPEG, frames[1])
	sink.waitUntil(t, "two frames", func(s *linkSink) bool { return len(s.frames) == 2 })

	// Unplug: the port hangs up, and the device is gone for a while.
	if err := os.Remove(dev); err != nil {
		t.Fatal(err)
	}
	p1.master.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "no such file or directory") {
		if time.Now().After(deadline) {
			t.Fatalf("no failed reopen logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "read serial "+dev+": "+errSerialHangup.Error()) {
		t.Errorf("the hang-up was not logged clearly:\n%s", logs.String())
	}

	// Plug a new adapter in at the same path.
	p2 := newSerialPTY(t)
	pointSerialLink(t, dev, p2.slave)
	sink.waitUntil(t, "the reopen", func(s *linkSink) bool { return s.connects == 2 })
	cam = &serialCamera{t: t, w: p2.master}
	cam.send(camlink.TypeJPEG, frames[2])
	cam.send(camlink.TypeJPEG, frames[3])
	sink.waitUntil(t, "frames after the reopen", func(s *linkSink) bool { return len(s.frames) == 4 })
	sink.mu.Lock()
	for i, f := range sink.frames {
		if !bytes.Equal(f.Data, frames[i]) {
			t.Errorf("frame %d differs", i)
		}
	}
	sink.mu.Unlock()
}

// modemWatch wraps a port and records every call that could move DTR or
// RTS, or send a break (which a USB-serial adapter's auto-reset circuit
// may also see).
type modemWatch struct {
	serial.Port
	calls *atomic.Int32
}

func (m modemWatch) SetDTR(v bool) error             { m.calls.Add(1); return m.Port.SetDTR(v) }
func (m modemWatch) SetRTS(v bool) error             { m.calls.Add(1); return m.Port.SetRTS(v) }
func (m modemWatch) Break(d time.Duration) error     { m.calls.Add(1); return m.Port.Break(d) }
func (m modemWatch) SetMode(mode *serial.Mode) error { m.calls.Add(1); return m.Port.SetMode(mode) }

// TestSerialLeavesDTRRTS checks how the source opens the port: DTR and RTS
// de-asserted in the open itself (one TIOCMSET for both), and never
// touched afterwards.
//
// The line levels themselves cannot be observed on a pty: Linux's pty
// driver has no modem-control lines, and TIOCMGET/TIOCMSET on either side
// fail with ENOTTY. The test checks that this is still so; if a kernel
// ever gives ptys modem lines, it reads DTR and RTS directly instead. On
// a pty the library's open with InitialStatusBits fails on that ENOTTY,
// and the source opens again without them, which the test also checks.
func TestSerialLeavesDTRRTS(t *testing.T) {
	p := newSerialPTY(t)
	sfd, err := unix.Open(p.slave, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sfd)

	var modes []serial.Mode
	var bits []*serial.ModemOutputBits
	var calls atomic.Int32
	var mu sync.Mutex
	src := &Serial{Device: p.slave, Baud: 921_600, Log: serialQuiet}
	src.open = func(dev string, mode *serial.Mode) (serial.Port, error) {
		mu.Lock()
		modes = append(modes, *mode)
		if mode.InitialStatusBits != nil {
			b := *mode.InitialStatusBits
			bits = append(bits, &b)
		} else {
			bits = append(bits, nil)
		}
		mu.Unlock()
		port, err := serial.Open(dev, mode)
		if err != nil {
			return nil, err
		}
		return modemWatch{Port: port, calls: &calls}, nil
	}
	sink := newLinkSink()
	stop := runSerial(t, src, sink)
	sink.waitUntil(t, "the port to open", func(s *linkSink) bool { return s.connects == 1 })

	status, tiocErr := unix.IoctlGetInt(sfd, unix.TIOCMGET)
	switch {
	case errors.Is(tiocErr, unix.ENOTTY):
		// As expected on a pty: nothing to observe at the line level.
	case tiocErr != nil:
		t.Fatalf("TIOCMGET: %v", tiocErr)
	default:
		t.Logf("this kernel gives ptys modem lines: status %#x", status)
		if status&(unix.TIOCM_DTR|unix.TIOCM_RTS) != 0 {
			t.Errorf("DTR or RTS asserted after open: status %#x", status)
		}
	}
	// Frames and Send go through without any modem call.
	cam := &serialCamera{t: t, w: p.master}
	cam.send(camlink.TypeJPEG, serialJPEGs(t, 1)[0])
	sink.waitUntil(t, "a frame", func(s *linkSink) bool { return len(s.frames) == 1 })
	down := serialDownlink(t, p.master)
	if err := src.Send(context.Background(), []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	nextDownlink(t, down)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	p.master.Close()
	for range down {
	}

	mu.Lock()
	defer mu.Unlock()
	if len(modes) == 0 || bits[0] == nil || bits[0].DTR || bits[0].RTS {
		t.Fatalf("first open: InitialStatusBits %+v, want DTR and RTS false", bits)
	}
	for i, m := range modes {
		if m.BaudRate != 921_600 || m.DataBits != 8 || m.Parity != serial.NoParity || m.StopBits != serial.OneStopBit {
			t.Errorf("open %d: mode %+v, want 921600 8N1", i, m)
		}
	}
	if errors.Is(tiocErr, unix.ENOTTY) {
		if len(modes) != 2 || bits[1] != nil {
			t.Errorf("on a port without modem lines: %d opens, bits %+v; want a second open without InitialStatusBits", len(modes), bits)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d calls to SetDTR/SetRTS/Break/SetMode after open, want none", n)
	}
}

func TestSerialNoModemLinesError(t *testing.T) {
	// The library's error text for a port without modem lines, as seen on
	// a pty with go.bug.st/serial v1.8.0; noModemLines depends on it.
	p := newSerialPTY(t)
	_, err := serial.Open(p.slave, &serial.Mode{BaudRate: 115200, InitialStatusBits: &serial.ModemOutputBits{}})
	if err == nil {
		t.Skip("this kernel gives ptys modem lines")
	}
	if !noModemLines(err) {
		t.Errorf("noModemLines(%q) = false", err)
	}
	if noModemLines(errors.New("no such file or directory")) {
		t.Error("noModemLines matches any error")
	}
}

func TestUptimeClock(t *testing.T) {
	boot := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var c uptimeClock
	at := func(up time.Duration, latency time.Duration) time.Time {
		return c.observe(uint64(up/time.Microsecond), boot.Add(up+latency))
	}
	// The first sample is taken as it is; a faster one pulls the
	// estimate down, a slower one does not push it up.
	if got := at(10*time.Second, 40*time.Millisecond); !got.Equal(boot.Add(10*time.Second + 40*time.Millisecond)) {
		t.Errorf("first: %v", got)
	}
	at(10100*time.Millisecond, 5*time.Millisecond)
	if got := at(10200*time.Millisecond, 80*time.Millisecond); !got.Equal(boot.Add(10200*time.Millisecond + 5*time.Millisecond)) {
		t.Errorf("after a fast sample: capture %v, want 5 ms after the true time", got.Sub(boot))
	}
	// Never after the receive time.
	if got, sent := at(10300*time.Millisecond, 500*time.Millisecond), boot.Add(10800*time.Millisecond); got.After(sent) {
		t.Errorf("capture %v after the packet was sent %v", got, sent)
	}
	// The fast sample ages out after two windows: the estimate then
	// follows the recent best (here 20 ms).
	for up := 11 * time.Second; up < 11*time.Second+2*uptimeWindow+time.Second; up += time.Second {
		at(up, 20*time.Millisecond)
	}
	up := 12*time.Second + 2*uptimeWindow
	if got := at(up, 60*time.Millisecond); !got.Equal(boot.Add(up + 20*time.Millisecond)) {
		t.Errorf("after the window: capture %v late, want 20 ms", got.Sub(boot.Add(up)))
	}
	// A reboot: uptime goes back. The new boot is 100 s later.
	boot = boot.Add(100 * time.Second)
	if got := at(2*time.Second, 30*time.Millisecond); !got.Equal(boot.Add(2*time.Second + 30*time.Millisecond)) {
		t.Errorf("after a reboot: capture %v", got.Sub(boot))
	}
	// Out-of-order uptimes within the slack (a JSON message's send time,
	// then an earlier capture time) are not a reboot.
	at(5*time.Second, 10*time.Millisecond)
	if got := at(4*time.Second, 300*time.Millisecond); !got.Equal(boot.Add(4*time.Second + 10*time.Millisecond)) {
		t.Errorf("out of order: capture %v", got.Sub(boot))
	}
	// An absurd uptime gives no capture time.
	if got := c.observe(1<<63, boot); !got.IsZero() {
		t.Errorf("absurd uptime: %v", got)
	}
}

// An unplugged adapter or a closed pty shows up either as the driver's
// PortClosed or as the errno the read met first; both are logged as the
// same clear hang-up, and other errors pass through as they are.
func TestSerialReadErrorNamesEveryHangUp(t *testing.T) {
	for _, err := range []error{
		syscall.EIO,
		fmt.Errorf("read: %w", syscall.EIO),
		syscall.ENXIO,
		syscall.ENODEV,
	} {
		if got := serialReadError(err); got != errSerialHangup {
			t.Errorf("serialReadError(%v) = %v, want the hang-up", err, got)
		}
	}
	other := errors.New("framing noise")
	if got := serialReadError(other); got != other {
		t.Errorf("serialReadError(%v) = %v, want it unchanged", other, got)
	}
}
