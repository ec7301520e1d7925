package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/camrelay/camrelay/internal/control"
	"github.com/camrelay/camrelay/internal/source"
	"github.com/camrelay/camrelay/internal/testpattern"
)

// camera is one simulated board. Its settings outlive a link, as a board's
// do across WiFi reconnects. One goroutine at a time runs it: run, and
// within it session, own every field.
type camera struct {
	id          string
	fw          string
	fullFPS     int
	maxSize     int // index into control.FrameSizes
	statusEvery time.Duration
	log         *slog.Logger

	size     int           // index into control.FrameSizes
	quality  int           // the sensor's scale: 0..63, lower is better
	led      int           // 0..255
	interval time.Duration // between frames: full rate or the idle rate
	pattern  *testpattern.Pattern
	frameNum uint64
	sent     int // frames sent since the last status
}

// cameraOptions configure a camera.
type cameraOptions struct {
	ID, FW         string
	FPS            int
	FrameSize      string // a control.FrameSizes name
	MaxFrameSize   string
	StatusEvery    time.Duration
	Log            *slog.Logger
	InitialQuality int // the sensor's scale, 0..63
}

// newCamera returns a camera at full rate with the given frame size.
func newCamera(o cameraOptions) (*camera, error) {
	c := &camera{
		id:          o.ID,
		fw:          o.FW,
		fullFPS:     o.FPS,
		size:        control.FrameSizeIndex(o.FrameSize),
		maxSize:     control.FrameSizeIndex(o.MaxFrameSize),
		quality:     o.InitialQuality,
		statusEvery: o.StatusEvery,
		log:         o.Log,
	}
	if err := c.newPattern(); err != nil {
		return nil, err
	}
	return c, nil
}

// newPattern renders the test pattern for the current frame size and
// quality. The pattern's encoder works in 16x16 blocks, so the picture is
// drawn at the size rounded up to a multiple of 16 and the frame header
// then states the real size: a decoder crops the extra rows and columns
// (ITU T.81 §A.2.1), so SVGA comes out 800x600 as from the sensor.
func (c *camera) newPattern() error {
	fs := control.FrameSizes[c.size]
	p, err := testpattern.New(testpattern.Options{
		Width:   roundUp16(fs.Width),
		Height:  roundUp16(fs.Height),
		Quality: jpegQuality(c.quality),
		Label:   c.id + " " + fs.Name,
	})
	if err != nil {
		return fmt.Errorf("test pattern %s: %w", fs.Name, err)
	}
	p.SetLED(c.led > 0)
	c.pattern = p
	return nil
}

func roundUp16(v int) int { return (v + 15) / 16 * 16 }

// jpegQuality maps the sensor's quality (0..63, lower is better; boards
// use 10 to 12) to the encoder's 1..100.
func jpegQuality(q int) int { return max(1, 100-q*95/63) }

// render returns the next frame.
func (c *camera) render(now time.Time) []byte {
	c.frameNum++
	b := c.pattern.Render(c.frameNum, now)
	fs := control.FrameSizes[c.size]
	if fs.Width%16 != 0 || fs.Height%16 != 0 {
		setJPEGSize(b, fs.Width, fs.Height)
	}
	return b
}

