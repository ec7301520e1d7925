package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.bug.st/serial"

	"github.com/camrelay/camrelay/internal/camlink"
	"github.com/camrelay/camrelay/internal/control"
)

// DefaultBaud is the UART line rate unless configured: the firmware's
// default, which CH340, CP2102N and FTDI adapters carry (a plain CP2102
// stops at 921,600; ../shared/FIRMWARE.md §5.6).
const DefaultBaud = 2_000_000

// MaxSerialMessage is the largest JSON message Send writes down the line:
// the firmware reads a downlink packet into a fixed buffer of this size
// plus camlink.Overhead.
const MaxSerialMessage = 4 << 10

// serialNoiseEvery is how often skipped bytes and rejected packets are
// logged: one line per interval with the counts, never one per byte.
const serialNoiseEvery = time.Minute

// serialDemandTimeout bounds the write of a demand message.
const serialDemandTimeout = 2 * time.Second

// Serial is a camera on a UART link (docs/UART.md): the board writes framed
// camlink packets, JPEG frames and JSON messages, on its serial line, and
// reads JSON commands from it. Run opens the port and reads until the port
// fails or ctx ends; the Supervisor reopens it with backoff. Send, Control
// and Demand write to the camera while Run is connected.
//
// The configuration fields must not change while Run runs. Run, Send,
// Control and Demand may be called concurrently, but only one Run at a
// time.
type Serial struct {
	// Device is the serial device, e.g. /dev/ttyUSB0, or better a stable
	// /dev/serial/by-id/... name.
	Device string
	// Baud is the line rate in bit/s, 8N1, up to 3,000,000 (4,000,000 where
	// the adapter can). Zero means DefaultBaud.
	Baud int
	// MaxFrame is the largest frame accepted, in bytes; it is also the
	// largest payload the packet reader accepts. Zero means
	// DefaultMaxFrame.
	MaxFrame int64
	// Log receives lifecycle messages and the aggregated line-noise
	// report. Nil means slog.Default().
	Log *slog.Logger

	// open opens the port; nil means serial.Open. Tests replace it.
	open func(dev string, mode *serial.Mode) (serial.Port, error)

	mu   sync.Mutex
	link *serialLink // the open port while Run is connected

	idle atomic.Bool // the camera should run at its idle rate
	acks acks        // control commands awaiting their ack
}

var (
	_ Runner   = (*Serial)(nil)
	_ Demander = (*Serial)(nil)
)

// serialLink is one opened port. Writers take the token, so that packets
// never interleave; Run takes it for good before it closes the port, so
// that no write can reach a closed (and maybe reused) file descriptor.
type serialLink struct {
	port   serial.Port
	device string
	token  chan struct{} // holds one token while nobody writes
	closed chan struct{} // closed when Run stops using the port
	seq    uint32        // the next downlink sequence number; guarded by token
}

// Run opens the port and delivers the camera's frames and messages until the
// port fails or ctx ends. It returns nil when ctx ends.
func (s *Serial) Run(ctx context.Context, sink Sink) error {
	log := s.logger()
	if s.Device == "" {
		return errors.New("serial: no device configured")
	}
	baud := s.Baud
	if baud <= 0 {
		baud = DefaultBaud
	}
	maxFrame := s.MaxFrame
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}

	port, err := s.openPort(baud)
	if err != nil {
		return fmt.Errorf("open serial %s: %w", s.Device, err)
	}
	l := &serialLink{port: port, device: s.Device, token: make(chan struct{}, 1), closed: make(chan struct{})}
	l.token <- struct{}{}
	s.mu.Lock()
	s.link = l
	s.mu.Unlock()
	log.Info("serial port open", "device", s.Device, "baud", baud)
	sink.Connected()

	rd := camlink.NewReader(port, &camlink.ReaderOptions{
		MaxPayload: int(min(maxFrame, math.MaxInt32)),
		OnDrop:     func(d camlink.Drop) { sink.Dropped(d.String()) },
	})
	readDone := make(chan error, 1)
	go func() {
		r := serialReader{s: s, sink: sink, log: log, maxFrame: maxFrame, baud: baud}
		readDone <- r.run(rd)
	}()

	tick := time.NewTicker(serialNoiseEvery)
	defer tick.Stop()
	var reported camlink.Stats
	var readErr error
	stopped := false
