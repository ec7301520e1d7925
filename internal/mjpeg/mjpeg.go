// Package mjpeg reads multipart/x-mixed-replace MJPEG streams as real cameras send them.
//
// The multipart framing of RFC 2046 §5.1.1 is only loosely followed in the
// wild, so the Reader takes what the cameras camrelay meets actually send:
//
//   - arduino-esp32 CameraWebServer: CRLF "--boundary" CRLF before every
//     part (even the first), Content-Length and X-Timestamp (time since
//     boot), no closing boundary; the body is chunked, which net/http undoes.
//   - ESPHome esp32_camera_web_server: a hand-written HTTP/1.0 response
//     whose first boundary line comes right after the header block; every
//     part is trailed by CRLF "--boundary" CRLF; a text/plain part ("No
//     frames send.") when the camera had no frame.
//   - µStreamer and mjpg-streamer: boundary trailing each part, X-Timestamp
//     (µStreamer: Unix time); with ?advance_headers=1 no Content-Length.
//   - go2rtc and ffmpeg's mpjpeg muxer: boundary line before each part,
//     CRLF after the data. ffmpeg's own HTTP server (-listen 1) sends
//     Content-Type application/octet-stream, so the boundary can be learnt
//     from the body.
//
// Boundaries may be quoted or not and may carry a leading "--" in the
// header; like go2rtc, any line starting with "--" where a boundary belongs
// is taken as one, so a camera whose boundary line differs from its header
// still works. Line ends may be CRLF or LF. Parts without Content-Length end
// at the JPEG's end of image, found by walking the JPEG's segments (so an
// FFD9 inside an EXIF thumbnail does not cut the frame), or at the next
// boundary line, whichever comes first. Every read is bounded: a part by the
// Reader's limit, a part's header block by 8 KiB.
package mjpeg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxPart is the part size limit when NewReader is given none: the
// largest frame camrelay accepts by default.
const DefaultMaxPart = 4 << 20

// maxHeader bounds one part's header block, and the blank lines and preamble
// before the first boundary. Real part headers are under 100 bytes
// (µStreamer's extra headers about 500).
const maxHeader = 8 << 10

// maxMaxPart caps the part limit so that sizes fit an int on 32-bit boards
// (the release builds include armv6 and armv7).
const maxMaxPart = 1 << 30

// Errors of a stream that cannot be read on. They are wrapped with detail;
// test with errors.Is.
var (
	// ErrTooLarge is a part over the Reader's limit.
	ErrTooLarge = errors.New("mjpeg: part larger than the limit")
	// ErrHeaderTooLong is a part header block over 8 KiB.
	ErrHeaderTooLong = errors.New("mjpeg: part header longer than 8 KiB")
	// ErrNotMultipart is a body that does not start with a boundary line
	// although the Content-Type named no boundary.
	ErrNotMultipart = errors.New("mjpeg: body does not start with a multipart boundary line")
	// ErrNoBoundary is garbage between parts with no boundary line within
	// the part size limit.
	ErrNoBoundary = errors.New("mjpeg: no boundary line found")
)

// Part is one picture of the stream.
type Part struct {
	// Data is the part's body, normally a whole JPEG. It is newly
	// allocated for each part and belongs to the caller.
	Data []byte
	// Timestamp is the part's X-Timestamp ("<seconds>.<fraction>") read as
	// seconds since the Unix epoch; zero when the part had none. Cameras
	// disagree on the epoch: µStreamer sends Unix time, but CameraWebServer
	// sends time since boot (so the result lands in January 1970) and
	// mjpg-streamer a monotonic clock. Check that it is near the wall
	// clock before using it as one.
	Timestamp time.Time
}

// Reader reads the parts of one MJPEG stream. It is not safe for
// concurrent use.
type Reader struct {
	src     io.Reader
	maxPart int

	// hdrBoundary is the boundary named by the Content-Type ("" when it
	// named none); delim is the boundary line as the stream actually
	// writes it (e.g. "--123456"), learnt from the first one.
	hdrBoundary string
	delim       []byte

	buf    []byte
	r, w   int   // buf[r:w] is read from src but not yet consumed
	srcErr error // sticky error from src
	err    error // sticky error returned by Next
}

// initialBuf is the Reader's starting buffer: part headers and the start of
// a frame. A part with a Content-Length is read straight into its own slice
// past what is buffered; only parts without one grow the buffer, up to the
// part limit.
const initialBuf = 32 << 10

// NewReader returns a Reader of the stream body r whose response carried
// the Content-Type header value contentType. The boundary is taken from
// contentType's boundary parameter when it has one, and otherwise learnt
// from the first line of the body, which must then start with "--" (ffmpeg
// -listen 1 sends application/octet-stream). maxPart bounds a part's size;
// zero or less means DefaultMaxPart.
func NewReader(r io.Reader, contentType string, maxPart int64) *Reader {
	if maxPart <= 0 {
		maxPart = DefaultMaxPart
	}
	maxPart = min(maxPart, maxMaxPart)
	return &Reader{
		src:         r,
		maxPart:     int(maxPart),
		hdrBoundary: Boundary(contentType),
		buf:         make([]byte, min(initialBuf, int(maxPart)+maxHeader)),
	}
}

// Boundary returns the boundary parameter of a multipart Content-Type
// value, unquoted, or "" when it has none. It is lenient where
// mime.ParseMediaType is strict: cameras send "boundary=--x", a space
// before or after the "=", or a stray parameter without a value.
func Boundary(contentType string) string {
	for _, param := range strings.Split(contentType, ";")[1:] {
		k, v, ok := strings.Cut(param, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "boundary") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return v
	}
	return ""
}

