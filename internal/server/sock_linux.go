package server

import (
	"crypto/tls"
	"net"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// notSentLowat bounds the bytes that sit unsent in a viewer's socket
// (TCP_NOTSENT_LOWAT). Without it the kernel accepts megabytes for a slow
// viewer, and that viewer then watches frames many seconds old.
const notSentLowat = 16 << 10

// tuneViewer sets the socket options every viewer socket gets. Errors are
// ignored: a socket without them still works, only less fresh.
func tuneViewer(c net.Conn) {
	tc, ok := tcpConn(c)
	if !ok {
		return
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, notSentLowat)
	})
}

// pacer decides when a viewer's socket may take the next frame. It looks at
// where the bytes already written to the viewer are: unsent in our socket,
// in flight (sent, not yet acknowledged), or received but not read by the
// viewer (the peer's receive window below the largest it has offered). The
// next frame is written only when nothing is unsent and at most about one
// frame is in flight or unread. A slow viewer thus has at most about one
// frame waiting for it, and the frames it cannot take are skipped by the
// hub's newest-wins rule instead of piling up in kernel buffers on both
// ends, where they would be seconds old when read.
//
// A pacer is owned by its viewer's goroutine.
type pacer struct {
	// A viewer whose socket has drained at every check for a while is
	// trusted: only one frame in trustEvery is checked, the rest are
	// written straight away. Asking the kernel is a tenth of the cost of
	// a frame; a viewer that turns slow is caught within trustEvery frames.
	// First in the struct: the fan-out reads them for every frame.
	drainedRun int
	unchecked  int

	rc      syscall.RawConn
	control func(fd uintptr) // method value made once: no allocation per call
	err     error
	maxWnd  uint32
	waiting time.Time // when the socket emptied but the window still looked full
	info    unix.TCPInfo
}

const (
	trustAfter = 16 // consecutive drained checks before a viewer is trusted
	trustEvery = 4  // a trusted viewer's socket is checked every this many frames
)

// maxUnread is how much may be queued for a viewer when the next, small,
// frame is written; for larger frames, one frame may be.
const maxUnread = 16 << 10

// minInflight is the in-flight allowance for small frames.
const minInflight = 64 << 10

// readiness is a pacer's answer.
type readiness int

const (
	drained readiness = iota // write the next frame
	notYet                   // wait
	unsure                   // ask the viewer whether it has read everything
)

// windowGrace bounds the wait for a reopened window once everything sent has
// been acknowledged. Linux announces a reopened window at once only when it
// at least doubles, so a viewer that has read everything can still look
// full for a while.
const windowGrace = time.Second

// init makes p the pacer of c; false if c is not a TCP connection.
func (p *pacer) init(c net.Conn) bool {
	tc, ok := tcpConn(c)
	if !ok {
		return false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	*p = pacer{rc: rc}
	p.control = p.readInfo
	return true
}

func (p *pacer) readInfo(fd uintptr) {
	size := uint32(unsafe.Sizeof(p.info))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.IPPROTO_TCP, unix.TCP_INFO,
		uintptr(unsafe.Pointer(&p.info)), uintptr(unsafe.Pointer(&size)), 0)
	p.err = nil
	if errno != 0 {
		p.err = errno
	}
}

// ready reports whether a frame of size bytes may be written now: drained,
// not yet, or unsure. A nil pacer (not a TCP socket) is always drained.
//
// Unsure means everything sent has been acknowledged but the viewer's
// window still looks partly full. Linux re-advertises a window the viewer
// has read empty only when the window at least doubles (tcp_cleanup_rbuf),
// and on loopback windows come in 64 KiB steps, so the window alone cannot
// tell a viewer that has read everything from one that has not. A transport
// that can ask the viewer (a WebSocket ping: its pong means everything
// before it was read) should ask; one that cannot gets the lenient answer
// the window allows.
func (p *pacer) ready(now time.Time, size int, canAsk bool) readiness {
	if p == nil {
		return drained
	}
	if p.drainedRun >= trustAfter && p.unchecked < trustEvery-1 {
		p.unchecked++
		return drained
	}
	p.unchecked = 0
	r := p.check(now, size, canAsk)
	if r == drained {
		p.drainedRun = min(p.drainedRun+1, trustAfter)
	} else {
		p.drainedRun = 0
	}
	return r
}