wait:
	for {
		select {
		case <-ctx.Done():
			stopped = true
			break wait
		case readErr = <-readDone:
			readDone = nil
			break wait
		case <-tick.C:
			reported = reportSerialNoise(log, rd.Stats(), reported)
		}
	}
	s.detach(l) // closing the port ends a Read in progress
	if readDone != nil {
		<-readDone
	}
	reportSerialNoise(log, rd.Stats(), reported)
	if stopped {
		log.Debug("serial port closed", "device", s.Device)
		return nil
	}
	return fmt.Errorf("read serial %s: %w", s.Device, serialReadError(readErr))
}

func (s *Serial) logger() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// openPort opens the device at baud, 8N1, with DTR and RTS left
// de-asserted.
//
// An ESP32-CAM programmer (ESP32-CAM-MB, or any adapter with the usual
// two-transistor auto-reset circuit) wires DTR and RTS to EN and GPIO0: a
// host that toggles them resets the board or holds it in the ROM
// bootloader. What go.bug.st/serial v1.8.0 does on Linux
// (serial_unix.go, nativeOpen): it opens the device with
// O_RDWR|O_NOCTTY|O_NDELAY, sets raw mode with RTS/CTS flow control off,
// then, only when Mode.InitialStatusBits is not nil, reads the modem bits
// (TIOCMGET) and writes DTR and RTS together in one TIOCMSET, then sets
// the speed. With InitialStatusBits nil it never touches them. It calls
// SetDTR/SetRTS nowhere else; this source never calls them either.
//
// The kernel itself, though, raises DTR and RTS inside open(2) on the
// first open of a port whose speed is not B0 (tty_port_block_til_ready in
// drivers/tty/tty_port.c), and lowers them on the last close when HUPCL is
// set (tty_port_shutdown). No user-space option avoids that pulse, as the
// library's ModemOutputBits comment also says. Both lines move together in
// that pulse, which the two-transistor circuit ignores (it pulls EN or
// GPIO0 low only while DTR and RTS differ). So the port is opened with
// InitialStatusBits {DTR: false, RTS: false}: the lines are brought back
// to de-asserted at once, together in one ioctl, and stay there for as
// long as the port is open. A board whose adapter wires RTS straight to EN
// may still see one reset per open; the firmware expects that.
//
// A pseudo-terminal, or an adapter without modem-control lines, refuses
// TIOCMGET with ENOTTY; go.bug.st/serial then fails the open. Such a port
// has no lines to toggle, so it is opened again without InitialStatusBits.
func (s *Serial) openPort(baud int) (serial.Port, error) {
	open := s.open
	if open == nil {
		open = serial.Open
	}
	mode := &serial.Mode{
		BaudRate:          baud,
		DataBits:          8,
		Parity:            serial.NoParity,
		StopBits:          serial.OneStopBit,
		InitialStatusBits: &serial.ModemOutputBits{DTR: false, RTS: false},
	}
	port, err := open(s.Device, mode)
	if err != nil && noModemLines(err) {
		mode.InitialStatusBits = nil
		port, err = open(s.Device, mode)
	}
	if err != nil {
		return nil, serialOpenError(err)
	}
	return port, nil
}

// noModemLines reports whether go.bug.st/serial failed to open a port
// because the port has no modem-control lines. The library wraps the
// ioctl's error in a PortError without Unwrap, so its text is all there is.
func noModemLines(err error) bool {
	var pe *serial.PortError
	return errors.As(err, &pe) && pe.Code() == serial.InvalidSerialPort &&
		strings.Contains(pe.Error(), "modem bits status")
}

// serialOpenError adds the usual fix to the library's terse open errors.
// A missing device comes back from the library as the bare errno, which
// reads "no such file or directory".
func serialOpenError(err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) {
		switch pe.Code() {
		case serial.PermissionDenied:
			return fmt.Errorf("%w (is the gateway's user in the dialout group?)", err)
		case serial.PortBusy:
			return fmt.Errorf("%w (another program has it open)", err)
		}
	}
	return err
}

// errSerialHangup is a port that went away under the reader: the USB
// adapter was unplugged, or the other end of a pseudo-terminal closed.
var errSerialHangup = errors.New("device hung up (adapter unplugged?)")

func serialReadError(err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) && pe.Code() == serial.PortClosed {
		return errSerialHangup
	}
	// The driver reports a hang-up it saw itself as PortClosed; one the
	// read meets first comes as the kernel's errno: EIO from a pty whose
	// other end closed or a USB adapter being unplugged, ENXIO or ENODEV
	// once the device node is gone.
	if errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENODEV) {
		return errSerialHangup
	}
	return err
}

