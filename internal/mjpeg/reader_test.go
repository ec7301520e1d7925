package mjpeg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func TestBoundary(t *testing.T) {
	for _, tc := range []struct{ name, ct, want string }{
		{"camerawebserver", "multipart/x-mixed-replace;boundary=123456789000000000000987654321", "123456789000000000000987654321"},
		{"go2rtc with space", "multipart/x-mixed-replace; boundary=frame", "frame"},
		{"quoted", `multipart/x-mixed-replace; boundary="my boundary"`, "my boundary"},
		{"leading dashes", "multipart/x-mixed-replace;boundary=--myboundary", "--myboundary"},
		{"upper case, spaces", "Multipart/X-Mixed-Replace ; BOUNDARY = abc ", "abc"},
		{"after another parameter", "multipart/x-mixed-replace; charset=utf-8; boundary=b", "b"},
		{"none", "multipart/x-mixed-replace", ""},
		{"octet-stream", "application/octet-stream", ""},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Boundary(tc.ct); got != tc.want {
				t.Errorf("Boundary(%q) = %q, want %q", tc.ct, got, tc.want)
			}
		})
	}
}

func TestParseTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"12.034567", time.Unix(12, 34567000), true},
		{"1767225600.123456", time.Unix(1767225600, 123456000), true},
		{"5", time.Unix(5, 0), true},
		{"5.1234567891", time.Unix(5, 123456789), true},
		{" 7.5 ", time.Unix(7, 500000000), true},
		{"", time.Time{}, false},
		{"-1.5", time.Time{}, false},
		{"+1.5", time.Time{}, false},
		{"1.5e3", time.Time{}, false},
		{"abc", time.Time{}, false},
		{"99999999999999999999", time.Time{}, false},
	} {
		got, ok := ParseTimestamp(tc.in)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// next reads one part or fails the test.
func next(t *testing.T, r *Reader) Part {
	t.Helper()
	p, err := r.Next()
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return p
}

func TestLimits(t *testing.T) {
	j := testJPEG(t, 0, 64, 64)
	for _, tc := range []struct {
		name string
		body string
		want error
	}{
		{"content-length over the limit",
			fmt.Sprintf("--b\r\nContent-Length: %d\r\n\r\n%s", len(j), j), ErrTooLarge},
		{"no content-length, over the limit",
			fmt.Sprintf("--b\r\nContent-Type: image/jpeg\r\n\r\n%s\r\n--b\r\n", j), ErrTooLarge},
		{"no content-length, no end",
			"--b\r\n\r\n" + strings.Repeat("x", 4000), ErrTooLarge},
		{"header line over 8 KiB",
			"--b\r\nX-Junk: " + strings.Repeat("x", 9000) + "\r\n\r\n", ErrHeaderTooLong},
		{"many header lines over 8 KiB",
			"--b\r\n" + strings.Repeat("X-Junk: 0123456789\r\n", 500), ErrHeaderTooLong},
		{"blank lines before the boundary over 8 KiB",
			strings.Repeat("\r\n", 5000) + "--b\r\n", ErrHeaderTooLong},
		{"garbage between parts over the limit",
			fmt.Sprintf("--b\r\nContent-Length: 4\r\n\r\n\xff\xd8\xff\xd9\r\n%s", strings.Repeat("\x00", 20000)), ErrNoBoundary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &countingReader{r: strings.NewReader(tc.body)}
			r := NewReader(src, "multipart/x-mixed-replace;boundary=b", int64(len(j)-1))
			var err error
			for err == nil {
				_, err = r.Next()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// endless is a stream that never ends and never has a newline.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += len(p)
	return len(p), nil
}

func TestBoundedReads(t *testing.T) {
	// A stream of endless garbage must be given up on after a bounded
	// number of bytes, whatever the state.
	for _, tc := range []struct{ name, prefix string }{
		{"before the first boundary", ""},
		{"in a header", "--b\r\n"},
		{"in a body without length", "--b\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &endless{}
			r := NewReader(io.MultiReader(strings.NewReader(tc.prefix), e), "multipart/x-mixed-replace;boundary=b", 1<<16)
			if _, err := r.Next(); err == nil {
				t.Fatal("Next returned a part of endless garbage")
			}
			if e.n > 1<<17+initialBuf {
				t.Errorf("read %d bytes of garbage before giving up", e.n)
			}
			if len(r.buf) > 1<<17 {
				t.Errorf("buffer grew to %d bytes", len(r.buf))
			}
		})
	}
}

func TestNotMultipart(t *testing.T) {
	j := testJPEG(t, 0, 16, 16)
	r := NewReader(bytes.NewReader(j), "application/octet-stream", 0)
	if _, err := r.Next(); !errors.Is(err, ErrNotMultipart) {
		t.Fatalf("a bare JPEG: got %v, want ErrNotMultipart", err)
	}
}

func TestPartWithoutHeaders(t *testing.T) {
	j := testJPEG(t, 0, 16, 16)
	body := "--b\r\n" + string(j) + "\r\n--b\r\n\r\n" + string(j) + "\r\n--b--\r\n"
	r := NewReader(strings.NewReader(body), "multipart/x-mixed-replace;boundary=b", 0)
	for i := range 2 {
		if p := next(t, r); !bytes.Equal(p.Data, j) {
			t.Fatalf("part %d: %d bytes, want %d", i, len(p.Data), len(j))
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the closing boundary: %v, want io.EOF", err)
	}
}

func TestEmptyAndTextPartsSkipped(t *testing.T) {
	j := testJPEG(t, 0, 16, 16)
	body := "--b\r\n--b\r\nContent-Length: 0\r\n\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello\r\n" +
		"--b\r\nContent-Type: application/octet-stream\r\n\r\n" + string(j) + "\r\n--b--"
	r := NewReader(strings.NewReader(body), "multipart/x-mixed-replace;boundary=b", 0)
	if p := next(t, r); !bytes.Equal(p.Data, j) {
		t.Fatalf("got %d bytes %q…, want the JPEG", len(p.Data), clip(p.Data))
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
}

// TestFrameReturnedAtOnce checks that a part is returned as soon as its
// last byte arrives, without waiting for the next boundary: CameraWebServer
// sends the boundary ahead of the next frame, and waiting for it would put
// every frame one frame late.
func TestFrameReturnedAtOnce(t *testing.T) {
	j := withThumbnail(t, testJPEG(t, 0, 32, 32))
	for _, tc := range []struct{ name, head string }{
		{"content-length", fmt.Sprintf("\r\n--b\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(j))},
		{"no content-length", "\r\n--b\r\nContent-Type: image/jpeg\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pr.Close()
			go func() {
				pw.Write([]byte(tc.head))
				pw.Write(j)
				// Then nothing: the next frame does not exist yet.
			}()
			r := NewReader(pr, "multipart/x-mixed-replace;boundary=b", 0)
			got := make(chan []byte, 1)
			go func() {
				p, _ := r.Next()
				got <- p.Data
			}()
			select {
			case d := <-got:
				if !bytes.Equal(d, j) {
					t.Fatalf("got %d bytes, want the %d-byte JPEG", len(d), len(j))
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the part was not returned before more bytes came")
			}
			pw.Close()
		})
	}
}

func TestJPEGWalk(t *testing.T) {
	plain := testJPEG(t, 0, 16, 16)
	thumbed := withThumbnail(t, plain)
	// Restart markers, stuffed bytes and fill bytes in the scan, and fill
	// bytes before EOI.
	crafted := []byte{0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x04, 0xFF, 0xD9, 0xFF, 0xDA, 0x00, 0x02,
		0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF, 0xD9}
	for _, tc := range []struct {
		name string
		b    []byte
		want int
	}{
		{"plain", plain, len(plain)},
		{"thumbnail", thumbed, len(thumbed)},
		{"crafted", crafted, len(crafted)},
		{"trailing bytes", append(bytes.Clone(plain), 0, 0, '\r', '\n'), len(plain)},
		{"cut short", plain[:len(plain)-1], -1},
		{"not a JPEG", []byte("No frames send.\r\n"), walkBad},
		{"two SOIs", []byte{0xFF, 0xD8, 0xFF, 0xD8}, walkBad},
		{"bad segment length", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01}, walkBad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var j jpegWalk
			if got := j.end(tc.b); got != tc.want {
				t.Errorf("whole: end = %d, want %d", got, tc.want)
			}
			// Byte by byte, as the bytes arrive.
			j = jpegWalk{}
			got := -1
			for n := 1; n <= len(tc.b) && got == -1; n++ {
				got = j.end(tc.b[:n])
			}
			if got != tc.want {
				t.Errorf("byte by byte: end = %d, want %d", got, tc.want)
			}
		})
	}
}
