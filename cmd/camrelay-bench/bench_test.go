package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image/jpeg"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: every viewer,
// acceptor and fan-out loop must stop with its context.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wsFrame builds one unmasked server frame.
func wsFrame(fin bool, opcode byte, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	hdr := wsFrameHeader(len(payload))
	hdr[0] = b0
	return append(hdr, payload...)
}

func TestWSReader(t *testing.T) {
	big := bytes.Repeat([]byte{0xAB}, 70000) // needs the 8-byte length
	mid := bytes.Repeat([]byte{0xCD}, 256)   // needs the 2-byte length
	type msg struct {
		op   byte
		data string
	}
	tests := []struct {
		name    string
		in      []byte
		want    []msg
		wantErr error  // checked with errors.Is, after the messages
		errText string // or a substring of the error
		pongs   []string
	}{
		{
			// RFC 6455 §5.7: a single-frame unmasked text message.
			name: "rfc single frame text",
			in:   []byte{0x81, 0x05, 'H', 'e', 'l', 'l', 'o'},
			want: []msg{{opText, "Hello"}},
		},
		{
			// RFC 6455 §5.7: a fragmented unmasked text message.
			name: "rfc fragmented text",
			in:   []byte{0x01, 0x03, 'H', 'e', 'l', 0x80, 0x02, 'l', 'o'},
			want: []msg{{opText, "Hello"}},
		},
		{
			name: "16-bit length",
			in:   wsFrame(true, opBinary, mid),
			want: []msg{{opBinary, string(mid)}},
		},
		{
			name: "64-bit length",
			in:   wsFrame(true, opBinary, big),
			want: []msg{{opBinary, string(big)}},
		},
		{
			name:  "ping between fragments is answered",
			in:    concat(wsFrame(false, opBinary, []byte("ab")), wsFrame(true, opPing, []byte("Hello")), wsFrame(true, opContinuation, []byte("cd"))),
			want:  []msg{{opBinary, "abcd"}},
			pongs: []string{"Hello"},
		},
		{
			name: "text then binary, buffer reused",
			in:   concat(wsFrame(true, opText, []byte(`{"type":"hello"}`)), wsFrame(true, opBinary, []byte{0xFF, 0xD8, 0xFF, 0xD9})),
			want: []msg{{opText, `{"type":"hello"}`}, {opBinary, "\xFF\xD8\xFF\xD9"}},
		},
		{
			name:    "close frame",
			in:      concat(wsFrame(true, opBinary, []byte("x")), wsFrame(true, opClose, []byte{0x0F, 0xA8, 's', 'l', 'o', 'w'})),
			want:    []msg{{opBinary, "x"}},
			wantErr: errWSClosed,
			errText: "status 4008",
		},
		{
			name:    "masked server frame",
			in:      []byte{0x82, 0x81, 1, 2, 3, 4, 'x'},
			errText: "masked frame",
		},
		{
			name:    "reserved bits",
			in:      []byte{0xC2, 0x01, 'x'},
			errText: "reserved bits",
		},
		{
			name:    "reserved opcode",
			in:      []byte{0x83, 0x01, 'x'},
			errText: "reserved opcode",
		},
		{
			name:    "continuation first",
			in:      []byte{0x80, 0x01, 'x'},
			errText: "continuation frame without",
		},
		{
			name:    "new message inside a fragmented one",
			in:      concat(wsFrame(false, opBinary, []byte("a")), wsFrame(true, opBinary, []byte("b"))),
			errText: "inside a fragmented",
		},
		{
			name:    "fragmented ping",
			in:      []byte{0x09, 0x00},
			errText: "control frame",
		},
		{
			name:    "truncated payload",
			in:      []byte{0x82, 0x05, 'a', 'b'},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "over the size limit",
			in:      binary.BigEndian.AppendUint64([]byte{0x82, 127}, maxMessageBytes+1),
			errText: "over",
		},
		{
			name:    "clean end",
			in:      nil,
			wantErr: io.EOF,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			r := &wsReader{br: bufio.NewReader(bytes.NewReader(tt.in)), w: &out}
			for i, want := range tt.want {
				op, p, err := r.next()
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if op != want.op || string(p) != want.data {
					t.Fatalf("message %d = (%#x, %d bytes), want (%#x, %d bytes)", i, op, len(p), want.op, len(want.data))
				}
			}
			if tt.wantErr != nil || tt.errText != "" {
				_, _, err := r.next()
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				if tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)) {
					t.Errorf("err = %v, want one containing %q", err, tt.errText)
				}
			}
			for _, want := range tt.pongs {
				got := unmaskClientFrame(t, &out)
				if got != want {
					t.Errorf("pong payload %q, want %q", got, want)
				}
			}
			if out.Len() != 0 {
				t.Errorf("%d unexpected bytes written", out.Len())
			}
		})
	}
}

