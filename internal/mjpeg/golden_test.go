package mjpeg

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// The golden vectors in testdata/mjpeg are MJPEG bodies written byte for
// byte the way each camera's source code writes them, with a JSON file of
// what the Reader must return. `go test ./internal/mjpeg -update` writes
// them again (and the fuzz seed corpus); the expectations come from the
// generator, which knows the JPEGs it put in, never from the Reader.
var update = flag.Bool("update", false, "rewrite the golden vectors in testdata/mjpeg and the fuzz seed corpus")

const goldenDir = "../../testdata/mjpeg"

// vector is one golden stream as stored in vectors.json.
type vector struct {
	File        string `json:"file"`
	About       string `json:"about"`
	ContentType string `json:"content_type"`
	Frames      []want `json:"frames"`
	// End is how the stream ends: "EOF" or "unexpected EOF".
	End string `json:"end"`
}

type want struct {
	Bytes  int    `json:"bytes"`
	SHA256 string `json:"sha256"`
	// TimestampNS is the expected Part.Timestamp in Unix nanoseconds, 0
	// for none.
	TimestampNS int64 `json:"timestamp_ns,omitempty"`
}

func TestGoldenVectors(t *testing.T) {
	if *update {
		writeGolden(t)
	}
	raw, err := os.ReadFile(filepath.Join(goldenDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 10 {
		t.Fatalf("only %d vectors in vectors.json", len(vs))
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one-byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data-err": iotest.DataErrReader,
	}
	for _, v := range vs {
		body, err := os.ReadFile(filepath.Join(goldenDir, v.File))
		if err != nil {
			t.Fatal(err)
		}
		for rname, wrap := range readers {
			t.Run(strings.TrimSuffix(v.File, ".mjpeg")+"/"+rname, func(t *testing.T) {
				r := NewReader(wrap(bytes.NewReader(body)), v.ContentType, 1<<20)
				var got []Part
				var end error
				for {
					p, err := r.Next()
					if err != nil {
						end = err
						break
					}
					got = append(got, p)
				}
				if end.Error() != v.End {
					t.Errorf("stream ended with %v, want %s", end, v.End)
				}
				if len(got) != len(v.Frames) {
					t.Fatalf("got %d parts, want %d", len(got), len(v.Frames))
				}
				for i, p := range got {
					w := v.Frames[i]
					sum := sha256.Sum256(p.Data)
					if len(p.Data) != w.Bytes || hex.EncodeToString(sum[:]) != w.SHA256 {
						t.Errorf("part %d: %d bytes %x…, want %d bytes %s…", i, len(p.Data), sum[:4], w.Bytes, w.SHA256[:8])
					}
					var ts int64
					if !p.Timestamp.IsZero() {
						ts = p.Timestamp.UnixNano()
					}
					if ts != w.TimestampNS {
						t.Errorf("part %d: timestamp %d, want %d", i, ts, w.TimestampNS)
					}
				}
			})
		}
	}
}

// testJPEG encodes a small picture that differs with n.
func testJPEG(t testing.TB, n, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x*8 + n*40), uint8(y * 8), uint8(n * 90), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 75}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withThumbnail returns j with an APP1 EXIF segment that holds a whole
// thumbnail JPEG, FFD9 and all, as phone and IP cameras write them: a
// reader that cuts at the first FFD9 returns a broken frame.
func withThumbnail(t testing.TB, j []byte) []byte {
	thumb := testJPEG(t, 7, 8, 8)
	payload := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"), thumb...)
	n := len(payload) + 2
	seg := append([]byte{0xFF, 0xE1, byte(n >> 8), byte(n)}, payload...)
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// golden builds the vectors: each body as its camera's source writes it.
func golden(t testing.TB) (vs []vector, bodies map[string][]byte) {
	bodies = map[string][]byte{}
	jp := []([]byte){testJPEG(t, 0, 32, 24), testJPEG(t, 1, 32, 24), testJPEG(t, 2, 48, 32)}
	thumbed := withThumbnail(t, testJPEG(t, 3, 32, 24))
	sum := func(b []byte, tsNS int64) want {
		s := sha256.Sum256(b)
		return want{Bytes: len(b), SHA256: hex.EncodeToString(s[:]), TimestampNS: tsNS}
	}
	add := func(file, about, ct, end string, body []byte, frames ...want) {
		vs = append(vs, vector{File: file, About: about, ContentType: ct, Frames: frames, End: end})
		bodies[file] = body
	}
	const cwsB = "123456789000000000000987654321"

	// arduino-esp32 CameraWebServer app_httpd.cpp: _STREAM_BOUNDARY
	// "\r\n--B\r\n" before each part, _STREAM_PART with X-Timestamp
	// "%d.%06d" (time since boot), the JPEG, no closing boundary.
	var b bytes.Buffer
	var frames []want
	for i, j := range jp {
		sec, usec := 12+i, 34567*(i+1)
		fmt.Fprintf(&b, "\r\n--%s\r\n", cwsB)
		fmt.Fprintf(&b, "Content-Type: image/jpeg\r\nContent-Length: %d\r\nX-Timestamp: %d.%06d\r\n\r\n", len(j), sec, usec)
		b.Write(j)
		frames = append(frames, sum(j, time.Unix(int64(sec), int64(usec)*1000).UnixNano()))
	}
	add("camerawebserver.mjpeg", "arduino-esp32 CameraWebServer /stream (port 81), body after de-chunking",
		"multipart/x-mixed-replace;boundary="+cwsB, "EOF", bytes.Clone(b.Bytes()), frames...)

	// ESPHome esp32_camera_web_server: STREAM_HEADER ends with the first
	// "--B\r\n"; STREAM_PART, the JPEG, then STREAM_BOUNDARY "\r\n--B\r\n".
	b.Reset()
	frames = nil
	fmt.Fprintf(&b, "--%s\r\n", cwsB)
	for _, j := range jp {
		fmt.Fprintf(&b, "Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(j))
		b.Write(j)
		fmt.Fprintf(&b, "\r\n--%s\r\n", cwsB)
		frames = append(frames, sum(j, 0))
	}
	add("esphome.mjpeg", "ESPHome esp32_camera_web_server stream, body after its HTTP/1.0 header",
		"multipart/x-mixed-replace;boundary="+cwsB, "EOF", bytes.Clone(b.Bytes()), frames...)

	// ESPHome with no frame within 5 s: STREAM_ERROR, then close.
	b.Reset()
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain\r\n\r\nNo frames send.\r\n--%s\r\n", cwsB, cwsB)
	add("esphome-noframes.mjpeg", "ESPHome's text/plain part when the camera had no frame: skipped",
		"multipart/x-mixed-replace;boundary="+cwsB, "EOF", bytes.Clone(b.Bytes()))

	// µStreamer: "--boundarydonotcross\r\n" after the header, each part
	// with X-Timestamp "%.06Lf" of the real clock, trailed by the
	// boundary; the second part as with ?extra_headers=1.
	b.Reset()
	frames = nil
	b.WriteString("--boundarydonotcross\r\n")
	for i, j := range jp[:2] {
		ts := fmt.Sprintf("1767225600.%06d", 250000*(i+1))
		fmt.Fprintf(&b, "Content-Type: image/jpeg\r\nContent-Length: %d\r\nX-Timestamp: %s\r\n", len(j), ts)
		if i == 1 {
			b.WriteString("X-UStreamer-Online: true\r\nX-UStreamer-Dropped: 0\r\nX-UStreamer-Width: 32\r\n" +
				"X-UStreamer-Height: 24\r\nX-UStreamer-Client-FPS: 30\r\nX-UStreamer-Latency: 0.012345\r\n")
		}
		b.WriteString("\r\n")
		b.Write(j)
		b.WriteString("\r\n--boundarydonotcross\r\n")
		frames = append(frames, sum(j, time.Unix(1767225600, int64(250000*(i+1))*1000).UnixNano()))
	}
	add("ustreamer.mjpeg", "µStreamer /stream (and ?extra_headers=1 on the second part)",
		"multipart/x-mixed-replace;boundary=boundarydonotcross", "EOF", bytes.Clone(b.Bytes()), frames...)

	// µStreamer ?advance_headers=1: no Content-Length; the next part's
	// headers follow each frame at once. The first frame carries an EXIF
	// thumbnail.
	b.Reset()
	frames = nil
	b.WriteString("--boundarydonotcross\r\nContent-Type: image/jpeg\r\nX-Timestamp: 1767225600.500000\r\n\r\n")
	for i, j := range [][]byte{thumbed, jp[1]} {
		b.Write(j)
		fmt.Fprintf(&b, "\r\n--boundarydonotcross\r\nContent-Type: image/jpeg\r\nX-Timestamp: 1767225600.%06d\r\n\r\n", 600000+100000*i)
		frames = append(frames, sum(j, time.Unix(1767225600, int64(500000+100000*i)*1000).UnixNano()))
	}
	add("ustreamer-advance-headers.mjpeg", "µStreamer ?advance_headers=1: no Content-Length, headers sent ahead",
		"multipart/x-mixed-replace;boundary=boundarydonotcross", "EOF", bytes.Clone(b.Bytes()), frames...)

	// No Content-Length, boundary before each part, JPEGs with an EXIF
	// thumbnail (its FFD9 must not end the frame).
	b.Reset()
	frames = nil
	for _, j := range [][]byte{thumbed, jp[0], thumbed} {
		b.WriteString("--frame\r\nContent-Type: image/jpeg\r\n\r\n")
		b.Write(j)
		b.WriteString("\r\n")
		frames = append(frames, sum(j, 0))
	}
	add("no-content-length.mjpeg", "parts without Content-Length; JPEGs with an EXIF thumbnail inside",
		"multipart/x-mixed-replace; boundary=frame", "EOF", bytes.Clone(b.Bytes()), frames...)

	// LF line ends, a quoted boundary with "--" in the header value, a
	// closing boundary and an epilogue.
	b.Reset()
	frames = nil
	b.WriteString("preamble that RFC 2046 allows\n")
	for _, j := range jp {
		fmt.Fprintf(&b, "--myboundary\nContent-Type: image/jpeg\nContent-Length: %d\n\n", len(j))
		b.Write(j)
		b.WriteString("\n")
		frames = append(frames, sum(j, 0))
	}
	b.WriteString("--myboundary--\nepilogue\n")
	add("lf-only.mjpeg", "LF line ends, quoted boundary with a leading -- in the header, closing boundary",
		`multipart/x-mixed-replace; boundary="--myboundary"`, "EOF", bytes.Clone(b.Bytes()), frames...)

	// ffmpeg -f mpjpeg: "--ffmpeg", lower-case "Content-type" and
	// "Content-length", CRLF after the data. Served by ffmpeg -listen 1
	// with Content-Type application/octet-stream.
	b.Reset()
	frames = nil
	for _, j := range jp {
		fmt.Fprintf(&b, "--ffmpeg\r\nContent-type: image/jpeg\r\nContent-length: %d\r\n\r\n", len(j))
		b.Write(j)
		b.WriteString("\r\n")
		frames = append(frames, sum(j, 0))
	}
	add("ffmpeg.mjpeg", "ffmpeg -f mpjpeg -listen 1: boundary learnt from the body",
		"application/octet-stream", "EOF", bytes.Clone(b.Bytes()), frames...)

	// go2rtc /api/stream.mjpeg: "boundary=frame" with a space.
	b.Reset()
	frames = nil
	for _, j := range jp {
		fmt.Fprintf(&b, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(j))
		b.Write(j)
		b.WriteString("\r\n")
		frames = append(frames, sum(j, 0))
	}
	add("go2rtc.mjpeg", "go2rtc /api/stream.mjpeg", "multipart/x-mixed-replace; boundary=frame", "EOF",
		bytes.Clone(b.Bytes()), frames...)

	// A boundary line that differs from the header's (go2rtc #545).
	b.Reset()
	frames = nil
	for _, j := range jp[:2] {
		fmt.Fprintf(&b, "\r\n--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(j))
		b.Write(j)
		frames = append(frames, sum(j, 0))
	}
	add("wrong-boundary.mjpeg", "boundary line differs from the Content-Type's boundary",
		"multipart/x-mixed-replace;boundary="+cwsB, "EOF", bytes.Clone(b.Bytes()), frames...)

	// Padding after the JPEG (with and without Content-Length) before the
	// next boundary, and a Content-Length that is not a number.
	b.Reset()
	frames = nil
	fmt.Fprintf(&b, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", cwsB, len(jp[0]))
	b.Write(jp[0])
	b.WriteString("\x00\x00\x00\x00\r\n")
	frames = append(frames, sum(jp[0], 0))
	fmt.Fprintf(&b, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: unknown\r\nX-Timestamp: junk\r\n\r\n", cwsB)
	b.Write(jp[1])
	b.WriteString("\x00\x00\r\n")
	frames = append(frames, sum(jp[1], 0))
	fmt.Fprintf(&b, "--%s\r\nContent-Type: image/jpeg\r\n\r\n", cwsB)
	b.Write(jp[2])
	frames = append(frames, sum(jp[2], 0))
	add("padding.mjpeg", "zero padding after frames, a Content-Length that is not a number",
		"multipart/x-mixed-replace;boundary="+cwsB, "EOF", bytes.Clone(b.Bytes()), frames...)

	// The camera dies in the middle of the third frame.
	cws := bodies["camerawebserver.mjpeg"]
	cut := len(cws) - len(jp[2])/2
	add("truncated.mjpeg", "CameraWebServer stream cut in the middle of the third frame: that part is never returned",
		"multipart/x-mixed-replace;boundary="+cwsB, "unexpected EOF", cws[:cut], vs[0].Frames[:2]...)
	return vs, bodies
}

func writeGolden(t *testing.T) {
	vs, bodies := golden(t)
	if err := os.MkdirAll(goldenDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if err := os.WriteFile(filepath.Join(goldenDir, v.File), bodies[v.File], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	js, err := json.MarshalIndent(vs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(goldenDir, "vectors.json"), append(js, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	// The fuzz seed corpus: every vector, in the format of testing/fuzz.
	dir := filepath.Join("testdata", "fuzz", "FuzzReader")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nstring(%q)\n", bodies[v.File], v.ContentType)
		name := strings.TrimSuffix(v.File, ".mjpeg")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wrote %d vectors to %s and the fuzz seeds to %s", len(vs), goldenDir, dir)
}

// classify maps a Reader error to its kind, for comparing two runs.
func classify(err error) string {
	for _, e := range []error{io.EOF, io.ErrUnexpectedEOF, ErrTooLarge, ErrHeaderTooLong, ErrNotMultipart, ErrNoBoundary} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return err.Error()
}