// trusted reports whether the viewer has kept up long enough to be checked
// only now and then.
func (p *pacer) trusted() bool { return p != nil && p.drainedRun >= trustAfter }

// distrust puts a viewer whose socket turned out full back to being checked
// at every frame.
func (p *pacer) distrust() {
	if p != nil {
		p.drainedRun = 0
	}
}

// check asks the kernel where the bytes written so far are.
func (p *pacer) check(now time.Time, size int, canAsk bool) readiness {
	if err := p.rc.Control(p.control); err != nil || p.err != nil {
		return drained
	}
	in := &p.info
	if in.State != tcpEstablished {
		// The viewer closed or reset the connection: let the write fail
		// now rather than wait for acknowledgements that never come.
		return drained
	}
	p.maxWnd = max(p.maxWnd, in.Snd_wnd)
	inflight := in.Bytes_sent - in.Bytes_retrans - in.Bytes_acked
	unread := p.maxWnd - in.Snd_wnd
	queued := inflight + uint64(unread)
	switch {
	case in.Notsent_bytes != 0 || inflight > uint64(max(size, minInflight)):
		p.waiting = time.Time{}
		return notYet
	case queued <= uint64(maxUnread) || p.drainedRun > 0 && queued <= uint64(size):
		// A viewer that kept up until now may lag by a frame (a busy
		// phone, a GC pause) and lose nothing; one that is already
		// behind gets the next frame only once it has read the last.
		p.waiting = time.Time{}
		return drained
	case inflight != 0:
		return notYet
	case canAsk:
		return unsure
	}
	// Below half the largest window the window is accurate; above, after
	// a grace, assume the viewer has read it.
	if unread < p.maxWnd/2 {
		return drained
	}
	if p.waiting.IsZero() {
		p.waiting = now
	}
	if now.Sub(p.waiting) >= windowGrace {
		return drained
	}
	return notYet
}

// closed reports whether the viewer has closed its side (or the socket
// failed), for transports that do not read from their viewers.
func (p *pacer) closed() bool {
	if p == nil {
		return false
	}
	if err := p.rc.Control(p.control); err != nil || p.err != nil {
		return true
	}
	return p.info.State != tcpEstablished
}

// tcpEstablished is TCP_ESTABLISHED of Linux's tcp_states.h: any other state
// of a viewer socket means the viewer closed or the connection broke.
const tcpEstablished = 1

func tcpConn(c net.Conn) (*net.TCPConn, bool) {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	tc, ok := c.(*net.TCPConn)
	return tc, ok
}

// directWriter writes a frame to a viewer's socket with one writev that
// never waits, for the camera's direct fan-out (lane). Its buffers are
// reused, so a write costs no allocation. Owned by whoever writes: the lane
// while the viewer rides it.
type directWriter struct {
	rc     syscall.RawConn
	iov    [3]unix.Iovec
	nvec   int
	n      int
	errno  syscall.Errno
	writev func(fd uintptr) bool // method value made once
}

// init makes d a writer for c; false if c is not a plain TCP connection
// (TLS must go through crypto/tls).
func (d *directWriter) init(c net.Conn) bool {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	*d = directWriter{rc: rc}
	d.writev = d.call
	return true
}

func (d *directWriter) call(fd uintptr) bool {
	n, _, errno := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&d.iov[0])), uintptr(d.nvec))
	d.n, d.errno = int(n), errno
	return true // never wait: a full socket is the lane's signal to let go
}

// write writes bufs (at most three) without waiting and returns how many
// bytes the kernel took: fewer than all when the socket filled up, 0 with
// errWouldBlock when it was full already.
func (d *directWriter) write(bufs [][]byte) (int, error) {
	d.nvec = 0
	for _, b := range bufs {
		if len(b) > 0 {
			d.iov[d.nvec].Base = &b[0]
			d.iov[d.nvec].SetLen(len(b))
			d.nvec++
		}
	}
	err := d.rc.Write(d.writev)
	for i := range d.iov {
		d.iov[i] = unix.Iovec{} // hold no frame
	}
	switch {
	case err != nil:
		return 0, err // closed, or a write deadline passed
	case d.errno == unix.EAGAIN || d.errno == unix.EINTR:
		return 0, errWouldBlock
	case d.errno != 0:
		return 0, d.errno
	}
	return d.n, nil
}