// unmaskClientFrame reads one small masked pong from b and returns its
// payload, checking the frame is a final, masked pong (RFC 6455 §5.3).
func unmaskClientFrame(t *testing.T, b *bytes.Buffer) string {
	t.Helper()
	h := b.Next(2)
	if len(h) != 2 || h[0] != 0x80|opPong || h[1]&0x80 == 0 {
		t.Fatalf("pong header % x, want 8a with the mask bit", h)
	}
	key := b.Next(4)
	p := b.Next(int(h[1] & 0x7F))
	out := make([]byte, len(p))
	for i := range p {
		out[i] = p[i] ^ key[i%4]
	}
	return string(out)
}

func TestWSAccept(t *testing.T) {
	// RFC 6455 §1.3's example.
	if got, want := wsAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Errorf("wsAccept = %q, want %q", got, want)
	}
}

func TestMJPEGReader(t *testing.T) {
	jpegA := "\xFF\xD8AAAA\xFF\xD9"
	jpegB := "\xFF\xD8BB\r\n--frame\r\nBB\xFF\xD9" // a body may hold the boundary
	part := func(body string, extra string) string {
		return "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n" + extra + "\r\n" + body + "\r\n"
	}
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr error
		errText string
	}{
		{
			name:    "gateway parts then closing boundary",
			in:      part(jpegA, "X-Timestamp: 1700000000.123456\r\n") + part(jpegB, "") + "--frame--\r\n",
			want:    []string{jpegA, jpegB},
			wantErr: io.EOF,
		},
		{
			name: "bare LF and header case",
			in:   "--frame\ncontent-length:  " + strconv.Itoa(len(jpegA)) + "\n\n" + jpegA + "\n",
			want: []string{jpegA},
		},
		{
			name:    "missing Content-Length",
			in:      "--frame\r\nContent-Type: image/jpeg\r\n\r\n" + jpegA,
			errText: "without Content-Length",
		},
		{
			name:    "bad Content-Length",
			in:      "--frame\r\nContent-Length: 12x\r\n\r\n",
			errText: "bad Content-Length",
		},
		{
			name:    "garbage instead of a boundary",
			in:      "hello\r\n",
			errText: "where the boundary",
		},
		{
			name:    "truncated body",
			in:      "--frame\r\nContent-Length: 100\r\n\r\nshort",
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "truncated headers",
			in:      "--frame\r\nContent-Length: 100\r\n",
			wantErr: io.ErrUnexpectedEOF,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &mjpegReader{br: bufio.NewReader(strings.NewReader(tt.in)), boundary: []byte("--frame")}
			for i, want := range tt.want {
				p, err := r.next()
				if err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
				if string(p) != want {
					t.Fatalf("part %d = %q, want %q", i, p, want)
				}
			}
			if tt.wantErr == nil && tt.errText == "" {
				return
			}
			_, err := r.next()
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)) {
				t.Errorf("err = %v, want one containing %q", err, tt.errText)
			}
		})
	}
}