// ParseTimestamp reads an X-Timestamp value, "<seconds>.<fraction>" with
// any number of fraction digits (CameraWebServer and µStreamer send six),
// as seconds since the Unix epoch.
func ParseTimestamp(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	secStr, frac, _ := strings.Cut(v, ".")
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil || sec < 0 || secStr[0] == '+' || sec > 1<<40 {
		return time.Time{}, false
	}
	var nsec int64
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		if i < 9 {
			nsec = nsec*10 + int64(c-'0')
		}
	}
	for i := len(frac); i < 9; i++ {
		nsec *= 10
	}
	return time.Unix(sec, nsec), true
}

// Next returns the next picture. Parts that are not pictures (a text/plain
// notice, an empty part) are skipped. It returns io.EOF when the stream
// ends between parts, with a closing boundary or without one, and
// io.ErrUnexpectedEOF when it ends inside a part, whose bytes are then
// never returned. After an error every call returns the same error.
func (r *Reader) Next() (Part, error) {
	if r.err != nil {
		return Part{}, r.err
	}
	for {
		p, picture, err := r.next()
		if err != nil {
			r.err = err
			return Part{}, err
		}
		if picture {
			return p, nil
		}
	}
}

// next reads one part; picture is false for a part to skip.
func (r *Reader) next() (p Part, picture bool, err error) {
	if err := r.seekBoundary(); err != nil {
		return Part{}, false, err
	}
	h, err := r.readHeader()
	if err != nil {
		return Part{}, false, err
	}
	if h.length >= 0 {
		p.Data, err = r.readN(h.length)
	} else {
		p.Data, err = r.readUntilEnd()
	}
	if err != nil {
		return Part{}, false, err
	}
	if h.timestamp != "" {
		p.Timestamp, _ = ParseTimestamp(h.timestamp)
	}
	return p, len(p.Data) > 0 && h.picture(p.Data), nil
}

// partHeader is what the Reader uses of a part's header block.
type partHeader struct {
	contentType string
	length      int64 // -1 when there is no usable Content-Length
	timestamp   string
}

// picture reports whether a part is a picture to return: image/* or no
// Content-Type, or data that starts like a JPEG whatever the label says
// (some servers label frames application/octet-stream).
func (h partHeader) picture(data []byte) bool {
	ct := strings.ToLower(strings.TrimSpace(h.contentType))
	return ct == "" || strings.HasPrefix(ct, "image/") || bytes.HasPrefix(data, soi)
}

var soi = []byte{0xFF, 0xD8}

// seekBoundary consumes blank lines up to and including the next boundary
// line. It returns io.EOF at a clean end: the stream closed between parts
// or a closing boundary.
func (r *Reader) seekBoundary() error {
	budget := maxHeader
	for {
		line, err := r.readLine(&budget)
		switch {
		case err == io.EOF:
			return io.EOF
		case errors.Is(err, ErrHeaderTooLong) && r.delim != nil:
			// A long run of bytes without a newline where a boundary
			// belongs: a wrong Content-Length, or a camera's padding.
			if err := r.resync(); err != nil {
				return err
			}
			budget = maxHeader
			continue
		case err != nil:
			return err
		}
		line = bytes.TrimRight(line, " \t")
		if len(line) == 0 {
			continue
		}
		if bytes.HasPrefix(line, dashes) {
			if r.closing(line) {
				return io.EOF
			}
			if r.delim == nil {
				r.delim = bytes.Clone(line)
			}
			return nil
		}
		switch {
		case r.delim != nil:
			if err := r.resync(); err != nil {
				return err
			}
			budget = maxHeader
		case r.hdrBoundary == "":
			return fmt.Errorf("%w: first line %q", ErrNotMultipart, clip(line))
		}
		// Otherwise a preamble before the first boundary (RFC 2046
		// allows one), bounded by budget.
	}
}

var dashes = []byte("--")

// closing reports whether line is the closing boundary ("--b--").
func (r *Reader) closing(line []byte) bool {
	if !bytes.HasSuffix(line, dashes) || len(line) < 4 {
		return false
	}
	open := line[:len(line)-2]
	if r.delim != nil {
		return bytes.Equal(open, r.delim)
	}
	b := r.hdrBoundary
	return b != "" && (string(open) == "--"+b || string(open) == b)
}

// readHeader reads a part's header block up to its blank line.
func (r *Reader) readHeader() (partHeader, error) {
	h := partHeader{length: -1}
	budget := maxHeader
	lines := 0
	for {
		// A JPEG right after the boundary line, with no header block:
		// some hand-written servers send it so.
		if lines == 0 && r.peekSOI() {
			return h, nil
		}
		line, err := r.readLine(&budget)
		if err == io.EOF {
			if lines == 0 {
				// The stream ended after a trailing boundary (ESPHome,
				// µStreamer): nothing of a part was lost.
				return h, io.EOF
			}
			return h, io.ErrUnexpectedEOF
		}
		if err != nil {
			return h, err
		}
		lines++
		if len(line) == 0 {
			return h, nil
		}
		if bytes.HasPrefix(line, dashes) {
			// A boundary where a header belongs: the part was empty.
			if r.closing(bytes.TrimRight(line, " \t")) {
				return h, io.EOF
			}
			h, lines = partHeader{length: -1}, 0
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v := string(bytes.TrimSpace(value))
		switch strings.ToLower(string(bytes.TrimSpace(name))) {
		case "content-type":
			h.contentType = v
		case "content-length":
			// A value that is not a number is ignored: the part is then
			// read as one without a length.
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				h.length = n
			}
		case "x-timestamp":
			h.timestamp = v
		}
	}
}

// clip shortens b for an error message.
func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
