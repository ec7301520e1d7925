// Package wsconn holds what the gateway's WebSocket endpoints add to
// coder/websocket: the raw connection beneath a WebSocket (to bound a close
// and to pace writes), and write coalescing that makes a binary message one
// writev without copying its payload.
package wsconn

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// coalesceBuf is the size of the bufio.Writer the WebSocket library writes
// through. The library writes a frame header and then the payload; with a
// large buffer every JPEG is copied once more, with net/http's 4 KiB one each
// message costs two system calls. A small buffer whose full flushes are held
// back (coalescer) turns header + payload into one writev without a copy.
// It is larger than any control frame (2 + 125 bytes), so a control frame
// that the library writes by itself is never held back.
const coalesceBuf = 256

// Writer wraps the http.ResponseWriter given to websocket.Accept. When the
// library hijacks the connection, Writer keeps the raw connection and puts a
// coalescer under the library's writes.
type Writer struct {
	http.ResponseWriter
	conn net.Conn
	cw   *coalescer
}

// NewWriter wraps w.
func NewWriter(w http.ResponseWriter) *Writer { return &Writer{ResponseWriter: w} }

// Hijack is called by websocket.Accept.
func (w *Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		return nil, nil, err
	}
	w.conn = conn
	w.cw = &coalescer{conn: conn}
	return conn, bufio.NewReadWriter(smallReader(brw.Reader, conn), bufio.NewWriterSize(w.cw, coalesceBuf)), nil
}

// readBuf is the read buffer of a WebSocket: headers are 2 to 14 bytes and
// payloads larger than the buffer are read straight into their own slice, so
// net/http's 4 KiB buffer would only cost memory on each of thousands of
// viewer sockets.
const readBuf = 512

// smallReader moves what net/http has already buffered into a smaller
// reader, when it fits.
func smallReader(br *bufio.Reader, conn net.Conn) *bufio.Reader {
	n := br.Buffered()
	if n > readBuf {
		return br
	}
	b, _ := br.Peek(n)
	sr := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn), readBuf)
	if n > 0 {
		_, _ = sr.Peek(n) // takes exactly the buffered bytes, reads nothing from conn
	}
	return sr
}

// Release lets go of the http.ResponseWriter once websocket.Accept has
// returned, so that net/http's per-connection buffers can be freed while the
// WebSocket lives on. Only Conn and Flush may be used afterwards.
func (w *Writer) Release() { w.ResponseWriter = nil }

// Unwrap lets http.ResponseController reach the real writer.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Conn returns the hijacked connection, nil before Accept succeeded.
func (w *Writer) Conn() net.Conn { return w.conn }

// Flush sends what the coalescer holds back. Call it after each message
// written with the library: a message that ends exactly on a full buffer is
// otherwise held until the next one.
func (w *Writer) Flush() error {
	if w.cw == nil {
		return nil
	}
	return w.cw.flush()
}

// coalescer sits under the WebSocket library's bufio.Writer. A write of
// exactly coalesceBuf bytes is the buffer filling in the middle of a message:
// it is held and sent with the next write in one writev. Anything else is
// sent at once, after what was held. Safe for concurrent use.
type coalescer struct {
	conn net.Conn

	// What TryLockDirect reads, on one cache line: the fan-out takes the
	// lock of a hundred viewers in a row, each cold after a frame's pause.
	mu     sync.Mutex
	n      int
	rest   net.Buffers // what a direct write left unsent: goes out first
	closed bool        // a close frame went out: no more data frames

	buffers net.Buffers
	vec     [2][]byte
	held    [coalesceBuf]byte
}

// opClose is the first byte of a final close frame (RFC 6455 §5.2).
const opClose = 0x88

func (c *coalescer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.drainRest(); err != nil {
		return 0, err
	}
	if c.n == 0 && len(p) > 0 && p[0] == opClose {
		// With nothing held, a write starts at a frame boundary: this is
		// the library's close frame.
		c.closed = true
	}
	if len(p) == coalesceBuf && c.n == 0 {
		c.n = copy(c.held[:], p)
		return len(p), nil
	}
	if c.n == 0 {
		return c.conn.Write(p)
	}
	c.vec[0], c.vec[1] = c.held[:c.n], p
	c.buffers = c.vec[:]
	_, err := c.buffers.WriteTo(c.conn)
	c.n = 0
	c.vec[0], c.vec[1] = nil, nil
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *coalescer) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.drainRest(); err != nil {
		return err
	}
	if c.n == 0 {
		return nil
	}
	_, err := c.conn.Write(c.held[:c.n])
	c.n = 0
	return err
}

func (c *coalescer) drainRest() error {
	if len(c.rest) == 0 {
		return nil
	}
	_, err := c.rest.WriteTo(c.conn) // consumes c.rest
	c.rest = nil
	return err
}

// Direct writes. For a viewer that keeps up, the gateway's fan-out writes
// each binary message straight to the socket, without the library's
// per-message locks and buffering: it frames the message itself (AppendBinaryHeader)
// and writes it while holding the lock that every write of the library
// takes, at a moment when no part of a library message is held back, so
// messages never interleave. What a non-blocking write could not send is
// kept (KeepRest) and goes out, blocking, before anything else is written.

// TryLockDirect locks the connection for a direct write. It fails while
// the library is writing, holds part of a message or has sent its close
// frame, or before the connection was hijacked.
func (w *Writer) TryLockDirect() bool {
	c := w.cw
	if c == nil || !c.mu.TryLock() {
		return false
	}
	if c.n != 0 || len(c.rest) != 0 || c.closed {
		c.mu.Unlock()
		return false
	}
	return true
}

// UnlockDirect ends what TryLockDirect began.
func (w *Writer) UnlockDirect() { w.cw.mu.Unlock() }

// KeepRest keeps the unsent end of a direct write; the next write, or
// Flush, sends it first. Call it with the direct lock held.
func (w *Writer) KeepRest(rest net.Buffers) { w.cw.rest = rest }

// AppendBinaryHeader appends the header of an unmasked, final binary frame
// of n payload bytes: what a server sends (RFC 6455 §5.2).
func AppendBinaryHeader(b []byte, n int) []byte {
	switch {
	case n < 126:
		return append(b, 0x82, byte(n))
	case n <= 0xFFFF:
		return append(b, 0x82, 126, byte(n>>8), byte(n))
	default:
		return append(b, 0x82, 127, byte(uint64(n)>>56), byte(uint64(n)>>48), byte(uint64(n)>>40), byte(uint64(n)>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// CloseWithin sends a close frame and waits at most d for the peer's reply,
// then drops the raw connection. The library alone would wait up to 10 s for
// a peer that does not answer, and a dead peer must hold up neither a
// takeover nor the gateway's shutdown. raw may be nil (then the library's
// own bound applies).
func CloseWithin(c *websocket.Conn, raw net.Conn, code websocket.StatusCode, reason string, d time.Duration) {
	if raw != nil {
		t := time.AfterFunc(d, func() { _ = raw.Close() })
		defer t.Stop()
	}
	_ = c.Close(code, reason)
}
