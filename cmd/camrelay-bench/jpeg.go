package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"time"
)

// The bench's frames imitate what an ESP32-CAM with an OV2640 sends at VGA:
// a 640x480 baseline JPEG of about 35 KB.
const (
	frameWidth  = 640
	frameHeight = 480
	// targetFrameBytes is the size the encoder's quality is tuned to.
	targetFrameBytes = 35_000
	// frameVariants is how many different pictures the pusher cycles
	// through, so that no layer can get away with caching one frame.
	frameVariants = 4
)

// The stamp is a JPEG comment segment (COM, FF FE; ITU T.81 §B.2.4.5)
// inserted right after SOI. Decoders skip comments, so a stamped frame is
// still a valid JPEG, and every receiver reads the frame's sequence number
// and its send time from the frame itself, with no side channel.
const (
	stampMagic = "CRBENCH1"
	// stampPayloadLen is the magic, the sequence number and the send time
	// (Unix nanoseconds), both big-endian uint64.
	stampPayloadLen = len(stampMagic) + 8 + 8
	// stampLen is the whole segment: marker (2), length field (2), payload.
	// The length field counts itself and the payload (T.81 §B.1.1.4).
	stampLen = 4 + stampPayloadLen
)

// stamp is what a frame's COM segment carries.
type stamp struct {
	// Seq is the pusher's sequence number, from 1.
	Seq uint64
	// Sent is when the pusher handed the frame to its socket.
	Sent time.Time
}

// errNoStamp is returned by readStamp for a buffer without the bench's COM
// segment right after SOI.
var errNoStamp = errors.New("no bench stamp after SOI")

// stampFrame returns a new buffer holding base (a JPEG from SOI to EOI)
// with the COM segment for st inserted right after SOI. base is not
// modified, so one base serves every frame.
func stampFrame(base []byte, st stamp) ([]byte, error) {
	if len(base) < 4 || base[0] != 0xFF || base[1] != 0xD8 {
		return nil, errors.New("stamp frame: base does not start with SOI")
	}
	out := make([]byte, 0, len(base)+stampLen)
	out = append(out, 0xFF, 0xD8, 0xFF, 0xFE)
	out = binary.BigEndian.AppendUint16(out, uint16(2+stampPayloadLen))
	out = append(out, stampMagic...)
	out = binary.BigEndian.AppendUint64(out, st.Seq)
	out = binary.BigEndian.AppendUint64(out, uint64(st.Sent.UnixNano()))
	return append(out, base[2:]...), nil
}

// readStamp extracts the stamp that stampFrame inserted. It reads only the
// first stampLen+2 bytes, so it is cheap enough to run on every received
// frame.
func readStamp(b []byte) (stamp, error) {
	if len(b) < 2+stampLen || b[0] != 0xFF || b[1] != 0xD8 || b[2] != 0xFF || b[3] != 0xFE {
		return stamp{}, errNoStamp
	}
	if int(binary.BigEndian.Uint16(b[4:6])) != 2+stampPayloadLen || string(b[6:6+len(stampMagic)]) != stampMagic {
		return stamp{}, errNoStamp
	}
	p := b[6+len(stampMagic):]
	return stamp{
		Seq:  binary.BigEndian.Uint64(p[0:8]),
		Sent: time.Unix(0, int64(binary.BigEndian.Uint64(p[8:16]))),
	}, nil
}

// endsWithEOI reports whether b ends with the JPEG EOI marker (FF D9).
func endsWithEOI(b []byte) bool {
	return len(b) >= 2 && b[len(b)-2] == 0xFF && b[len(b)-1] == 0xD9
}

// makeBaseFrames encodes n different 640x480 pictures with image/jpeg at
// the one quality whose output size comes closest to targetFrameBytes on
// average. It returns the frames and that quality.
func makeBaseFrames(n int) ([][]byte, int, error) {
	imgs := make([]image.Image, n)
	for i := range imgs {
		imgs[i] = testPicture(uint64(i))
	}
	encodeAll := func(q int) ([][]byte, int, error) {
		out := make([][]byte, n)
		total := 0
		for i, img := range imgs {
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
				return nil, 0, fmt.Errorf("encode picture %d at quality %d: %w", i, q, err)
			}
			out[i] = buf.Bytes()
			total += buf.Len()
		}
		return out, total / n, nil
	}
	// The size grows with the quality, so bisect on it.
	lo, hi := 1, 100
	for lo < hi {
		mid := (lo + hi) / 2
		_, size, err := encodeAll(mid)
		if err != nil {
			return nil, 0, err
		}
		if size < targetFrameBytes {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	best, bestQ, bestDiff := [][]byte(nil), 0, 0
	for _, q := range []int{max(1, lo-1), lo} {
		frames, size, err := encodeAll(q)
		if err != nil {
			return nil, 0, err
		}
		if d := abs(size - targetFrameBytes); best == nil || d < bestDiff {
			best, bestQ, bestDiff = frames, q, d
		}
	}
	return best, bestQ, nil
}

// testPicture draws a deterministic picture with about the detail of a
// camera frame of an indoor scene: smooth gradients, a few hard-edged
// shapes, and sensor-like noise so that the encoder cannot squeeze it to
// nothing.
func testPicture(seed uint64) image.Image {
	rng := rand.New(rand.NewPCG(seed, 0x6a09e667f3bcc908))
	img := image.NewYCbCr(image.Rect(0, 0, frameWidth, frameHeight), image.YCbCrSubsampleRatio420)
	type box struct{ x0, y0, x1, y1, y int }
	boxes := make([]box, 12)
	for i := range boxes {
		x, y := rng.IntN(frameWidth), rng.IntN(frameHeight)
		boxes[i] = box{x, y, x + 40 + rng.IntN(200), y + 30 + rng.IntN(150), rng.IntN(256)}
	}
	for y := range frameHeight {
		for x := range frameWidth {
			v := 40 + (x*120)/frameWidth + (y*60)/frameHeight
			for _, b := range boxes {
				if x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1 {
					v = b.y
				}
			}
			v += rng.IntN(25) - 12
			img.Y[img.YOffset(x, y)] = clampByte(v)
		}
	}
	for y := range frameHeight / 2 {
		for x := range frameWidth / 2 {
			i := img.COffset(x*2, y*2)
			img.Cb[i] = clampByte(128 + (x-160)/4 + rng.IntN(7) - 3)
			img.Cr[i] = clampByte(128 + (y-120)/4 + rng.IntN(7) - 3)
		}
	}
	return img
}

func clampByte(v int) uint8 {
	return uint8(min(255, max(0, v)))
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
