package camlink

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math"
	"sync/atomic"
)

// Drop is why the Reader rejected a candidate packet: a sync marker whose
// header or payload did not check out.
type Drop uint8

// Reasons for rejecting a candidate. After each, the Reader discards the
// candidate's first byte and searches again from the next one, so a good
// packet that starts anywhere inside a rejected one is still found.
const (
	// DropBadHeader: the header check (CRC-16) failed.
	DropBadHeader Drop = iota + 1
	// DropTooLarge: the header checked out but claims a payload longer
	// than the Reader's MaxPayload.
	DropTooLarge
	// DropBadCRC: the payload's CRC-32 failed, typically because the
	// camera reset or logged text in the middle of a packet.
	DropBadCRC
	// DropTruncated: the input ended before the end of a packet whose
	// header checked out.
	DropTruncated
)

// String returns the reason's metric label: "bad_header", "too_large",
// "bad_crc" or "truncated".
func (d Drop) String() string {
	switch d {
	case DropBadHeader:
		return "bad_header"
	case DropTooLarge:
		return "too_large"
	case DropBadCRC:
		return "bad_crc"
	case DropTruncated:
		return "truncated"
	}
	return "unknown"
}

// Stats counts what a Reader has read. Once the input has ended, every
// input byte has been counted exactly once: either in a returned packet
// (PacketBytes) or as Garbage.
type Stats struct {
	Packets     uint64 // good packets returned by Next
	PacketBytes uint64 // their size on the link, overhead included
	Garbage     uint64 // bytes discarded: boot and log text, noise, rejected candidates
	BadHeader   uint64 // candidates rejected with DropBadHeader
	TooLarge    uint64 // candidates rejected with DropTooLarge
	BadCRC      uint64 // candidates rejected with DropBadCRC
	Truncated   uint64 // candidates rejected with DropTruncated
}

// ReaderOptions configure a Reader. A nil *ReaderOptions means defaults.
type ReaderOptions struct {
	// MaxPayload is the largest payload accepted, in bytes; a header that
	// claims more is rejected as corrupt. It also bounds the Reader's
	// buffer to MaxPayload+Overhead bytes. Zero means DefaultMaxPayload.
	MaxPayload int
	// OnDrop, when set, is called from Next as each candidate is
	// rejected.
	OnDrop func(Drop)
}

// initialBuffer is the Reader's first buffer size: larger than a typical
// QVGA/VGA frame plus a serial driver's read chunk, so that most packets
// need no growth; it grows up to MaxPayload+Overhead for larger packets.
const initialBuffer = 64 << 10

// maxEmptyReads is how many (0, nil) reads in a row the Reader tolerates
// before it gives up with io.ErrNoProgress, as bufio does.
const maxEmptyReads = 100

// Reader reads packets from a byte stream that may also carry boot-loader
// text, log lines, noise and damaged packets. It holds at most one packet
// (MaxPayload+Overhead bytes) in its buffer and starts no goroutines.
// Next must not be called concurrently; Stats may be called from any
// goroutine.
type Reader struct {
	src    io.Reader
	max    int
	onDrop func(Drop)

	buf  []byte // buffered input; buf[r:w] is not yet consumed
	r, w int
	err  error // the input's error (io.EOF at its end), sticky

	packets, packetBytes, garbage          atomic.Uint64
	badHeader, tooLarge, badCRC, truncated atomic.Uint64
}

// NewReader returns a Reader of src.
func NewReader(src io.Reader, opts *ReaderOptions) *Reader {
	var o ReaderOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if uint64(o.MaxPayload) > maxLen {
		// Only reachable where int is 64 bits; the conversion keeps the
		// constant from overflowing int on 32-bit boards (armv6/armv7).
		o.MaxPayload = int(min(uint64(maxLen), uint64(math.MaxInt)))
	}
	return &Reader{src: src, max: o.MaxPayload, onDrop: o.OnDrop}
}

// Stats returns the counts so far.
func (rd *Reader) Stats() Stats {
	return Stats{
		Packets:     rd.packets.Load(),
		PacketBytes: rd.packetBytes.Load(),
		Garbage:     rd.garbage.Load(),
		BadHeader:   rd.badHeader.Load(),
		TooLarge:    rd.tooLarge.Load(),
		BadCRC:      rd.badCRC.Load(),
		Truncated:   rd.truncated.Load(),
	}
}

var syncBytes = []byte(Sync)

