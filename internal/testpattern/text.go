package testpattern

import (
	"image"
	"image/color"
	"unicode/utf8"

	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/inconsolata"
	"golang.org/x/image/math/fixed"
)

// face is the bitmap font of the pattern: Inconsolata Bold 8x16, a
// monospace face with anti-aliased masks, enlarged by an integer factor.
var face = inconsolata.Bold8x16

// textFace draws text with face scaled by an integer factor. The printable
// ASCII glyphs are scaled once up front, since the clock and counter are
// drawn on every frame.
type textFace struct {
	scale   int
	advance int // pixels from one glyph to the next
	height  int // pixels of one line: ascent plus descent
	ascent  int // pixels from the top of the line to the baseline
	left    int // pixels from the pen position to the glyph mask's left edge
	glyphW  int // pixels across a glyph mask
	ascii   [127 - 32][]uint8
}

func newTextFace(scale int) *textFace {
	f := &textFace{
		scale:   scale,
		advance: face.Advance * scale,
		height:  (face.Ascent + face.Descent) * scale,
		ascent:  face.Ascent * scale,
		left:    face.Left * scale,
		glyphW:  face.Width * scale,
	}
	for r := rune(32); r < 127; r++ {
		f.ascii[r-32] = f.scaleGlyph(face, r)
	}
	return f
}

// scaleGlyph returns the mask of r (glyphW x height, row-major), nearest
// neighbour scaled. Runes the face lacks come out as its replacement glyph.
func (f *textFace) scaleGlyph(src *basicfont.Face, r rune) []uint8 {
	dot := fixed.P(-src.Left, src.Ascent)
	dr, mask, mp, _, _ := src.Glyph(dot, r)
	out := make([]uint8, f.glyphW*f.height)
	if mask == nil {
		return out
	}
	w, h := dr.Dx(), dr.Dy()
	for y := range f.height {
		sy := y / f.scale
		if sy >= h {
			break
		}
		for x := range f.glyphW {
			sx := x / f.scale
			if sx >= w {
				break
			}
			_, _, _, a := mask.At(mp.X+sx, mp.Y+sy).RGBA()
			out[y*f.glyphW+x] = uint8(a >> 8)
		}
	}
	return out
}

// glyph returns the scaled mask for r.
func (f *textFace) glyph(r rune) []uint8 {
	if r >= 32 && r < 127 {
		return f.ascii[r-32]
	}
	return f.scaleGlyph(face, r)
}

// width returns the advance of s in pixels.
func (f *textFace) width(s string) int {
	return utf8.RuneCountInString(s) * f.advance
}

// drawString draws s with its line's top-left corner at (x, y), clipped to
// clip, and returns the pen position after it.
func (f *textFace) drawString(img *image.RGBA, clip image.Rectangle, x, y int, s string, c color.RGBA) int {
	for _, r := range s {
		f.drawGlyph(img, clip, x, y, f.glyph(r), c)
		x += f.advance
	}
	return x
}

// drawASCII is drawString for ASCII bytes; it lets the per-frame text live
// in a fixed buffer without converting it to a string.
func (f *textFace) drawASCII(img *image.RGBA, clip image.Rectangle, x, y int, s []byte, c color.RGBA) int {
	for _, b := range s {
		f.drawGlyph(img, clip, x, y, f.glyph(rune(b)), c)
		x += f.advance
	}
	return x
}

// drawGlyph blends colour c through mask m with the pen at (x, y). Like
// every drawing function here it expects img.Rect.Min to be (0, 0).
func (f *textFace) drawGlyph(img *image.RGBA, clip image.Rectangle, x, y int, m []uint8, c color.RGBA) {
	gx := x + f.left
	r := image.Rect(gx, y, gx+f.glyphW, y+f.height).Intersect(clip).Intersect(img.Rect)
	for py := r.Min.Y; py < r.Max.Y; py++ {
		mrow := m[(py-y)*f.glyphW:]
		prow := img.Pix[py*img.Stride:]
		for px := r.Min.X; px < r.Max.X; px++ {
			a := uint32(mrow[px-gx])
			if a == 0 {
				continue
			}
			blend(prow[px*4:], c, a)
		}
	}
}

// blend mixes colour c over the RGBA pixel p with coverage a (0..255).
func blend(p []uint8, c color.RGBA, a uint32) {
	if a >= 255 {
		p[0], p[1], p[2], p[3] = c.R, c.G, c.B, 255
		return
	}
	na := 255 - a
	p[0] = uint8((uint32(c.R)*a + uint32(p[0])*na + 127) / 255)
	p[1] = uint8((uint32(c.G)*a + uint32(p[1])*na + 127) / 255)
	p[2] = uint8((uint32(c.B)*a + uint32(p[2])*na + 127) / 255)
	p[3] = 255
}
