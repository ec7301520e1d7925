package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The viewers are deliberately hand-rolled: a thousand of them share two
// cores with the server under test, so each must cost little more than the
// kernel's copy of the bytes. They read, check and time frames; they never
// decode a picture.

// Transports the bench can drive.
const (
	transportWS    = "ws"
	transportMJPEG = "mjpeg"
)

const (
	// clientBufSize is each viewer's read buffer: big enough that a
	// 35 KB frame arrives in few reads.
	clientBufSize = 64 << 10
	// maxMessageBytes bounds one WebSocket message or MJPEG part, so that a
	// corrupt length cannot make a viewer allocate gigabytes.
	maxMessageBytes = 16 << 20
	// maxControlPayload is RFC 6455 §5.5's limit for control frames.
	maxControlPayload = 125
	// dialTimeout bounds a viewer's TCP connect plus handshake.
	dialTimeout = 10 * time.Second
)

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// wsGUID is the key suffix of RFC 6455 §1.3's opening handshake.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// errWSClosed is returned by wsReader.next when the server sent a close
// frame.
var errWSClosed = errors.New("websocket closed by server")

// wsAccept returns the Sec-WebSocket-Accept value for key (RFC 6455 §4.2.2).
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// wsReader reads the server side of a WebSocket: unmasked frames (RFC 6455
// §5.1), data messages possibly fragmented (§5.4), control frames
// interleaved. It is owned by one goroutine.
type wsReader struct {
	br *bufio.Reader
	// w receives the pongs that answer pings; nil drops them.
	w io.Writer
	// buf is reused for every message.
	buf []byte
	ctl [maxControlPayload]byte
	hdr [8]byte
}

// next returns the next complete data message: its opcode (opText or
// opBinary) and payload. The payload aliases the reader's buffer and is
// valid until the next call. Pings are answered, pongs dropped; a close
// frame ends the stream with an error wrapping errWSClosed.
func (r *wsReader) next() (byte, []byte, error) {
	var (
		op  byte
		msg = r.buf[:0]
	)
	for {
		fin, opcode, n, err := r.header()
		if err != nil {
			return 0, nil, err
		}
		if opcode >= opClose {
			if err := r.control(fin, opcode, n); err != nil {
				return 0, nil, err
			}
			continue
		}
		switch {
		case opcode == opContinuation && op == 0:
			return 0, nil, errors.New("websocket: continuation frame without a message")
		case opcode != opContinuation && op != 0:
			return 0, nil, fmt.Errorf("websocket: opcode %#x inside a fragmented message", opcode)
		case opcode != opContinuation && opcode != opText && opcode != opBinary:
			return 0, nil, fmt.Errorf("websocket: reserved opcode %#x", opcode)
		case opcode != opContinuation:
			op = opcode
		}
		if uint64(len(msg))+n > maxMessageBytes {
			return 0, nil, fmt.Errorf("websocket: message over %d bytes", maxMessageBytes)
		}
		end := len(msg) + int(n)
		if end > cap(r.buf) {
			grown := make([]byte, len(msg), end+end/4)
			copy(grown, msg)
			r.buf = grown
		}
		msg = r.buf[:end]
		if _, err := io.ReadFull(r.br, msg[end-int(n):]); err != nil {
			return 0, nil, fmt.Errorf("websocket: read payload: %w", noEOF(err))
		}
		if fin {
			return op, msg, nil
		}
	}
}

// header reads one frame header (RFC 6455 §5.2): 2 bytes, then a 2- or
// 8-byte extended length. Server frames must not be masked (§5.1).
func (r *wsReader) header() (fin bool, opcode byte, n uint64, err error) {
	h := r.hdr[:2]
	if _, err := io.ReadFull(r.br, h); err != nil {
		return false, 0, 0, err
	}
	fin, opcode = h[0]&0x80 != 0, h[0]&0x0F
	if h[0]&0x70 != 0 {
		return false, 0, 0, errors.New("websocket: reserved bits set without an extension")
	}
	if h[1]&0x80 != 0 {
		return false, 0, 0, errors.New("websocket: masked frame from the server")
	}
	switch n = uint64(h[1] & 0x7F); n {
	case 126:
		if _, err := io.ReadFull(r.br, r.hdr[:2]); err != nil {
			return false, 0, 0, fmt.Errorf("websocket: read length: %w", noEOF(err))
		}
		n = uint64(binary.BigEndian.Uint16(r.hdr[:2]))
	case 127:
		if _, err := io.ReadFull(r.br, r.hdr[:8]); err != nil {
			return false, 0, 0, fmt.Errorf("websocket: read length: %w", noEOF(err))
		}
		n = binary.BigEndian.Uint64(r.hdr[:8])
		if n>>63 != 0 {
			return false, 0, 0, errors.New("websocket: length with the top bit set")
		}
	}
	return fin, opcode, n, nil
}