// Next returns the next good packet. When the input ends or fails, Next
// first returns the good packets still buffered, then the input's error
// (io.EOF at a clean end) from then on.
//
// A candidate starts at each sync marker. Its header check is verified
// before its length is believed, and its length is compared with
// MaxPayload before any byte of its payload is awaited, so a damaged
// header never makes the Reader wait for, or allocate, what it claims.
// When a payload's CRC-32 fails, the bytes after the candidate's first
// byte are searched again: a camera that reset mid-packet starts its next
// good packet inside the claimed payload, and that packet is not lost.
func (rd *Reader) Next() (Packet, error) {
	for {
		i := bytes.Index(rd.buf[rd.r:rd.w], syncBytes)
		if i < 0 {
			// Keep a tail that may be the start of a marker split
			// across reads.
			keep := min(len(Sync)-1, rd.w-rd.r)
			if rd.err != nil {
				keep = 0
			}
			rd.discard(rd.w - rd.r - keep)
			if rd.err != nil {
				return Packet{}, rd.err
			}
			rd.fill(HeaderLen)
			continue
		}
		rd.discard(i)

		if rd.w-rd.r < HeaderLen {
			if rd.err != nil {
				// A partial header at the end is not a candidate.
				rd.discard(rd.w - rd.r)
				return Packet{}, rd.err
			}
			rd.fill(HeaderLen)
			continue
		}
		h := rd.buf[rd.r : rd.r+HeaderLen]
		if crc16(h[len(Sync):HeaderLen-2]) != binary.LittleEndian.Uint16(h[HeaderLen-2:]) {
			rd.reject(DropBadHeader)
			continue
		}
		n := binary.LittleEndian.Uint32(h[10:])
		if uint64(n) > uint64(rd.max) {
			rd.reject(DropTooLarge)
			continue
		}
		size := Overhead + int(n)
		if rd.w-rd.r < size {
			if rd.err != nil {
				rd.reject(DropTruncated)
				continue
			}
			rd.fill(size)
			continue
		}
		payload := rd.buf[rd.r+HeaderLen : rd.r+HeaderLen+int(n)]
		if crc32.ChecksumIEEE(payload) != binary.LittleEndian.Uint32(rd.buf[rd.r+HeaderLen+int(n):]) {
			rd.reject(DropBadCRC)
			continue
		}
		p := Packet{
			Type:    Type(h[4]),
			Flags:   Flags(h[5]),
			Seq:     binary.LittleEndian.Uint32(h[6:]),
			Payload: make([]byte, n),
		}
		if p.HasUptime() {
			p.Uptime = binary.LittleEndian.Uint64(h[14:])
		}
		copy(p.Payload, payload)
		rd.r += size
		rd.packets.Add(1)
		rd.packetBytes.Add(uint64(size))
		return p, nil
	}
}

// reject counts a rejected candidate and discards its first byte, so that
// the search resumes at the next one.
func (rd *Reader) reject(d Drop) {
	switch d {
	case DropBadHeader:
		rd.badHeader.Add(1)
	case DropTooLarge:
		rd.tooLarge.Add(1)
	case DropBadCRC:
		rd.badCRC.Add(1)
	case DropTruncated:
		rd.truncated.Add(1)
	}
	rd.discard(1)
	if rd.onDrop != nil {
		rd.onDrop(d)
	}
}

// discard consumes n buffered bytes as garbage.
func (rd *Reader) discard(n int) {
	if n > 0 {
		rd.r += n
		rd.garbage.Add(uint64(n))
	}
}

// fill reads more input so that the buffer holds, or has room for, at
// least need bytes from rd.r on; need never exceeds MaxPayload+Overhead.
// It records the input's error in rd.err.
func (rd *Reader) fill(need int) {
	if rd.r > 0 {
		rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r = 0
	}
	if need > len(rd.buf) {
		limit := rd.max + Overhead
		size := max(need, min(limit, max(initialBuffer, 2*len(rd.buf))))
		buf := make([]byte, size)
		copy(buf, rd.buf[:rd.w])
		rd.buf = buf
	}
	for range maxEmptyReads {
		n, err := rd.src.Read(rd.buf[rd.w:])
		if n < 0 || n > len(rd.buf)-rd.w {
			rd.err = io.ErrShortBuffer // a broken io.Reader; do not trust it
			return
		}
		rd.w += n
		if err != nil {
			rd.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	rd.err = io.ErrNoProgress
}