// setJPEGSize writes width and height into b's start-of-frame header.
func setJPEGSize(b []byte, width, height int) {
	for i := 2; i+9 <= len(b) && b[i] == 0xFF; {
		m := b[i+1]
		if m >= 0xC0 && m <= 0xC2 { // SOF0, SOF1, SOF2
			binary.BigEndian.PutUint16(b[i+5:], uint16(height))
			binary.BigEndian.PutUint16(b[i+7:], uint16(width))
			return
		}
		if m == 0xDA {
			return
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
}

// hello is the first message on every link.
func (c *camera) hello() []byte {
	b, _ := json.Marshal(map[string]any{
		"type": "hello", "fw": c.fw, "board": "camsim", "sensor": "OV2640",
		"framesize": control.FrameSizes[c.size].Name, "psram": true, "reset": "POWERON",
	})
	return b
}

// status is the periodic report: signal, free heap (made up, in the range
// of an ESP32 with PSRAM), the frame rate sent since the last report.
func (c *camera) status(elapsed time.Duration) []byte {
	fps := 0.0
	if elapsed > 0 {
		fps = float64(c.sent) / elapsed.Seconds()
	}
	c.sent = 0
	b, _ := json.Marshal(map[string]any{
		"type": "status", "rssi": -55 - rand.IntN(6), "heap": 180000 + rand.IntN(8000),
		"fps": float64(int(fps*10+0.5)) / 10, "failed": 0,
	})
	return b
}

// handle answers one message from the gateway: an ack for a control
// command, nothing for demand and for anything it does not know.
func (c *camera) handle(msg []byte) []byte {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(msg, &head); err != nil {
		c.log.Debug("message from the gateway ignored: not JSON", "bytes", len(msg))
		return nil
	}
	switch head.Type {
	case "control":
		return c.control(msg)
	case "demand":
		c.demand(msg)
	default:
		c.log.Debug("message from the gateway ignored", "type", head.Type)
	}
	return nil
}

// control applies a control command all or nothing and returns its ack.
func (c *camera) control(msg []byte) []byte {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(msg, &fields) // msg is a JSON object: handle checked
	var id uint64
	_ = json.Unmarshal(fields["id"], &id)
	ack := control.Ack{Type: "ack", ID: id}
	delete(fields, "type")
	delete(fields, "id")
	settings, err := c.check(fields)
	if err == nil {
		err = c.apply(settings)
	}
	if err != nil {
		ack.Error = err.Error()
		c.log.Info("control refused", "id", id, "err", err)
	} else {
		ack.OK = true
		ack.Applied, _ = json.Marshal(settings)
		c.log.Info("control applied", "id", id, "applied", string(ack.Applied))
	}
	b, _ := json.Marshal(ack)
	return b
}

// check validates settings the way the firmware does: every key known,
// every value in range, the frame size no larger than the sensor's.
func (c *camera) check(fields map[string]json.RawMessage) (control.Settings, error) {
	raw, _ := json.Marshal(fields)
	s, err := control.Parse(raw)
	if err != nil {
		return s, err
	}
	if s.FrameSize != nil {
		if i := control.FrameSizeIndex(*s.FrameSize); i > c.maxSize {
			return s, fmt.Errorf("framesize %s is larger than this camera's largest, %s",
				*s.FrameSize, control.FrameSizes[c.maxSize].Name)
		}
	}
	return s, nil
}

// apply changes the camera's settings. Frame size, quality and the LED
// change the picture; brightness, contrast, saturation and the flips are
// accepted and acknowledged but do not.
func (c *camera) apply(s control.Settings) error {
	size, quality := c.size, c.quality
	if s.FrameSize != nil {
		size = control.FrameSizeIndex(*s.FrameSize)
	}
	if s.Quality != nil {
		quality = *s.Quality
	}
	if s.LED != nil {
		c.led = *s.LED
		c.pattern.SetLED(c.led > 0)
	}
	if size != c.size || quality != c.quality {
		oldSize, oldQuality := c.size, c.quality
		c.size, c.quality = size, quality
		if err := c.newPattern(); err != nil {
			c.size, c.quality = oldSize, oldQuality
			return err
		}
	}
	return nil
}

// maxIdleInterval bounds the idle rate from below: one frame a minute
// keeps the snapshot fresh enough.
const maxIdleInterval = time.Minute

// demand switches between full rate and the idle rate the gateway asks
// for while nobody watches (idle_fps, default 1; it may be below 1).
func (c *camera) demand(msg []byte) {
	var d struct {
		Rate    string   `json:"rate"`
		IdleFPS *float64 `json:"idle_fps"`
	}
	if err := json.Unmarshal(msg, &d); err != nil {
		return
	}
	full := time.Second / time.Duration(c.fullFPS)
	switch d.Rate {
	case "idle":
		c.interval = time.Second
		if d.IdleFPS != nil && *d.IdleFPS > 0 {
			c.interval = time.Duration(float64(time.Second) / *d.IdleFPS)
		}
		c.interval = min(max(c.interval, full), maxIdleInterval)
	case "full":
		c.interval = full
	default:
		c.log.Debug("demand ignored: unknown rate", "rate", d.Rate)
		return
	}
	c.log.Info("demand", "rate", d.Rate, "fps", float64(time.Second)/float64(c.interval))
}

// stableLink is how long a link must last for the next failure to start
// the backoff from its minimum again.
const stableLink = 10 * time.Second

// run keeps the camera connected until ctx ends: dial, serve the link,
// back off with jitter, dial again.
func (c *camera) run(ctx context.Context, dial dialer) error {
	b := source.Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second}
	failing := false
	for {
		start := time.Now()
		l, err := dial(ctx)
		if err == nil {
			c.log.Info("connected")
			failing = false
			err = c.session(ctx, l)
		}
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > stableLink {
			b.Reset()
		}
		d := b.Next()
		if !failing {
			c.log.Warn("link down, reconnecting", "err", err, "retry_in", d.Round(time.Millisecond))
		} else {
			c.log.Debug("still no link", "err", err, "retry_in", d.Round(time.Millisecond))
		}
		failing = true
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// commandQueue bounds the commands read but not yet handled; the gateway
// waits for each control ack, so a few are plenty.
const commandQueue = 8

// session serves one link: hello, then frames at the current rate, a
// status every statusEvery, and an answer to every command, all written
// from this goroutine; a second one reads. It returns when the link fails
// or ctx ends.
func (c *camera) session(ctx context.Context, l link) error {
	// A new link starts at full rate: the gateway says again if nobody
	// watches.
	c.interval = time.Second / time.Duration(c.fullFPS)
	// Reads and writes do not end with ctx: the library would drop the
	// connection at once, and camsim says goodbye with a close frame
	// instead. Writes have their own timeout; Close ends the reads.
	wctx := context.WithoutCancel(ctx)
	rctx, cancel := context.WithCancel(wctx)
	cmds := make(chan []byte, commandQueue)
	readErr := make(chan error, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			msg, err := l.Receive(rctx)
			if err != nil {
				readErr <- err
				return
			}
			select {
			case cmds <- msg:
			case <-rctx.Done():
				return
			}
		}
	}()
	defer func() {
		l.Close()
		cancel()
		<-readDone
	}()

	if err := l.SendText(wctx, c.hello()); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	frames := time.NewTicker(c.interval)
	defer frames.Stop()
	status := time.NewTicker(c.statusEvery)
	defer status.Stop()
	lastStatus := time.Now()
	c.sent = 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			return fmt.Errorf("link lost: %w", err)
		case msg := <-cmds:
			interval := c.interval
			if reply := c.handle(msg); reply != nil {
				if err := l.SendText(wctx, reply); err != nil {
					return fmt.Errorf("send ack: %w", err)
				}
			}
			if c.interval != interval {
				frames.Reset(c.interval)
			}
		case now := <-frames.C:
			if err := l.SendFrame(wctx, c.render(now)); err != nil {
				return fmt.Errorf("send frame: %w", err)
			}
			c.sent++
		case now := <-status.C:
			if err := l.SendText(wctx, c.status(now.Sub(lastStatus))); err != nil {
				return fmt.Errorf("send status: %w", err)
			}
			lastStatus = now
		}
	}
}
