package testpattern

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// t0 is a fixed instant for frames that must be reproducible.
var t0 = time.Date(2024, 5, 17, 13, 45, 12, 345e6, time.Local)

func mustNew(t testing.TB, opts Options) *Pattern {
	t.Helper()
	p, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	return p
}

func decode(t testing.TB, frame []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(frame))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return img
}

// checkStructure walks the markers of a frame: SOI first, the DRI interval
// equal to the MCUs per row, RSTn markers numbered 0..7 cyclically, one per
// MCU row but the last, and EOI last.
func checkStructure(t *testing.T, frame []byte, w, h int) {
	t.Helper()
	if len(frame) < 4 || frame[0] != 0xFF || frame[1] != 0xD8 {
		t.Fatalf("frame does not start with SOI: % x", frame[:min(4, len(frame))])
	}
	if frame[len(frame)-2] != 0xFF || frame[len(frame)-1] != 0xD9 {
		t.Fatalf("frame does not end with EOI: % x", frame[len(frame)-2:])
	}
	i := 2
	dri := -1
	for {
		if frame[i] != 0xFF {
			t.Fatalf("no marker at offset %d", i)
		}
		m := frame[i+1]
		n := int(frame[i+2])<<8 | int(frame[i+3])
		if m == 0xDD {
			dri = int(frame[i+4])<<8 | int(frame[i+5])
		}
		i += 2 + n
		if m == 0xDA {
			break
		}
	}
	if want := w / 16; dri != want {
		t.Errorf("DRI interval %d, want %d", dri, want)
	}
	rst := 0
	for ; i < len(frame)-2; i++ {
		if frame[i] != 0xFF {
			continue
		}
		switch m := frame[i+1]; {
		case m == 0x00:
		case m >= 0xD0 && m <= 0xD7:
			if want := byte(0xD0 + rst%8); m != want {
				t.Fatalf("restart marker %d is %02X, want %02X", rst, m, want)
			}
			rst++
		default:
			t.Fatalf("unexpected marker FF%02X at offset %d", m, i)
		}
		i++
	}
	if want := h/16 - 1; rst != want {
		t.Errorf("%d restart markers, want %d", rst, want)
	}
}

func TestRenderValid(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		w, h int
	}{
		{"default", Options{}, 640, 480},
		{"vga", Options{Width: 640, Height: 480, Label: "demo 640x480"}, 640, 480},
		{"hd", Options{Width: 1280, Height: 720, Label: "demo 1280x720"}, 1280, 720},
		{"qvga q10", Options{Width: 320, Height: 240, Quality: 10}, 320, 240},
		{"small q100", Options{Width: 64, Height: 64, Quality: 100, Label: "a long label that does not fit"}, 64, 64},
		{"odd mcus", Options{Width: 208, Height: 144, Label: "x"}, 208, 144},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, tt.opts)
			for n := range uint64(3) {
				p.SetLED(n == 1)
				frame := p.Render(n, t0.Add(time.Duration(n)*50*time.Millisecond))
				checkStructure(t, frame, tt.w, tt.h)
				img := decode(t, frame)
				if got := img.Bounds().Size(); got != image.Pt(tt.w, tt.h) {
					t.Fatalf("decoded size %v, want %dx%d", got, tt.w, tt.h)
				}
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		sizeErr bool
	}{
		{"width not multiple of 16", Options{Width: 650, Height: 480}, true},
		{"height zero", Options{Width: 640}, true},
		{"too small", Options{Width: 48, Height: 48}, true},
		{"too large", Options{Width: 4112, Height: 480}, true},
		{"negative", Options{Width: -640, Height: 480}, true},
		{"quality high", Options{Quality: 101}, false},
		{"quality negative", Options{Quality: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if got := errors.Is(err, ErrSize); got != tt.sizeErr {
				t.Errorf("errors.Is(%v, ErrSize) = %v, want %v", err, got, tt.sizeErr)
			}
		})
	}
}

func TestConsecutiveFramesDiffer(t *testing.T) {
	p := mustNew(t, Options{})
	prev := p.Render(0, t0)
	for n := uint64(1); n < 5; n++ {
		f := p.Render(n, t0.Add(time.Duration(n)*33*time.Millisecond))
		if bytes.Equal(f, prev) {
			t.Fatalf("frame %d equals frame %d", n, n-1)
		}
		prev = f
	}
}

