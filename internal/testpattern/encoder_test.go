package testpattern

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// noiseImage returns a w x h picture of smooth colour plus uniform noise of
// the given amplitude; strong noise gives many 0xFF bytes to stuff.
func noiseImage(w, h, amp int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			p := img.Pix[y*img.Stride+x*4:]
			base := [3]int{x * 255 / w, y * 255 / h, 128}
			for k := range 3 {
				v := base[k]
				if amp > 0 {
					v += rng.IntN(2*amp+1) - amp
				}
				p[k] = uint8(min(max(v, 0), 255))
			}
			p[3] = 255
		}
	}
	return img
}

func TestEncodeDecodes(t *testing.T) {
	flat := func(v uint8) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, 96, 64))
		for i := range img.Pix {
			img.Pix[i] = v
		}
		return img
	}
	images := []struct {
		name string
		img  *image.RGBA
	}{
		{"black", flat(0)},
		{"white", flat(255)},
		{"smooth", noiseImage(96, 64, 0, 1)},
		{"noisy", noiseImage(96, 64, 40, 2)},
		{"noise", noiseImage(96, 64, 255, 3)},
	}
	for _, im := range images {
		for _, q := range []int{1, 50, 80, 100} {
			t.Run(fmt.Sprintf("%s/q%d", im.name, q), func(t *testing.T) {
				e := newEncoder(96, 64, q)
				got := rgba(decode(t, e.encode(im.img)))
				var buf bytes.Buffer
				if err := jpeg.Encode(&buf, im.img, &jpeg.Options{Quality: q}); err != nil {
					t.Fatal(err)
				}
				std := rgba(decode(t, buf.Bytes()))
				// The same tables and sampling as image/jpeg: the decoded
				// pictures must nearly agree, and be as close to the source.
				// (Pure noise at low quality is all rounding decisions, where
				// a float and an integer DCT part ways.)
				if v := psnrRGB(std, got); v < 35 && (im.name != "noise" || q >= 80) {
					t.Errorf("PSNR against image/jpeg's result %.1f dB, want > 35", v)
				}
				if ours, theirs := psnrRGB(im.img, got), psnrRGB(im.img, std); ours < theirs-0.5 {
					t.Errorf("PSNR %.2f dB, image/jpeg gets %.2f dB", ours, theirs)
				}
			})
		}
	}
}

// TestAppendRowSplice checks that copying runs of background bits gives the
// same bytes as coding every MCU, for random mixes of background and other
// MCUs, in pictures with and without much byte stuffing.
func TestAppendRowSplice(t *testing.T) {
	const w, h = 320, 48
	rng := rand.New(rand.NewPCG(7, 7))
	for _, amp := range []int{0, 30, 255} {
		e := newEncoder(w, h, 90)
		bgImg, otherImg := noiseImage(w, h, amp, 11), noiseImage(w, h, amp, 12)
		for r := range e.rows {
			bgM, otherM := make([]mcu, e.cols), make([]mcu, e.cols)
			row := make([]*mcu, e.cols)
			for c := range e.cols {
				e.transformMCU(&bgM[c], bgImg, c*16, r*16)
				e.transformMCU(&otherM[c], otherImg, c*16, r*16)
				row[c] = &bgM[c]
			}
			var bg codedRow
			e.codeRow(&bg, row, r)
			if plain := e.appendRow(nil, row, nil, nil, r); !bytes.Equal(plain, bg.seg) {
				t.Fatalf("amp %d row %d: codeRow and appendRow differ", amp, r)
			}
			same := make([]bool, e.cols)
			for trial := range 200 {
				for c := range e.cols {
					same[c] = rng.IntN(3) != 0
					if trial == 0 {
						same[c] = true
					}
					row[c] = &bgM[c]
					if !same[c] {
						row[c] = &otherM[c]
					}
				}
				want := e.appendRow(nil, row, nil, nil, r)
				got := e.appendRow([]byte{0xAA}, row, same, &bg, r)
				if !bytes.Equal(got[1:], want) {
					t.Fatalf("amp %d row %d trial %d same %v: spliced row differs", amp, r, trial, same)
				}
			}
		}
	}
}

func TestBitWriter(t *testing.T) {
	w := bitWriter{buf: []byte{0x12}, start: 1}
	w.put(0xFF, 8)
	w.put(0x3, 2)
	if got := w.pos(); got != 10 {
		t.Errorf("pos %d, want 10", got)
	}
	w.put(0xFFFFFF, 24)
	w.put(0x1, 3)
	if got := w.pos(); got != 37 {
		t.Errorf("pos %d, want 37", got)
	}
	w.flush()
	// 32 ones, stuffed, then 11 001 padded with 111: 1100 1111.
	want := []byte{0x12, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xCF}
	if !bytes.Equal(w.buf, want) {
		t.Errorf("buf % X, want % X", w.buf, want)
	}
}

func TestCopyBits(t *testing.T) {
	src := []uint64{0x0123456789ABCDEF, 0xFEDCBA9876543210, 0}
	for from := range 128 {
		for to := from; to <= 128; to += 7 {
			w := bitWriter{}
			w.copyBits(src, from, to)
			var ref bitWriter
			for i := from; i < to; i++ {
				ref.put(uint32(src[i/64]>>(63-i%64))&1, 1)
			}
			if w.pos() != ref.pos() || w.acc&(1<<w.n-1) != ref.acc&(1<<ref.n-1) || !bytes.Equal(w.buf, ref.buf) {
				t.Fatalf("copyBits(%d, %d) differs from bit-by-bit copy", from, to)
			}
		}
	}
}

func TestMagnitude(t *testing.T) {
	tests := []struct {
		v     int32
		size  uint
		extra uint32
	}{
		{0, 0, 0},
		{1, 1, 1},
		{-1, 1, 0},
		{2, 2, 2},
		{-3, 2, 0},
		{-2, 2, 1},
		{255, 8, 255},
		{-255, 8, 0},
		{1023, 10, 1023},
		{-1023, 10, 0},
		{-2047, 11, 0},
	}
	for _, tt := range tests {
		size, extra := magnitude(tt.v)
		if size != tt.size || extra != tt.extra {
			t.Errorf("magnitude(%d) = %d, %b; want %d, %b", tt.v, size, extra, tt.size, tt.extra)
		}
	}
}

func TestScaledQuant(t *testing.T) {
	if q := scaledQuant(50); q != baseQuant {
		t.Errorf("quality 50 changed the tables: %v", q)
	}
	for _, v := range scaledQuant(100)[0] {
		if v != 1 {
			t.Fatalf("quality 100 has a quantiser %d, want all 1", v)
		}
	}
	if q := scaledQuant(1); q[0][63] != 255 || q[1][63] != 255 {
		t.Errorf("quality 1 not clamped to 255: %d %d", q[0][63], q[1][63])
	}
	seen := map[uint8]bool{}
	for _, n := range unzig {
		seen[n] = true
	}
	if len(seen) != 64 {
		t.Errorf("unzig is not a permutation of 0..63")
	}
}