// control handles one control frame whose header has been read.
func (r *wsReader) control(fin bool, opcode byte, n uint64) error {
	if !fin || n > maxControlPayload {
		return errors.New("websocket: fragmented or oversized control frame")
	}
	p := r.ctl[:n]
	if _, err := io.ReadFull(r.br, p); err != nil {
		return fmt.Errorf("websocket: read control frame: %w", noEOF(err))
	}
	switch opcode {
	case opClose:
		if len(p) >= 2 {
			return fmt.Errorf("%w: status %d %q", errWSClosed, binary.BigEndian.Uint16(p), p[2:])
		}
		return errWSClosed
	case opPing:
		if r.w != nil {
			if _, err := r.w.Write(maskedFrame(opPong, p)); err != nil {
				return fmt.Errorf("websocket: write pong: %w", err)
			}
		}
	}
	return nil
}

// maskedFrame builds one final client frame, masked as RFC 6455 §5.3
// requires of clients. Only used for small control frames.
func maskedFrame(opcode byte, payload []byte) []byte {
	out := make([]byte, 0, 14+len(payload))
	out = append(out, 0x80|opcode)
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	case n < 1<<16:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, 0x80|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	var key [4]byte
	_, _ = rand.Read(key[:])
	out = append(out, key[:]...)
	for i, b := range payload {
		out = append(out, b^key[i%4])
	}
	return out
}

// wsHandshake performs the client's opening handshake (RFC 6455 §4.1) for
// path on host, and checks the server's answer. No Origin is sent: the
// bench is not a browser.
func wsHandshake(br *bufio.Reader, w io.Writer, host, path string) error {
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(w, req); err != nil {
		return fmt.Errorf("send upgrade request: %w", err)
	}
	code, hdr, err := readResponseHead(br)
	if err != nil {
		return err
	}
	if code != 101 {
		return fmt.Errorf("upgrade answered %d, want 101", code)
	}
	if got, want := hdr.Get("Sec-WebSocket-Accept"), wsAccept(key); got != want {
		return fmt.Errorf("Sec-WebSocket-Accept %q, want %q", got, want)
	}
	return nil
}

// mjpegReader reads the parts of a multipart/x-mixed-replace body
// (RFC 2046 §5.1.1 framing, as MJPEG servers use it): a boundary line, part
// headers with Content-Length, the body, and the CRLF that ends the part.
// It is owned by one goroutine.
type mjpegReader struct {
	br *bufio.Reader
	// boundary is the delimiter line, "--" + the boundary parameter.
	boundary []byte
	// buf is reused for every part.
	buf []byte
}

var contentLength = []byte("content-length:")

// next returns the body of the next part. It aliases the reader's buffer
// and is valid until the next call. The closing delimiter ends the stream
// with io.EOF.
func (r *mjpegReader) next() ([]byte, error) {
	for {
		line, err := r.line()
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			continue // the CRLF that ends the previous part
		}
		if bytes.Equal(line, r.boundary) {
			break
		}
		if len(line) == len(r.boundary)+2 && bytes.HasPrefix(line, r.boundary) && bytes.HasSuffix(line, []byte("--")) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("mjpeg: %q where the boundary %q belongs", truncate(line, 40), r.boundary)
	}
	n := -1
	for {
		line, err := r.line()
		if err != nil {
			return nil, noEOF(err)
		}
		if len(line) == 0 {
			break
		}
		if len(line) > len(contentLength) && bytes.EqualFold(line[:len(contentLength)], contentLength) {
			if n, err = parseLength(bytes.TrimSpace(line[len(contentLength):])); err != nil {
				return nil, err
			}
		}
	}
	if n < 0 {
		return nil, errors.New("mjpeg: part without Content-Length")
	}
	if n > maxMessageBytes {
		return nil, fmt.Errorf("mjpeg: part of %d bytes, over %d", n, maxMessageBytes)
	}
	if n > cap(r.buf) {
		r.buf = make([]byte, n+n/4)
	}
	body := r.buf[:n]
	if _, err := io.ReadFull(r.br, body); err != nil {
		return nil, fmt.Errorf("mjpeg: read part: %w", noEOF(err))
	}
	return body, nil
}

// line reads one header line without its CRLF (or bare LF). The result
// aliases the bufio buffer.
func (r *mjpegReader) line() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("mjpeg: header line too long")
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, nil
}

