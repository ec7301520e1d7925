// Package frame holds the immutable JPEG frame that flows from a camera's
// source through its hub to every viewer, and the checks a frame must pass
// before it is published.
package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Frame is one JPEG picture from a camera. A Frame is immutable once it has
// been published: its Data is shared by every viewer and must never be
// modified, so it is safe for concurrent use by any number of readers.
type Frame struct {
	// Seq is the hub's sequence number, starting at 1 and increasing by one
	// per published frame of a camera. Zero before publishing.
	Seq uint64
	// Data is the complete JPEG, from FFD8 to FFD9.
	Data []byte
	// Received is when the gateway received the last byte of the frame.
	Received time.Time
	// Captured is when the camera captured the frame, in the gateway's
	// clock, where the link carries a capture time; zero otherwise.
	Captured time.Time
	// Width and Height are read from the JPEG's start-of-frame header;
	// zero when the header could not be found.
	Width, Height int
}

// Reasons a frame is rejected. Each is a sentinel so that callers can count
// rejections by reason with errors.Is; Reason gives the metric label.
var (
	ErrEmpty     = errors.New("frame is empty")
	ErrTooLarge  = errors.New("frame is larger than the limit")
	ErrNotJPEG   = errors.New("frame does not start with a JPEG SOI marker (FFD8)")
	ErrTruncated = errors.New("frame does not end with a JPEG EOI marker (FFD9)")
)

// Check reports whether b is acceptable as a frame: not empty, at most max
// bytes (no limit when max <= 0), starting with FFD8 and ending with FFD9.
// It does not decode the picture: a full decode per frame would cost more
// than the rest of the relay together.
func Check(b []byte, max int64) error {
	switch {
	case len(b) == 0:
		return ErrEmpty
	case max > 0 && int64(len(b)) > max:
		return fmt.Errorf("%w: %d > %d bytes", ErrTooLarge, len(b), max)
	case len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8:
		return ErrNotJPEG
	}
	// Some encoders pad the end with zeros or a stray CR/LF after EOI
	// (MJPEG parts cut by Content-Length can carry the part's CRLF), so
	// look for EOI among the last few bytes rather than at the very end.
	tail := b[len(b)-min(len(b), 8):]
	for i := len(tail) - 2; i >= 0; i-- {
		if tail[i] == 0xFF && tail[i+1] == 0xD9 {
			for _, c := range tail[i+2:] {
				if c != 0 && c != '\r' && c != '\n' {
					return ErrTruncated
				}
			}
			return nil
		}
	}
	return ErrTruncated
}

// Reason returns the short label used in metrics for a Check error:
// "empty", "too_large", "not_jpeg", "truncated", or "invalid".
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrEmpty):
		return "empty"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrNotJPEG):
		return "not_jpeg"
	case errors.Is(err, ErrTruncated):
		return "truncated"
	}
	return "invalid"
}

// Size reads the picture's width and height from the first start-of-frame
// marker (baseline, extended, progressive or lossless). It walks the marker
// segments only, never the entropy-coded data, so it costs a few hundred
// nanoseconds for a camera JPEG. ok is false when no SOF header is found
// before the start of scan.
func Size(b []byte) (width, height int, ok bool) {
	i := 2 // after SOI
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return 0, 0, false
		}
		marker := b[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7): // no length
			i += 2
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan or end: no SOF seen
			return 0, 0, false
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 0, 0, false
		}
		// SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
		if marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
			if n < 7 {
				return 0, 0, false
			}
			h := int(binary.BigEndian.Uint16(b[i+5:]))
			w := int(binary.BigEndian.Uint16(b[i+7:]))
			return w, h, w > 0 && h > 0
		}
		i += 2 + n
	}
	return 0, 0, false
}
