package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The ceiling is the cost floor the gateway is measured against: the least
// work that puts each frame on every viewer's socket. It runs as its own
// process (the bench re-executes itself with -ceiling-serve) so that its
// CPU time is measured apart from the viewers'. One goroutine reads a frame
// and, for each viewer in turn, makes one writev of [header, JPEG(, CRLF)].
// There is no goroutine per viewer, no pacing and no timer: a viewer whose
// socket is full skips the frame, and one left half-written gets its rest
// before anything new.

// ceilingBanner starts the line the ceiling prints once it listens.
const ceilingBanner = "ceiling "

// mjpegResponse is the response head of the ceiling's MJPEG stream, the
// same as the gateway's.
const mjpegResponse = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: multipart/x-mixed-replace; boundary=frame\r\n" +
	"Cache-Control: no-cache, no-store\r\n" +
	"Connection: close\r\n\r\n"

// ceilingViewer is one viewer socket of the ceiling, owned by the fan-out
// goroutine once it is in the list.
type ceilingViewer struct {
	conn    net.Conn
	rc      syscall.RawConn
	mjpeg   bool
	pending [][]byte // the unwritten rest of a frame
}

// writev makes one non-blocking writev. A full socket is not an error: it
// wrote 0 bytes.
func (v *ceilingViewer) writev(bufs [][]byte) (int, error) {
	var n int
	var werr error
	err := v.rc.Write(func(fd uintptr) bool {
		n, werr = unix.Writev(int(fd), bufs)
		return true // one attempt: never wait for the socket
	})
	if err != nil {
		return 0, err
	}
	if errors.Is(werr, unix.EAGAIN) || errors.Is(werr, unix.EINTR) {
		return 0, nil
	}
	return max(n, 0), werr
}

// send offers one frame; it is skipped if the previous one is still
// half-written after one more try.
func (v *ceilingViewer) send(bufs [][]byte) error {
	if len(v.pending) > 0 {
		n, err := v.writev(v.pending)
		if err != nil {
			return err
		}
		if v.pending = advance(v.pending, n); len(v.pending) > 0 {
			return nil
		}
	}
	n, err := v.writev(bufs)
	if err != nil || n == 0 {
		return err
	}
	v.pending = advance(bufs, n)
	return nil
}

// advance returns what is left of bufs after n bytes, in a new slice.
func advance(bufs [][]byte, n int) [][]byte {
	var rest [][]byte
	for _, b := range bufs {
		switch {
		case n >= len(b):
			n -= len(b)
		case rest == nil:
			rest = append(rest, b[n:])
			n = 0
		default:
			rest = append(rest, b)
		}
	}
	return rest
}

// wsFrameHeader returns the header of one final unmasked binary frame of n
// bytes (RFC 6455 §5.2).
func wsFrameHeader(n int) []byte {
	switch {
	case n < 126:
		return []byte{0x82, byte(n)}
	case n < 1<<16:
		return binary.BigEndian.AppendUint16([]byte{0x82, 126}, uint16(n))
	default:
		return binary.BigEndian.AppendUint64([]byte{0x82, 127}, uint64(n))
	}
}

// mjpegPartHeader returns the header of one MJPEG part, as the gateway
// writes it.
func mjpegPartHeader(n int, now time.Time) []byte {
	return fmt.Appendf(nil, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\nX-Timestamp: %d.%06d\r\n\r\n",
		n, now.Unix(), now.Nanosecond()/1000)
}

var crlf = []byte("\r\n")

// serveCeiling is the -ceiling-serve mode. It listens for one frame feed
// and for viewers on loopback, prints both addresses on stdout, and fans
// out until ctx ends.
func serveCeiling(ctx context.Context, stdout io.Writer) error {
	feed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("ceiling: listen for frames: %w", err)
	}
	defer feed.Close()
	views, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("ceiling: listen for viewers: %w", err)
	}
	defer views.Close()
	if _, err := fmt.Fprintf(stdout, "%sframes=%s viewers=%s\n", ceilingBanner, feed.Addr(), views.Addr()); err != nil {
		return fmt.Errorf("ceiling: announce: %w", err)
	}

	// The fan-out ends when the feed does; that ends the acceptor too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		viewers []*ceilingViewer
		conns   sync.WaitGroup // handshakes in flight
	)
	stop := context.AfterFunc(ctx, func() { feed.Close(); views.Close() })
	defer stop()
	defer func() {
		conns.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, v := range viewers {
			v.conn.Close()
		}
	}()

	acceptErr := make(chan error, 1)
	go func() {
		acceptErr <- func() error {
			for {
				c, err := views.Accept()
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return fmt.Errorf("ceiling: accept viewer: %w", err)
				}
				conns.Add(1)
				go func() {
					defer conns.Done()
					stopConn := context.AfterFunc(ctx, func() { c.Close() })
					defer stopConn()
					v, err := ceilingHandshake(c)
					if err != nil {
						c.Close()
						return
					}
					mu.Lock()
					viewers = append(viewers, v)
					mu.Unlock()
				}()
			}
		}()
	}()

	fanErr := func() error {
		c, err := feed.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("ceiling: accept feed: %w", err)
		}
		defer c.Close()
		stopFeed := context.AfterFunc(ctx, func() { c.Close() })
		defer stopFeed()
		br := bufio.NewReaderSize(c, 64<<10)
		var lenBuf [4]byte
		var dead []*ceilingViewer
		for {
			if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
				if ctx.Err() != nil || errors.Is(err, io.EOF) {
					return nil
				}
				return fmt.Errorf("ceiling: read feed: %w", err)
			}
			// A new buffer per frame: half-written frames still point
			// into the old ones.
			jpeg := make([]byte, binary.BigEndian.Uint32(lenBuf[:]))
			if _, err := io.ReadFull(br, jpeg); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("ceiling: read feed: %w", err)
			}
			ws := [][]byte{wsFrameHeader(len(jpeg)), jpeg}
			mj := [][]byte{mjpegPartHeader(len(jpeg), time.Now()), jpeg, crlf}
			mu.Lock()
			list := viewers
			mu.Unlock()
			for _, v := range list {
				bufs := ws
				if v.mjpeg {
					bufs = mj
				}
				if err := v.send(bufs); err != nil {
					dead = append(dead, v)
				}
			}
			if len(dead) > 0 {
				mu.Lock()
				viewers = without(viewers, dead)
				mu.Unlock()
				for _, v := range dead {
					v.conn.Close()
				}
				dead = dead[:0]
			}
		}
	}()
	cancel()
	stop()
	feed.Close()
	views.Close()
	return errors.Join(fanErr, <-acceptErr)
}