func TestMJPEGHandshake(t *testing.T) {
	tests := []struct {
		name    string
		resp    string
		errText string
	}{
		{"ok", "HTTP/1.1 200 OK\r\n" + strings.TrimPrefix(mjpegResponse, "HTTP/1.1 200 OK\r\n"), ""},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n", "Transfer-Encoding"},
		{"not multipart", "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\n", "want multipart"},
		{"status", "HTTP/1.1 503 Service Unavailable\r\n\r\n", "503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req bytes.Buffer
			boundary, err := mjpegHandshake(bufio.NewReader(strings.NewReader(tt.resp)), &req, "h:1", "/cam/x/stream.mjpeg")
			if !strings.HasPrefix(req.String(), "GET /cam/x/stream.mjpeg HTTP/1.1\r\nHost: h:1\r\n") {
				t.Errorf("request %q", req.String())
			}
			if tt.errText == "" {
				if err != nil || string(boundary) != "--frame" {
					t.Errorf("boundary %q, err %v; want --frame, nil", boundary, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("err = %v, want one containing %q", err, tt.errText)
			}
		})
	}
}

func TestStamp(t *testing.T) {
	bases, _, err := makeBaseFrames(1)
	if err != nil {
		t.Fatal(err)
	}
	base := bases[0]
	if n := len(base); n < targetFrameBytes*8/10 || n > targetFrameBytes*12/10 {
		t.Errorf("frame is %d bytes, want about %d", n, targetFrameBytes)
	}
	sent := time.Unix(1_700_000_000, 123_456_789)
	f, err := stampFrame(base, stamp{Seq: 42, Sent: sent})
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != len(base)+stampLen || !endsWithEOI(f) {
		t.Fatalf("stamped frame is %d bytes (want %d) or lost its EOI", len(f), len(base)+stampLen)
	}
	st, err := readStamp(f)
	if err != nil {
		t.Fatal(err)
	}
	if st.Seq != 42 || !st.Sent.Equal(sent) {
		t.Errorf("readStamp = %+v, want seq 42 sent %v", st, sent)
	}
	// The COM segment keeps the frame a valid JPEG.
	img, err := jpeg.Decode(bytes.NewReader(f))
	if err != nil {
		t.Fatalf("stamped frame does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != frameWidth || b.Dy() != frameHeight {
		t.Errorf("decoded %v, want %dx%d", b, frameWidth, frameHeight)
	}
	if !bytes.Equal(bases[0], base) {
		t.Error("stampFrame modified its base")
	}

	for name, b := range map[string][]byte{
		"unstamped": base,
		"short":     f[:10],
		"bad magic": append(append([]byte{}, f[:6]...), append([]byte("XXBENCH1"), f[14:]...)...),
	} {
		if _, err := readStamp(b); !errors.Is(err, errNoStamp) {
			t.Errorf("readStamp(%s) err = %v, want errNoStamp", name, err)
		}
	}
	if _, err := stampFrame([]byte("not a jpeg"), stamp{}); err == nil {
		t.Error("stampFrame accepted a buffer without SOI")
	}
}

func TestAdvance(t *testing.T) {
	bufs := [][]byte{[]byte("head"), []byte("body"), []byte("\r\n")}
	tests := []struct {
		n    int
		want string
	}{{0, "headbody\r\n"}, {2, "adbody\r\n"}, {4, "body\r\n"}, {9, "\n"}, {10, ""}}
	for _, tt := range tests {
		if got := string(bytes.Join(advance(bufs, tt.n), nil)); got != tt.want {
			t.Errorf("advance(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	d := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for q, want := range map[float64]time.Duration{0.5: 5, 0.99: 10, 1: 10, 0: 1, 0.25: 3} {
		if got := percentile(d, q); got != want {
			t.Errorf("percentile(%v) = %v, want %v", q, got, want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}

// TestCeilingWithViewers runs the ceiling in-process and reads it with the
// bench's own viewers: the two ends of the bench must agree.
func TestCeilingWithViewers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pr, pw := io.Pipe()
	srvCtx, stopSrv := context.WithCancel(ctx)
	srvDone := make(chan error, 1)
	go func() { srvDone <- serveCeiling(srvCtx, pw) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	feedAddr, viewAddr := ceilingAddrs(line)

	vs := attach(ctx, []viewerSpec{
		{addr: viewAddr, path: "/ws", transport: transportWS},
		{addr: viewAddr, path: "/stream.mjpeg", transport: transportMJPEG},
	})
	defer vs.close()

	sink, err := dialFeed(ctx, feedAddr)
	if err != nil {
		t.Fatal(err)
	}
	base := []byte("\xFF\xD8body\xFF\xD9")
	for seq := uint64(1); vs.ready.Load() < 2; seq++ {
		f, _ := stampFrame(base, stamp{Seq: seq, Sent: time.Now()})
		if err := sink.send(ctx, f); err != nil {
			t.Fatal(err)
		}
		if sleepCtx(ctx, 5*time.Millisecond) != nil {
			t.Fatal("viewers got no frame")
		}
	}
	sink.c.Close()
	stopSrv()
	if err := <-srvDone; err != nil {
		t.Errorf("serveCeiling: %v", err)
	}
	vs.close()
	for i, r := range vs.recs {
		s := r.snapshot()
		if s.total == 0 || s.bad != 0 || s.reordered != 0 {
			t.Errorf("viewer %d: %d frames, %d bad, %d reordered", i, s.total, s.bad, s.reordered)
		}
	}
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestRendezvousStartsTheWindowWhenTheLastTargetIsReady(t *testing.T) {
	ctx := t.Context()
	early := time.Now()
	late := early.Add(300 * time.Millisecond)
	r := newRendezvous(2)
	got := make(chan time.Time, 1)
	go func() {
		s, err := r.meet(ctx, early)
		if err != nil {
			t.Error(err)
		}
		got <- s
	}()
	s, err := r.meet(ctx, late)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Equal(late) || !(<-got).Equal(late) {
		t.Errorf("both targets should start at the later offer %v; got %v", late, s)
	}

	// A target that failed before its window arrives with the zero time
	// and does not hold up, or move, the other's window.
	r = newRendezvous(2)
	go func() { _, _ = r.meet(ctx, time.Time{}) }()
	if s, err := r.meet(ctx, early); err != nil || !s.Equal(early) {
		t.Errorf("alone after a failed partner: start %v, %v; want %v", s, err, early)
	}

	// A target measured alone has no rendezvous.
	var none *rendezvous
	if s, err := none.meet(ctx, early); err != nil || !s.Equal(early) {
		t.Errorf("nil rendezvous: %v, %v", s, err)
	}

	// A partner that never comes is given up with the context.
	r = newRendezvous(2)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := r.meet(short, early); err == nil {
		t.Error("meet returned without the partner or the context ending")
	}
}