// detach takes l away from Send, waits for a write in progress and closes
// the port. The wait is bounded by the line rate: flow control is off, so
// a UART always drains (a 4 KiB message takes 0.36 s at 115,200 baud),
// and a vanished USB adapter fails the write at once.
func (s *Serial) detach(l *serialLink) {
	s.mu.Lock()
	if s.link == l {
		s.link = nil
	}
	s.mu.Unlock()
	close(l.closed)
	<-l.token // never given back: the port is closed for good
	_ = l.port.Close()
}

// Send writes msg, one JSON object, down the line as a camlink JSON packet.
// It returns control.ErrOffline while the port is not open. A write in
// progress is not interrupted by ctx; it takes at most msg's time on the
// line.
func (s *Serial) Send(ctx context.Context, msg []byte) error {
	if len(msg) > MaxSerialMessage {
		return fmt.Errorf("serial message of %d bytes: larger than %d", len(msg), MaxSerialMessage)
	}
	if !json.Valid(msg) {
		return errors.New("serial message is not valid JSON")
	}
	s.mu.Lock()
	l := s.link
	s.mu.Unlock()
	if l == nil {
		return control.ErrOffline
	}
	select {
	case <-l.token:
	case <-l.closed:
		return control.ErrOffline
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { l.token <- struct{}{} }()
	select {
	case <-l.closed:
		return control.ErrOffline
	default:
	}
	pkt := camlink.Encode(camlink.Packet{Type: camlink.TypeJSON, Seq: l.seq, Payload: msg})
	l.seq++
	for len(pkt) > 0 {
		n, err := l.port.Write(pkt)
		if err != nil {
			return fmt.Errorf("write serial %s: %w", l.device, err)
		}
		if n <= 0 {
			return fmt.Errorf("write serial %s: no progress", l.device)
		}
		pkt = pkt[n:]
	}
	return nil
}

// Control sends settings to the camera as a JSON command with a fresh id
// and waits for its ack or for ctx to end, as Push does.
func (s *Serial) Control(ctx context.Context, set control.Settings) (control.Ack, error) {
	return s.acks.control(ctx, set, s.Send)
}

// Demand records the wanted rate and tells the camera if the port is open.
// A camera that says hello later (it booted) is told again.
func (s *Serial) Demand(full bool) {
	s.idle.Store(!full)
	s.sendDemand(full)
}

func (s *Serial) sendDemand(full bool) {
	rate := "idle"
	if full {
		rate = "full"
	}
	ctx, cancel := context.WithTimeout(context.Background(), serialDemandTimeout)
	defer cancel()
	msg, _ := json.Marshal(struct {
		Type string `json:"type"`
		Rate string `json:"rate"`
	}{"demand", rate})
	if err := s.Send(ctx, msg); err != nil {
		s.logger().Debug("demand not sent", "rate", rate, "err", err)
	}
}

// serialReader is the goroutine of one Run that turns packets into frames
// and messages; it owns the uptime clock and the sequence tracking.
type serialReader struct {
	s        *Serial
	sink     Sink
	log      *slog.Logger
	maxFrame int64
	baud     int

	clock   uptimeClock
	seq     uint32
	haveSeq bool
}

func (r *serialReader) run(rd *camlink.Reader) error {
	for {
		p, err := rd.Next()
		if err != nil {
			return err
		}
		now := time.Now()
		r.sequence(p.Seq)
		var captured time.Time
		if p.HasUptime() {
			// The packet's first byte left the camera no later than its
			// time on the wire before now (8N1: 10 bits a byte).
			wire := time.Duration(len(p.Payload)+camlink.Overhead) * 10 * time.Second / time.Duration(r.baud)
			captured = r.clock.observe(p.Uptime, now.Add(-wire))
		}
		switch p.Type {
		case camlink.TypeJPEG:
			if err := Deliver(r.sink, p.Payload, r.maxFrame, now, captured); err != nil {
				r.log.Debug("frame dropped", "err", err, "bytes", len(p.Payload), "seq", p.Seq)
			}
		case camlink.TypeJSON:
			r.message(p.Payload)
		default:
			// A newer firmware's packet type: skipped, not an error.
			r.sink.Dropped("unknown_type")
			r.log.Debug("packet of unknown type skipped", "type", uint8(p.Type), "bytes", len(p.Payload))
		}
	}
}

// sequence notes gaps in the camera's sequence numbers. A camera starts
// again from 0 when it boots: its uptime starts again too.
func (r *serialReader) sequence(seq uint32) {
	switch {
	case !r.haveSeq:
	case seq == 0 && r.seq != math.MaxUint32:
		r.clock.reset()
		r.log.Info("camera restarted", "last_seq", r.seq)
	case seq != r.seq+1:
		r.log.Debug("camera packets missing", "from_seq", r.seq+1, "to_seq", seq-1)
	}
	r.seq, r.haveSeq = seq, true
}

// message handles a JSON message from the camera. One that is not a JSON
// object with a string "type" is counted and ignored: the link stays up.
func (r *serialReader) message(data []byte) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.Type == "" {
		r.sink.Dropped("bad_message")
		r.log.Debug("camera message ignored: not a JSON object with a type", "bytes", len(data))
		return
	}
	switch head.Type {
	case "ack":
		r.s.acks.deliver(data)
	case "hello":
		// A camera boots at full rate: tell it at once if nobody
		// watches.
		if r.s.idle.Load() {
			r.s.sendDemand(false)
		}
	}
	r.sink.Message(head.Type, json.RawMessage(data))
}

