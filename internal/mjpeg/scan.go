package mjpeg

import (
	"bytes"
	"fmt"
	"io"
)

// This file holds the Reader's buffer: filling it with bounded reads,
// lines, fixed-length bodies and bodies that end at a marker.

// fill reads from src into the buffer, growing the buffer so that it can
// hold up to limit unread bytes. Callers never ask while limit bytes are
// already unread. It returns an error only when no byte was added.
func (r *Reader) fill(limit int) error {
	if r.srcErr != nil {
		return r.srcErr
	}
	if r.r == r.w {
		r.r, r.w = 0, 0
	} else if r.r > 0 && len(r.buf)-r.w < len(r.buf)/4 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	if r.w == len(r.buf) {
		if r.r > 0 {
			r.w = copy(r.buf, r.buf[r.r:r.w])
			r.r = 0
		}
		if r.w == len(r.buf) {
			n := max(min(2*len(r.buf), limit), len(r.buf)+1)
			nb := make([]byte, n)
			copy(nb, r.buf[:r.w])
			r.buf = nb
		}
	}
	// A reader that returns nothing and no error many times in a row is
	// broken; io.ErrNoProgress as in bufio.
	for range 100 {
		n, err := r.src.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			r.srcErr = fmt.Errorf("mjpeg: source returned an invalid count %d", n)
			return r.srcErr
		}
		r.w += n
		if err != nil {
			r.srcErr = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	r.srcErr = io.ErrNoProgress
	return r.srcErr
}

// readLine returns the next line without its LF or CRLF, charging its
// length to budget. At the end of the stream it returns the last line even
// without a line end, then io.EOF. It returns ErrHeaderTooLong when the
// line would overrun budget (nothing is consumed then). The line aliases
// the buffer until the next read.
func (r *Reader) readLine(budget *int) ([]byte, error) {
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			if i+1 > *budget {
				return nil, ErrHeaderTooLong
			}
			line := r.buf[r.r : r.r+i]
			r.r += i + 1
			*budget -= i + 1
			return bytes.TrimSuffix(line, []byte("\r")), nil
		}
		if r.w-r.r >= *budget {
			return nil, ErrHeaderTooLong
		}
		if err := r.fill(*budget); err != nil {
			if err != io.EOF {
				return nil, err
			}
			if r.w == r.r {
				return nil, io.EOF
			}
			// A last line without its line end, such as a closing
			// boundary with nothing after it.
			line := r.buf[r.r:r.w]
			*budget -= len(line)
			r.r = r.w
			return bytes.TrimSuffix(line, []byte("\r")), nil
		}
	}
}

// peekSOI reports whether the unread bytes start with a JPEG's FFD8.
func (r *Reader) peekSOI() bool {
	for r.w-r.r < 2 {
		if r.fill(maxHeader) != nil {
			return false
		}
	}
	return r.buf[r.r] == 0xFF && r.buf[r.r+1] == 0xD8
}

// readN reads a body of exactly n bytes (its Content-Length) into a new
// slice: what is buffered, then the rest straight from src.
func (r *Reader) readN(n int64) ([]byte, error) {
	if n > int64(r.maxPart) {
		return nil, fmt.Errorf("%w: Content-Length %d, limit %d bytes", ErrTooLarge, n, r.maxPart)
	}
	data := make([]byte, n)
	c := copy(data, r.buf[r.r:r.w])
	r.r += c
	if c == len(data) {
		return data, nil
	}
	if r.srcErr != nil {
		return nil, noEOF(r.srcErr)
	}
	if _, err := io.ReadFull(r.src, data[c:]); err != nil {
		r.srcErr = noEOF(err)
		return nil, r.srcErr
	}
	return data, nil
}

// noEOF turns an end of stream inside a part into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readUntilEnd reads a body that has no Content-Length. It ends at the
// JPEG's end-of-image marker, found by walking the JPEG's segments, so the
// frame is returned as soon as its last byte arrives and an FFD9 inside an
// EXIF thumbnail does not end it early; or at the next boundary line
// (CRLF or LF, then the boundary), for a body that is not a well-formed
// JPEG: a text part, a frame cut short. Whichever comes first in the stream
// wins, so the result does not depend on how the bytes were split into
// reads.
func (r *Reader) readUntilEnd() ([]byte, error) {
	pat := append([]byte("\n"), r.delim...)
	var (
		walk    jpegWalk
		walkOK  = true
		from    int  // where the boundary search goes on
		eof     bool // src has ended
		pending bool // a boundary at from waits for the byte after it
	)
	// Room for the body, the delimiter and the byte after it.
	limit := r.maxPart + len(pat) + 3
	for {
		avail := r.buf[r.r:r.w]
		jpegEnd := -1
		if walkOK {
			switch e := walk.end(avail); {
			case e >= 0:
				jpegEnd = e
			case e == walkBad:
				walkOK = false
			}
		}
		var at int
		at, from, pending = findBoundary(avail, from, pat)
		end, next := -1, -1
		switch {
		case at >= 0 && (jpegEnd < 0 || at < jpegEnd):
			// The CRLF (or LF) before the boundary line belongs to the
			// delimiter (RFC 2046 §5.1.1), not to the body; the boundary
			// line itself is left for the next part.
			end, next = at, at
			if end > 0 && avail[end-1] == '\r' {
				end--
			}
		case jpegEnd >= 0 && (!pending || from >= jpegEnd || eof):
			end, next = jpegEnd, jpegEnd
		}
		if end >= 0 {
			if end > r.maxPart {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, r.maxPart)
			}
			data := bytes.Clone(avail[:end])
			r.r += next
			return data, nil
		}
		if eof {
			return nil, io.ErrUnexpectedEOF
		}
		if len(avail) >= limit {
			return nil, fmt.Errorf("%w: no end of part within %d bytes", ErrTooLarge, r.maxPart)
		}
		if err := r.fill(limit); err != nil {
			switch {
			case err != io.EOF:
				return nil, err
			case len(avail) == 0:
				// Headers and then the end: µStreamer's advance_headers
				// sends the next part's headers before its frame exists.
				return nil, io.EOF
			}
			eof = true
		}
	}
}