// without returns list minus the viewers in drop, in a new slice (the
// fan-out loop may still range over the old one).
func without(list, drop []*ceilingViewer) []*ceilingViewer {
	out := make([]*ceilingViewer, 0, len(list))
outer:
	for _, v := range list {
		for _, d := range drop {
			if v == d {
				continue outer
			}
		}
		out = append(out, v)
	}
	return out
}

// ceilingHandshake reads a viewer's request and answers it: a WebSocket
// upgrade (RFC 6455 §4.2.2) if it asks for one, the MJPEG response head
// otherwise.
func ceilingHandshake(c net.Conn) (*ceilingViewer, error) {
	_ = c.SetDeadline(time.Now().Add(dialTimeout))
	tp := textproto.NewReader(bufio.NewReader(c))
	if _, err := tp.ReadLine(); err != nil {
		return nil, err
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		return nil, err
	}
	v := &ceilingViewer{conn: c}
	if strings.EqualFold(hdr.Get("Upgrade"), "websocket") {
		_, err = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: "+wsAccept(hdr.Get("Sec-WebSocket-Key"))+"\r\n\r\n")
	} else {
		v.mjpeg = true
		_, err = io.WriteString(c, mjpegResponse)
	}
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil, errors.New("not a TCP connection")
	}
	if v.rc, err = tc.SyscallConn(); err != nil {
		return nil, err
	}
	return v, nil
}

// startCeiling starts the ceiling process (this binary with -ceiling-serve)
// and its pusher.
func startCeiling(ctx context.Context, bases [][]byte) (t *target, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start ceiling: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start ceiling: %w", err)
	}
	defer r.Close()
	proc, err := startChild("ceiling", exe, []string{"-ceiling-serve"}, w)
	w.Close()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	t = &target{
		kind:   "ceiling",
		paths:  map[string]string{transportWS: "/ws", transportMJPEG: "/stream.mjpeg"},
		proc:   proc,
		cancel: cancel,
	}
	defer func() {
		if err != nil {
			t.stop()
			t = nil
		}
	}()

	_ = r.SetReadDeadline(time.Now().Add(startTimeout))
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		return t, fmt.Errorf("start ceiling: read its addresses: %w (%v)", err, t.alive())
	}
	feedAddr, viewAddr := ceilingAddrs(line)
	t.addr = viewAddr
	if feedAddr == "" || t.addr == "" {
		return t, fmt.Errorf("start ceiling: unexpected banner %q", line)
	}
	sink, err := dialFeed(ctx, feedAddr)
	if err != nil {
		return t, fmt.Errorf("start ceiling: %w", err)
	}
	t.stopping = append(t.stopping, func() string { sink.c.Close(); return "" })
	t.startPusher(ctx, &pusher{bases: bases, sink: sink})
	return t, nil
}

// dialFeed connects to the ceiling's frame feed.
func dialFeed(ctx context.Context, addr string) (*tcpSink, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect the feed: %w", err)
	}
	return &tcpSink{c: conn}, nil
}

// tcpSink sends each frame with a 4-byte big-endian length prefix: the
// ceiling's feed.
type tcpSink struct{ c net.Conn }

func (s *tcpSink) send(ctx context.Context, jpeg []byte) error {
	if err := s.c.SetWriteDeadline(time.Now().Add(pushWriteTimeout)); err != nil {
		return err
	}
	bufs := net.Buffers{binary.BigEndian.AppendUint32(nil, uint32(len(jpeg))), jpeg}
	_, err := bufs.WriteTo(s.c)
	return err
}

// ceilingAddrs parses the line the ceiling prints once it listens.
func ceilingAddrs(line string) (feed, viewers string) {
	for _, f := range strings.Fields(strings.TrimPrefix(line, ceilingBanner)) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "frames":
			feed = v
		case "viewers":
			viewers = v
		}
	}
	return feed, viewers
}
