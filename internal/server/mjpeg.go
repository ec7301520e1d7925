package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/camrelay/camrelay/internal/frame"
)

// mjpegBoundary separates the parts. Every part also carries Content-Length,
// so a client never has to search the JPEG bytes for it.
const mjpegBoundary = "frame"

// mjpegHead is the whole response head of the hijacked path: HTTP/1.1
// without chunked encoding (VLC and some cameras' clients dislike chunks),
// the connection closed at the end, nothing cached, and X-Accel-Buffering
// telling nginx not to hold frames back even where proxy_buffering is on.
const mjpegHead = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: multipart/x-mixed-replace; boundary=" + mjpegBoundary + "\r\n" +
	"Cache-Control: no-cache, no-store, must-revalidate\r\n" +
	"Pragma: no-cache\r\n" +
	"Expires: 0\r\n" +
	"Connection: close\r\n" +
	"X-Content-Type-Options: nosniff\r\n" +
	"X-Accel-Buffering: no\r\n" +
	"\r\n"

var crlf = []byte("\r\n")

// partWriter writes MJPEG parts: the boundary line and part headers, the
// JPEG, and a CRLF, in one writev on a raw connection. Its buffers are
// reused, so a part costs no allocation. Owned by one viewer goroutine.
type partWriter struct {
	w    io.Writer // a net.Conn (writev) or an http.ResponseWriter
	head []byte
	vec  [3][]byte
	bufs net.Buffers
}

func (p *partWriter) write(f *frame.Frame) error {
	h := appendPartHead(p.head[:0], f)
	p.head = h
	p.vec = [3][]byte{h, f.Data, crlf}
	p.bufs = p.vec[:]
	_, err := p.bufs.WriteTo(p.w)
	p.vec = [3][]byte{}
	return err
}

// appendPartHead appends the boundary line and headers of f's part.
func appendPartHead(h []byte, f *frame.Frame) []byte {
	h = append(h, "--"+mjpegBoundary+"\r\nContent-Type: image/jpeg\r\nContent-Length: "...)
	h = strconv.AppendInt(h, int64(len(f.Data)), 10)
	h = append(h, "\r\nX-Timestamp: "...)
	us := f.Received.UnixMicro()
	h = strconv.AppendInt(h, us/1e6, 10)
	h = append(h, '.')
	frac := us % 1e6
	for d := int64(100000); d > 1 && frac < d; d /= 10 {
		h = append(h, '0')
	}
	h = strconv.AppendInt(h, frac, 10)
	return append(h, "\r\n\r\n"...)
}

// serveMJPEG streams multipart/x-mixed-replace for VLC, ffmpeg, Home
// Assistant, Frigate, go2rtc and motion: a boundary line before every part,
// each part with Content-Type and Content-Length, one write per frame.
func (s *Server) serveMJPEG(w http.ResponseWriter, r *http.Request, cam *camera) {
	release, ok := s.admitOr503(w, cam, tMJPEG)
	if !ok {
		return
	}
	detached := false
	defer func() {
		if !detached {
			release()
		}
	}()
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+mjpegBoundary)
		return
	}

	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 cannot be hijacked: stream through the ResponseWriter.
		ctx, cancel := context.WithCancel(s.base)
		defer cancel()
		stop := context.AfterFunc(r.Context(), cancel)
		defer stop()
		s.left(cam, tMJPEG, s.mjpegBuffered(ctx, w, cam))
		return
	}
	detached = true
	keep := s.keepSlot(r)
	s.detach(func() {
		defer release()
		defer keep()
		s.left(cam, tMJPEG, s.streamMJPEG(conn, cam))
	})
}

// streamMJPEG writes the response and its parts on a hijacked connection
// until the viewer or the gateway goes. An MJPEG client sends nothing after
// its request, so nothing reads from it: no reader goroutine, no read
// buffer. Write errors and a periodic look at the socket's state tell us
// when it has gone.
func (s *Server) streamMJPEG(conn net.Conn, cam *camera) string {
	defer conn.Close()
	tuneViewer(conn)
	ctx := s.base

	_ = conn.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
	if _, err := io.WriteString(conn, mjpegHead); err != nil {
		return writeReason(ctx, err)
	}
	pw := &partWriter{w: conn}
	reason := s.run(ctx, viewer{cam: cam, t: tMJPEG, raw: conn, watchClose: true, send: func(f *frame.Frame, _ uint64) error {
		return pw.write(f)
	}})
	if reason == leftShutdown {
		// End the multipart body properly so clients see a clean end.
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = io.WriteString(conn, "--"+mjpegBoundary+"--\r\n")
	}
	return reason
}

// mjpegBuffered is serveMJPEG over a ResponseWriter that cannot be hijacked.
func (s *Server) mjpegBuffered(ctx context.Context, w http.ResponseWriter, cam *camera) string {
	h := w.Header()
	h.Set("Content-Type", "multipart/x-mixed-replace; boundary="+mjpegBoundary)
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("Pragma", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	pw := &partWriter{w: w}
	return s.run(ctx, viewer{cam: cam, t: tMJPEG, send: func(f *frame.Frame, _ uint64) error {
		_ = rc.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
		if err := pw.write(f); err != nil {
			return err
		}
		return rc.Flush()
	}})
}