// findBoundary looks in b, from offset from on, for pat (LF and the
// boundary) that makes a whole line: followed by CR, LF, "--" or blanks. A
// short boundary such as "frame" could otherwise turn up inside JPEG data by
// chance. It returns the offset of the LF, or -1 and where to search on
// once b has grown; pending reports that a match there waits for the byte
// after it.
func findBoundary(b []byte, from int, pat []byte) (at, next int, pending bool) {
	for {
		i := bytes.Index(b[from:], pat)
		if i < 0 {
			return -1, max(from, len(b)-len(pat)+1), false
		}
		q := from + i
		t := q + len(pat)
		if t >= len(b) {
			return -1, q, true
		}
		if endsBoundary(b[t]) {
			return q, q, false
		}
		from = q + 1
	}
}

// resync skips garbage up to the next boundary line, which stays unread.
// It is called at the start of a line and gives up after the part size
// limit.
func (r *Reader) resync() error {
	pat := append([]byte("\n"), r.delim...)
	skipped := 0
	lineStart := true
	for {
		avail := r.buf[r.r:r.w]
		if lineStart && len(avail) > len(r.delim) {
			if bytes.HasPrefix(avail, r.delim) && endsBoundary(avail[len(r.delim)]) {
				return nil
			}
			lineStart = false
		}
		if !lineStart {
			at, next, _ := findBoundary(avail, 0, pat)
			if at >= 0 {
				r.r += at + 1
				return nil
			}
			// Nothing before next can start the boundary line.
			r.r += next
			skipped += next
			if skipped > r.maxPart {
				return fmt.Errorf("%w within %d bytes of garbage", ErrNoBoundary, skipped)
			}
		}
		if err := r.fill(len(pat) + maxHeader); err != nil {
			return noEOF(err)
		}
	}
}

// endsBoundary reports whether c may follow a boundary on its line: the
// line end, the "--" of the closing boundary, or trailing blanks.
func endsBoundary(c byte) bool {
	switch c {
	case '\r', '\n', '-', ' ', '\t':
		return true
	}
	return false
}

// jpegWalk finds the end of a JPEG as its bytes arrive: it skips marker
// segments by their length (so APP1's EXIF thumbnail, with its own FFD9,
// is jumped over), scans entropy-coded data for the next marker (in which a
// data FF is always followed by 00 or a restart marker, ITU T.81 §B.1.1.5),
// and stops after EOI. Progressive JPEGs, with several scans, work too.
type jpegWalk struct {
	pos  int  // offset of the next byte to look at
	scan bool // inside entropy-coded data
}

// walkBad is jpegWalk.end's answer for bytes that are not a JPEG.
const walkBad = -2

// end returns the offset just past the JPEG's EOI when b holds it, -1 when
// it needs more bytes, or walkBad. b must extend the b of the previous call.
func (j *jpegWalk) end(b []byte) int {
	if j.pos == 0 {
		if len(b) < 2 {
			return -1
		}
		if b[0] != 0xFF || b[1] != 0xD8 {
			return walkBad
		}
		j.pos = 2
	}
	for j.pos < len(b) {
		if j.scan {
			i := bytes.IndexByte(b[j.pos:], 0xFF)
			if i < 0 {
				j.pos = len(b)
				return -1
			}
			p := j.pos + i
			if p+1 >= len(b) {
				j.pos = p
				return -1
			}
			switch m := b[p+1]; {
			case m == 0x00 || (m >= 0xD0 && m <= 0xD7): // stuffed byte, restart
				j.pos = p + 2
			case m == 0xFF: // fill byte before a marker
				j.pos = p + 1
			default:
				j.scan, j.pos = false, p
			}
			continue
		}
		p := j.pos
		if p+2 > len(b) {
			return -1
		}
		if b[p] != 0xFF {
			return walkBad
		}
		switch m := b[p+1]; {
		case m == 0xFF: // fill byte
			j.pos++
			continue
		case m == 0xD9:
			return p + 2
		case m == 0xD8 || m == 0x00:
			return walkBad
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // no length
			j.pos = p + 2
			continue
		}
		if p+4 > len(b) {
			return -1
		}
		n := int(b[p+2])<<8 | int(b[p+3])
		if n < 2 {
			return walkBad
		}
		j.pos = p + 2 + n
		j.scan = b[p+1] == 0xDA // start of scan: entropy-coded data follows
	}
	return -1
}