// parseLength parses a decimal Content-Length without allocating.
func parseLength(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 9 {
		return 0, fmt.Errorf("mjpeg: bad Content-Length %q", b)
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("mjpeg: bad Content-Length %q", b)
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// mjpegHandshake sends the GET for path and checks the response head: 200,
// multipart/x-mixed-replace with a boundary, and no chunked encoding (the
// parts are framed by the boundary, and chunking would break readers that
// expect a raw body). It returns the delimiter line.
func mjpegHandshake(br *bufio.Reader, w io.Writer, host, path string) ([]byte, error) {
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nAccept: multipart/x-mixed-replace, */*\r\n\r\n"
	if _, err := io.WriteString(w, req); err != nil {
		return nil, fmt.Errorf("send request: %w", err)
	}
	code, hdr, err := readResponseHead(br)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("stream answered %d, want 200", code)
	}
	if te := hdr.Get("Transfer-Encoding"); te != "" {
		return nil, fmt.Errorf("stream sent Transfer-Encoding %q, want none", te)
	}
	mt, params, err := mime.ParseMediaType(hdr.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("stream Content-Type: %w", err)
	}
	if mt != "multipart/x-mixed-replace" || params["boundary"] == "" {
		return nil, fmt.Errorf("stream Content-Type %q, want multipart/x-mixed-replace with a boundary", hdr.Get("Content-Type"))
	}
	return []byte("--" + params["boundary"]), nil
}

// readResponseHead reads an HTTP/1.1 status line and header block.
func readResponseHead(br *bufio.Reader) (int, textproto.MIMEHeader, error) {
	tp := textproto.NewReader(br)
	status, err := tp.ReadLine()
	if err != nil {
		return 0, nil, fmt.Errorf("read status line: %w", noEOF(err))
	}
	proto, rest, ok := strings.Cut(status, " ")
	if !ok || !strings.HasPrefix(proto, "HTTP/1.") || len(rest) < 3 {
		return 0, nil, fmt.Errorf("bad status line %q", status)
	}
	code := 0
	for _, c := range rest[:3] {
		if c < '0' || c > '9' {
			return 0, nil, fmt.Errorf("bad status line %q", status)
		}
		code = code*10 + int(c-'0')
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		return 0, nil, fmt.Errorf("read response headers: %w", noEOF(err))
	}
	return code, hdr, nil
}

// noEOF turns an io.EOF in the middle of something into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// window is a measurement interval [start, end).
type window struct{ start, end time.Time }

func (w window) contains(t time.Time) bool {
	return !w.start.IsZero() && !t.Before(w.start) && t.Before(w.end)
}

// recorder collects what one viewer received. Its viewer's goroutine
// writes it and the bench reads it; the mutex is taken once per frame and
// is never contended for long.
type recorder struct {
	// ready counts the recorders of a set that have received a frame.
	ready *atomic.Int64

	mu        sync.Mutex
	dialStart time.Time     // when the viewer began to dial
	connected time.Time     // when the TCP connection was up
	answered  time.Time     // when the server's response to the request was read
	first     time.Time     // when the first complete JPEG arrived
	firstAge  time.Duration // how long before its arrival the first JPEG was sent
	total     int           // JPEGs received
	win       window
	frames    int             // JPEGs received inside win
	lat       []time.Duration // receive time − send time, for JPEGs inside win
	lastSeq   uint64
	bad       int // messages that were not stamped JPEGs
	reordered int // JPEGs whose seq did not increase
	err       error
}

// setWindow starts a measurement interval; earlier counts are dropped.
func (r *recorder) setWindow(w window, expect int) {
	r.mu.Lock()
	r.win, r.frames = w, 0
	r.lat = make([]time.Duration, 0, expect)
	r.mu.Unlock()
}

// record notes one received binary message at now.
func (r *recorder) record(b []byte, now time.Time) {
	st, err := readStamp(b)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || !endsWithEOI(b) {
		r.bad++
		return
	}
	if r.first.IsZero() {
		r.first, r.firstAge = now, now.Sub(st.Sent)
		if r.ready != nil {
			r.ready.Add(1)
		}
	}
	r.total++
	if st.Seq <= r.lastSeq {
		r.reordered++
	}
	r.lastSeq = st.Seq
	if r.win.contains(now) {
		r.frames++
		r.lat = append(r.lat, now.Sub(st.Sent))
	}
}

// mark sets one of the recorder's times to now.
func (r *recorder) mark(t *time.Time) {
	r.mu.Lock()
	*t = time.Now()
	r.mu.Unlock()
}

// snapshot is a copy of a recorder's figures.
type snapshot struct {
	dialStart, connected, answered, first time.Time
	firstAge                              time.Duration
	total, frames                         int
	lat                                   []time.Duration
	bad, reordered                        int
	err                                   error
}

func (r *recorder) snapshot() snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return snapshot{r.dialStart, r.connected, r.answered, r.first, r.firstAge, r.total, r.frames, r.lat, r.bad, r.reordered, r.err}
}

// viewerSpec says how one viewer connects and reads.
type viewerSpec struct {
	addr      string // host:port
	path      string // request path
	transport string // transportWS or transportMJPEG
	// pause is how long the viewer sleeps after each JPEG; zero reads at
	// full speed.
	pause time.Duration
}

// runViewer connects one viewer and reads until ctx ends or the stream
// fails. A stream ended by ctx is not an error.
func runViewer(ctx context.Context, spec viewerSpec, rec *recorder, handshaken func()) error {
	rec.mu.Lock()
	rec.dialStart = time.Now()
	rec.mu.Unlock()
	err := readStream(ctx, spec, rec, handshaken)
	if ctx.Err() != nil {
		err = nil
	}
	rec.mu.Lock()
	rec.err = err
	rec.mu.Unlock()
	return err
}

func readStream(ctx context.Context, spec viewerSpec, rec *recorder, handshaken func()) error {
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", spec.addr)
	if err != nil {
		handshaken()
		return fmt.Errorf("dial %s: %w", spec.addr, err)
	}
	defer conn.Close()
	rec.mark(&rec.connected)
	// Closing the socket is what wakes a viewer blocked in a read.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	// The handshake must not hang on a stuck server either.
	_ = conn.SetDeadline(time.Now().Add(dialTimeout))

	br := bufio.NewReaderSize(conn, clientBufSize)
	var next func() ([]byte, error)
	switch spec.transport {
	case transportWS:
		err = wsHandshake(br, conn, spec.addr, spec.path)
		r := &wsReader{br: br, w: conn}
		next = func() ([]byte, error) {
			for {
				op, p, err := r.next()
				if err != nil || op == opBinary {
					return p, err
				}
				// Text messages are JSON events (hello, status): not frames.
			}
		}
	case transportMJPEG:
		var boundary []byte
		boundary, err = mjpegHandshake(br, conn, spec.addr, spec.path)
		r := &mjpegReader{br: br, boundary: boundary}
		next = r.next
	default:
		err = fmt.Errorf("unknown transport %q", spec.transport)
	}
	rec.mark(&rec.answered)
	handshaken()
	if err != nil {
		return fmt.Errorf("%s handshake: %w", spec.transport, err)
	}
	_ = conn.SetDeadline(time.Time{})

	var pause *time.Timer
	for {
		p, err := next()
		if err != nil {
			return fmt.Errorf("read %s stream: %w", spec.transport, err)
		}
		rec.record(p, time.Now())
		if spec.pause > 0 {
			if pause == nil {
				pause = time.NewTimer(spec.pause)
			} else {
				pause.Reset(spec.pause)
			}
			select {
			case <-pause.C:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// dialConcurrency is how many viewers may be in their handshake at once: a
// thousand simultaneous SYNs would overflow a listen backlog and measure
// the kernel's SYN retry timer instead of the server.
const dialConcurrency = 64

// viewerSet is a group of viewers started together.
type viewerSet struct {
	recs   []*recorder
	ready  atomic.Int64
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// attach starts one goroutine per spec. Close stops and waits for them.
func attach(ctx context.Context, specs []viewerSpec) *viewerSet {
	ctx, cancel := context.WithCancel(ctx)
	vs := &viewerSet{cancel: cancel, recs: make([]*recorder, len(specs))}
	sem := make(chan struct{}, dialConcurrency)
	for i, spec := range specs {
		rec := &recorder{ready: &vs.ready}
		vs.recs[i] = rec
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		vs.wg.Add(1)
		go func() {
			defer vs.wg.Done()
			var once sync.Once
			_ = runViewer(ctx, spec, rec, func() { once.Do(func() { <-sem }) })
			once.Do(func() { <-sem })
		}()
	}
	return vs
}

// setWindow sets the measurement window on every viewer.
func (vs *viewerSet) setWindow(w window) {
	expect := int(w.end.Sub(w.start)/time.Millisecond)/40 + 8 // room for 25 fps
	for _, r := range vs.recs {
		r.setWindow(w, expect)
	}
}

// waitReady waits until every viewer has received a JPEG, ctx ends or the
// timeout passes, and returns how many have.
func (vs *viewerSet) waitReady(ctx context.Context, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for int(vs.ready.Load()) < len(vs.recs) && time.Now().Before(deadline) {
		if sleepCtx(ctx, 20*time.Millisecond) != nil {
			break
		}
	}
	return int(vs.ready.Load())
}

// close stops every viewer and waits for its goroutine.
func (vs *viewerSet) close() {
	vs.cancel()
	vs.wg.Wait()
}

// sleepCtx sleeps for d or until ctx ends, and returns ctx's error then.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sleepUntil sleeps until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	return sleepCtx(ctx, time.Until(t))
}