// TestCounterDiffers checks that the pixels of the counter change between
// frames 1 and 2 at the same instant.
func TestCounterDiffers(t *testing.T) {
	p := mustNew(t, Options{})
	a := decode(t, p.Render(1, t0))
	b := decode(t, p.Render(2, t0))

	var st frameState
	p.lay.plan(&st, make([]byte, 64), 1, t0)
	f := p.lay.font
	// The counter is the last six characters of the bottom line.
	x0 := st.textAt.X + (len(st.text)-6)*f.advance
	area := image.Rect(x0, st.textAt.Y, x0+6*f.advance, st.textAt.Y+f.height)
	if d := meanAbsDiff(a, b, area); d < 1 {
		t.Errorf("counter area %v changed by %.2f per channel on average, want a visible change", area, d)
	}
	// The clock did not move, so its area must not change.
	clock := image.Rect(st.textAt.X, st.textAt.Y, st.textAt.X+12*f.advance, st.textAt.Y+f.height)
	if d := meanAbsDiff(a, b, clock); d != 0 {
		t.Errorf("clock area changed by %.2f with the same time", d)
	}
}

func meanAbsDiff(a, b image.Image, r image.Rectangle) float64 {
	var sum float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			sum += math.Abs(float64(r1)-float64(r2)) + math.Abs(float64(g1)-float64(g2)) + math.Abs(float64(b1)-float64(b2))
		}
	}
	return sum / 257 / 3 / float64(r.Dx()*r.Dy())
}

// TestSplicedEqualsFullEncode checks the splicing: every frame must be
// byte for byte what the encoder makes of the whole picture, whatever rows
// the overlays touched in earlier frames, and after SetLED and SetLabel.
func TestSplicedEqualsFullEncode(t *testing.T) {
	for _, size := range []image.Point{{640, 480}, {1280, 720}} {
		t.Run(fmt.Sprintf("%dx%d", size.X, size.Y), func(t *testing.T) {
			t.Parallel()
			p := mustNew(t, Options{Width: size.X, Height: size.Y, Label: "cam1"})
			check := func(n uint64, tm time.Time) {
				t.Helper()
				got := p.Render(n, tm)
				want := p.enc.encode(p.image(n, tm))
				if !bytes.Equal(got, want) {
					t.Fatalf("frame %d: spliced frame (%d bytes) differs from full encode (%d bytes)", n, len(got), len(want))
				}
			}
			// Frame numbers far apart put the ball in different rows.
			for i, n := range []uint64{0, 1, 2, 57, 58, 1000, 99999, 123456789} {
				check(n, t0.Add(time.Duration(i)*time.Second/7))
			}
			p.SetLED(true)
			check(7, t0)
			p.SetLabel("cam1 renamed with a longer label")
			check(8, t0)
			p.SetLED(false)
			check(9, t0)
			p.SetLabel("")
			check(10, t0)
		})
	}
}

// TestPSNR compares decoded frames with the picture they encode.
func TestPSNR(t *testing.T) {
	for _, q := range []int{50, 80, 95} {
		t.Run(fmt.Sprint("q", q), func(t *testing.T) {
			t.Parallel()
			p := mustNew(t, Options{Quality: q, Label: "psnr"})
			p.SetLED(true)
			ref := p.image(42, t0)
			got := rgba(decode(t, p.Render(42, t0)))
			if v := psnrY(ref, got); v < 30 {
				t.Errorf("luma PSNR %.1f dB against the reference, want > 30", v)
			}
			// image/jpeg's own encoder at the same quality is the yardstick
			// for the whole RGB picture.
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, ref, &jpeg.Options{Quality: q}); err != nil {
				t.Fatal(err)
			}
			std := rgba(decode(t, buf.Bytes()))
			ours, theirs := psnrRGB(ref, got), psnrRGB(ref, std)
			if ours < theirs-0.5 {
				t.Errorf("RGB PSNR %.2f dB, image/jpeg gets %.2f dB", ours, theirs)
			}
			if v := psnrRGB(std, got); v < 35 {
				t.Errorf("PSNR against image/jpeg's output %.1f dB, want > 35", v)
			}
			t.Logf("luma %.1f dB; RGB %.2f dB (image/jpeg %.2f dB)", psnrY(ref, got), ours, theirs)
		})
	}
}

// rgba converts img to RGBA; draw.Draw has a fast path for the YCbCr images
// that image/jpeg returns.
func rgba(img image.Image) *image.RGBA {
	out := image.NewRGBA(img.Bounds())
	draw.Draw(out, out.Rect, img, img.Bounds().Min, draw.Src)
	return out
}

func psnr(se float64, n int) float64 {
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(n)/se)
}

// psnrRGB is the PSNR of b against a over the R, G and B channels.
func psnrRGB(a, b *image.RGBA) float64 {
	var se float64
	n := 0
	for i := 0; i < len(a.Pix); i += 4 {
		for k := range 3 {
			d := float64(a.Pix[i+k]) - float64(b.Pix[i+k])
			se += d * d
		}
		n += 3
	}
	return psnr(se, n)
}