// reportSerialNoise logs what the reader skipped since the last report:
// one line per interval. Skipped text alone (boot and log lines) is
// Info; rejected packets make it a warning.
func reportSerialNoise(log *slog.Logger, now, last camlink.Stats) camlink.Stats {
	garbage := now.Garbage - last.Garbage
	badHeader := now.BadHeader - last.BadHeader
	tooLarge := now.TooLarge - last.TooLarge
	badCRC := now.BadCRC - last.BadCRC
	truncated := now.Truncated - last.Truncated
	if garbage == 0 {
		return now
	}
	level := slog.LevelInfo
	msg := "serial line: bytes outside packets skipped (boot or log text?)"
	if badHeader+tooLarge+badCRC+truncated > 0 {
		level = slog.LevelWarn
		msg = "serial line: damaged packets dropped"
	}
	log.Log(context.Background(), level, msg,
		"skipped_bytes", garbage, "bad_header", badHeader, "too_large", tooLarge,
		"bad_crc", badCRC, "truncated", truncated, "packets", now.Packets-last.Packets)
	return now
}

// Parameters of the uptime clock.
const (
	// uptimeWindow is the length of each of the clock's two windows: the
	// estimate is the best of the last 30 to 60 s, long enough to catch a
	// packet that went out at once, short enough that the crystals'
	// drift (ESP32: tens of ppm, about 1 ms a minute) does not matter.
	uptimeWindow = 30 * time.Second
	// uptimeSlack is how far an uptime may go backwards without meaning a
	// reboot: a JPEG carries its capture time, a JSON message its sending
	// time, so they interleave out of order by the camera's queue.
	uptimeSlack = 2 * time.Second
	// maxUptime is beyond any real uptime (100 years): a larger value is
	// not converted, so that it cannot overflow.
	maxUptime = 100 * 365 * 24 * time.Hour
)

// uptimeClock maps the camera's uptime (microseconds since its boot) to the
// gateway's clock. Each packet with an uptime gives a sample of the
// gateway time at which the camera booted: sent − uptime, where sent is
// the receive time minus the packet's time on the wire. Every delay
// (queueing on the camera, the USB adapter's latency timer) only makes a
// sample later, never earlier, so the earliest sample of a recent window
// is the best estimate: min over the window of (sent − uptime). A capture
// time is then boot + uptime, never after the frame's receive time. The
// estimate starts over when the camera reboots (its uptime goes back).
// Not safe for concurrent use: one Run's reader owns it.
type uptimeClock struct {
	cur, prev time.Time // earliest boot sample of the current and the previous window
	curStart  time.Time // when the current window began
	last      time.Duration
}

// reset forgets every sample: the camera rebooted.
func (c *uptimeClock) reset() { *c = uptimeClock{} }

// observe adds the sample of a packet sent at sent (gateway clock) with the
// given uptime and returns that uptime in the gateway's clock, or the zero
// time when the uptime is implausible.
func (c *uptimeClock) observe(uptimeMicros uint64, sent time.Time) time.Time {
	if uptimeMicros > uint64(maxUptime/time.Microsecond) {
		return time.Time{}
	}
	up := time.Duration(uptimeMicros) * time.Microsecond
	boot := sent.Add(-up)
	switch {
	case c.cur.IsZero() || up+uptimeSlack < c.last:
		*c = uptimeClock{cur: boot, curStart: sent}
	case sent.Sub(c.curStart) >= uptimeWindow:
		c.prev, c.cur, c.curStart = c.cur, boot, sent
	case boot.Before(c.cur):
		c.cur = boot
	}
	c.last = up
	est := c.cur
	if !c.prev.IsZero() && c.prev.Before(est) {
		est = c.prev
	}
	return est.Add(up)
}