// psnrY is the PSNR of b against a over BT.601 luma.
func psnrY(a, b *image.RGBA) float64 {
	luma := func(p []uint8) float64 { return 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2]) }
	var se float64
	n := 0
	for i := 0; i < len(a.Pix); i += 4 {
		d := luma(a.Pix[i:]) - luma(b.Pix[i:])
		se += d * d
		n++
	}
	return psnr(se, n)
}

func TestFFmpegDecodes(t *testing.T) {
	const ffmpeg = "/usr/bin/ffmpeg"
	if _, err := os.Stat(ffmpeg); err != nil {
		t.Skipf("no %s: %v", ffmpeg, err)
	}
	dir := t.TempDir()
	var files []string
	for _, size := range []image.Point{{640, 480}, {1280, 720}, {320, 240}} {
		p := mustNew(t, Options{Width: size.X, Height: size.Y, Label: fmt.Sprintf("demo %dx%d", size.X, size.Y)})
		for n := range uint64(2) {
			p.SetLED(n == 1)
			name := filepath.Join(dir, fmt.Sprintf("f%dx%d-%d.jpg", size.X, size.Y, n))
			if err := os.WriteFile(name, p.Render(n+1000, t0), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, name)
		}
	}
	for _, f := range files {
		out, err := exec.Command(ffmpeg, "-nostdin", "-v", "error", "-i", f, "-f", "null", "-").CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("ffmpeg %s: %v: %s", filepath.Base(f), err, out)
		}
	}
}

func TestRenderAllocatesOnlyTheFrame(t *testing.T) {
	if testing.Short() {
		t.Skip("AllocsPerRun renders many frames")
	}
	p := mustNew(t, Options{})
	p.SetLED(true)
	n := uint64(0)
	allocs := testing.AllocsPerRun(20, func() {
		n++
		p.Render(n, t0)
	})
	if allocs != 1 {
		t.Errorf("Render allocates %.0f times per frame, want 1", allocs)
	}
}

func TestFrameSize(t *testing.T) {
	p := mustNew(t, Options{Label: "demo 640x480"})
	f := p.Render(1234, t0)
	if len(f) < 20<<10 || len(f) > 60<<10 {
		t.Errorf("640x480 q80 frame is %d bytes, want 20..60 KB like a real camera's", len(f))
	}
}

// frameTimes are the instants the benchmarks render, 33 ms apart.
func frameTime(n int) time.Time { return t0.Add(time.Duration(n) * 33 * time.Millisecond) }

func benchRender(b *testing.B, w, h int) {
	p := mustNew(b, Options{Width: w, Height: h, Label: fmt.Sprintf("demo %dx%d", w, h)})
	b.ReportAllocs()
	size := 0
	n := 0
	cpu0 := cpuTime()
	for b.Loop() {
		size += len(p.Render(uint64(n), frameTime(n)))
		n++
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/op")
	b.ReportMetric(float64(size)/float64(n), "bytes/frame")
}

func BenchmarkRender640x480(b *testing.B)  { benchRender(b, 640, 480) }
func BenchmarkRender1280x720(b *testing.B) { benchRender(b, 1280, 720) }

// benchStdlib encodes the same picture with image/jpeg, for comparison: the
// cost of the naive way, one full encode per frame.
func benchStdlib(b *testing.B, w, h int) {
	p := mustNew(b, Options{Width: w, Height: h, Label: fmt.Sprintf("demo %dx%d", w, h)})
	img := p.image(1, t0)
	var buf bytes.Buffer
	b.ReportAllocs()
	n := 0
	cpu0 := cpuTime()
	for b.Loop() {
		buf.Reset()
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/op")
	b.ReportMetric(float64(buf.Len()), "bytes/frame")
}

func BenchmarkStdlibEncode640x480(b *testing.B)  { benchStdlib(b, 640, 480) }
func BenchmarkStdlibEncode1280x720(b *testing.B) { benchStdlib(b, 1280, 720) }

// benchFull encodes the whole picture with this package's encoder, without
// the row cache: what splicing saves.
func benchFull(b *testing.B, w, h int) {
	p := mustNew(b, Options{Width: w, Height: h})
	img := p.image(1, t0)
	b.ReportAllocs()
	n := 0
	cpu0 := cpuTime()
	for b.Loop() {
		p.enc.encode(img)
		n++
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/op")
}

func BenchmarkFullEncode640x480(b *testing.B)  { benchFull(b, 640, 480) }
func BenchmarkFullEncode1280x720(b *testing.B) { benchFull(b, 1280, 720) }
