package testpattern

import (
	"image"
	"math"
	"math/bits"
)

// This file holds a small baseline JPEG encoder built for splicing: every MCU
// row is one restart interval (DRI = MCUs per row), so each row's
// entropy-coded segment starts with fresh DC predictors and a byte-aligned bit
// position and does not depend on any other row. A row's bytes, its padding
// and the RSTn marker that follows it can therefore be cached and copied into
// later frames unchanged. The RSTn number of a row depends only on its index
// (row r is followed by RST(r mod 8), the last row by nothing), so a cached
// row is valid in every frame.
//
// The encoder writes 4:2:0 YCbCr (one MCU is 16x16 pixels: four luma blocks,
// one Cb, one Cr), the standard quantisation tables of ITU T.81 Annex K.1
// scaled the IJG way, and the standard Huffman tables of Annex K.3.

const (
	mcuSize   = 16 // pixels per MCU side with 4:2:0 sampling
	mcuBlocks = 6  // four luma blocks, one Cb, one Cr
)

// block is one 8x8 block of quantised DCT coefficients.
type block struct {
	nz uint64    // bit k is set when zz[k] != 0
	zz [64]int16 // coefficients in zig-zag order
}

// mcu is the six blocks of one 4:2:0 MCU in scan order: Y0 Y1 Y2 Y3 Cb Cr.
type mcu [mcuBlocks]block

// encoder holds the tables and the fixed JPEG header for one image size and
// quality. It is immutable after newEncoder.
type encoder struct {
	cols, rows int    // MCUs per row, MCU rows
	header     []byte // SOI through SOS

	// div is the reciprocal quantiser per zig-zag position, with the AAN
	// DCT's output scaling folded in; [0] luma, [1] chroma.
	div [2][64]float32
	// dc and ac map a Huffman symbol to len<<24 | code; [0] luma, [1] chroma.
	dc [2][16]uint32
	ac [2][256]uint32
}

// unzig maps a zig-zag index to its natural (row-major) index.
var unzig = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
}

// baseQuant holds the Annex K.1 tables in natural order: luma, then chroma.
var baseQuant = [2][64]uint8{
	{
		16, 11, 10, 16, 24, 40, 51, 61,
		12, 12, 14, 19, 26, 58, 60, 55,
		14, 13, 16, 24, 40, 57, 69, 56,
		14, 17, 22, 29, 51, 87, 80, 62,
		18, 22, 37, 56, 68, 109, 103, 77,
		24, 35, 55, 64, 81, 104, 113, 92,
		49, 64, 78, 87, 103, 121, 120, 101,
		72, 92, 95, 98, 112, 100, 103, 99,
	},
	{
		17, 18, 24, 47, 99, 99, 99, 99,
		18, 21, 26, 66, 99, 99, 99, 99,
		24, 26, 56, 99, 99, 99, 99, 99,
		47, 66, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
		99, 99, 99, 99, 99, 99, 99, 99,
	},
}

// huffSpec is a Huffman table as the DHT segment carries it.
type huffSpec struct {
	count [16]uint8 // count[i] codes have length i+1
	value []uint8
}

// stdHuff holds the Annex K.3 tables: luma DC, luma AC, chroma DC, chroma AC.
var stdHuff = [4]huffSpec{
	{
		[16]uint8{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0},
		[]uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
	},
	{
		[16]uint8{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125},
		[]uint8{
			0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12,
			0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
			0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08,
			0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
			0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16,
			0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
			0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
			0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
			0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
			0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
			0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79,
			0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
			0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
			0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
			0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
			0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
			0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4,
			0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
			0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea,
			0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa,
		},
	},
	{
		[16]uint8{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
		[]uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
	},
	{
		[16]uint8{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119},
		[]uint8{
			0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21,
			0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
			0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91,
			0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
			0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34,
			0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
			0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38,
			0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
			0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58,
			0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
			0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,
			0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
			0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96,
			0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
			0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
			0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
			0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2,
			0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
			0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9,
			0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa,
		},
	},
}

// scaledQuant returns the Annex K.1 tables scaled to quality (1..100) with
// the IJG formula, in natural order.
func scaledQuant(quality int) [2][64]uint8 {
	scale := 200 - 2*quality
	if quality < 50 {
		scale = 5000 / quality
	}
	var q [2][64]uint8
	for t := range q {
		for i, b := range baseQuant[t] {
			v := (int(b)*scale + 50) / 100
			q[t][i] = uint8(min(max(v, 1), 255))
		}
	}
	return q
}

// newEncoder returns an encoder for a width x height image (both multiples of
// 16) at the given quality (1..100).
func newEncoder(width, height, quality int) *encoder {
	e := &encoder{cols: width / mcuSize, rows: height / mcuSize}
	quant := scaledQuant(quality)

	// The AAN DCT leaves coefficient (u, v) scaled by 8*s[u]*s[v] with
	// s[0] = 1 and s[k] = sqrt(2)*cos(k*pi/16); dividing that out here makes
	// quantisation one multiply (as in IJG's jfdctflt.c).
	var s [8]float64
	s[0] = 1
	for k := 1; k < 8; k++ {
		s[k] = math.Sqrt2 * math.Cos(float64(k)*math.Pi/16)
	}
	for t := range 2 {
		for z := range 64 {
			n := unzig[z]
			e.div[t][z] = float32(1 / (float64(quant[t][n]) * s[n/8] * s[n%8] * 8))
		}
	}
	for t := range 2 {
		buildHuff(e.dc[t][:], stdHuff[2*t])
		buildHuff(e.ac[t][:], stdHuff[2*t+1])
	}
	e.header = e.buildHeader(width, height, quant)
	return e
}

// buildHuff fills lut with len<<24 | code for each symbol of spec, following
// the canonical code assignment of T.81 Annex C.
func buildHuff(lut []uint32, spec huffSpec) {
	code, k := uint32(0), 0
	for i, n := range spec.count {
		for range n {
			lut[spec.value[k]] = uint32(i+1)<<24 | code
			code++
			k++
		}
		code <<= 1
	}
}

// buildHeader returns SOI, APP0 (JFIF, so that decoders take the samples as
// YCbCr), DQT, SOF0, DHT, DRI and SOS.
func (e *encoder) buildHeader(width, height int, quant [2][64]uint8) []byte {
	h := make([]byte, 0, 640)
	h = append(h, 0xFF, 0xD8)
	h = append(h, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0)

	h = append(h, 0xFF, 0xDB, 0, 2+2*65)
	for t := range 2 {
		h = append(h, byte(t))
		for z := range 64 {
			h = append(h, quant[t][unzig[z]])
		}
	}

	h = append(h, 0xFF, 0xC0, 0, 17, 8,
		byte(height>>8), byte(height), byte(width>>8), byte(width), 3,
		1, 0x22, 0, // Y: 2x2 sampling, table 0
		2, 0x11, 1, // Cb
		3, 0x11, 1) // Cr

	n := 2
	for _, s := range stdHuff {
		n += 17 + len(s.value)
	}
	h = append(h, 0xFF, 0xC4, byte(n>>8), byte(n))
	for i, s := range stdHuff {
		// Class (0 DC, 1 AC) in the high nibble, table id in the low one.
		h = append(h, byte(i%2)<<4|byte(i/2))
		h = append(h, s.count[:]...)
		h = append(h, s.value...)
	}

	h = append(h, 0xFF, 0xDD, 0, 4, byte(e.cols>>8), byte(e.cols))

	h = append(h, 0xFF, 0xDA, 0, 12, 3,
		1, 0x00, // Y: DC table 0, AC table 0
		2, 0x11, // Cb: DC table 1, AC table 1
		3, 0x11, // Cr
		0, 63, 0) // spectral selection 0..63, no approximation
	return h
}

// transformMCU converts the 16x16 pixels of img at (x0, y0) to YCbCr 4:2:0,
// transforms and quantises them into dst.
func (e *encoder) transformMCU(dst *mcu, img *image.RGBA, x0, y0 int) {
	var y [4][64]float32
	var cb, cr [64]float32
	stride := img.Stride
	base := (y0-img.Rect.Min.Y)*stride + (x0-img.Rect.Min.X)*4
	for py := 0; py < mcuSize; py += 2 {
		row0 := img.Pix[base+py*stride : base+py*stride+mcuSize*4]
		row1 := img.Pix[base+(py+1)*stride : base+(py+1)*stride+mcuSize*4]
		bi := (py / 8) * 2
		o := (py % 8) * 8
		c := (py / 2) * 8
		for px := 0; px < mcuSize; px += 2 {
			i := px * 4
			r0, g0, b0 := float32(row0[i]), float32(row0[i+1]), float32(row0[i+2])
			r1, g1, b1 := float32(row0[i+4]), float32(row0[i+5]), float32(row0[i+6])
			r2, g2, b2 := float32(row1[i]), float32(row1[i+1]), float32(row1[i+2])
			r3, g3, b3 := float32(row1[i+4]), float32(row1[i+5]), float32(row1[i+6])
			yb := &y[bi+px/8]
			j := o + px%8
			yb[j] = 0.299*r0 + 0.587*g0 + 0.114*b0 - 128
			yb[j+1] = 0.299*r1 + 0.587*g1 + 0.114*b1 - 128
			yb[j+8] = 0.299*r2 + 0.587*g2 + 0.114*b2 - 128
			yb[j+9] = 0.299*r3 + 0.587*g3 + 0.114*b3 - 128
			r := (r0 + r1 + r2 + r3) * 0.25
			g := (g0 + g1 + g2 + g3) * 0.25
			b := (b0 + b1 + b2 + b3) * 0.25
			cb[c+px/2] = -0.168736*r - 0.331264*g + 0.5*b
			cr[c+px/2] = 0.5*r - 0.418688*g - 0.081312*b
		}
	}
	for i := range y {
		fdct(&y[i])
		quantize(&dst[i], &y[i], &e.div[0])
	}
	fdct(&cb)
	quantize(&dst[4], &cb, &e.div[1])
	fdct(&cr)
	quantize(&dst[5], &cr, &e.div[1])
}

// quantize rounds the scaled DCT output d by the reciprocal divisors div
// (zig-zag order) into b.
func quantize(b *block, d *[64]float32, div *[64]float32) {
	var nz uint64
	for z := range 64 {
		// Adding and removing 16384 rounds to nearest without a branch,
		// as IJG does; coefficients stay far inside that range.
		v := int32(d[unzig[z]]*div[z]+16384.5) - 16384
		// Baseline AC coefficients fit in 10 bits and DC in 11; float error
		// at quality 100 must not overflow the Huffman tables.
		v = min(max(v, -1023), 1023)
		b.zz[z] = int16(v)
		// v|-v is negative exactly when v != 0; a branch here would
		// mispredict on every other coefficient.
		nz |= uint64(uint32(v|-v)>>31) << z
	}
	b.nz = nz
}

// fdct is the AAN forward DCT (IJG jfdctflt.c), in place, leaving each
// coefficient scaled as newEncoder's div table expects.
func fdct(d *[64]float32) {
	for i := 0; i < 64; i += 8 {
		r := d[i : i+8 : i+8]
		tmp0, tmp7 := r[0]+r[7], r[0]-r[7]
		tmp1, tmp6 := r[1]+r[6], r[1]-r[6]
		tmp2, tmp5 := r[2]+r[5], r[2]-r[5]
		tmp3, tmp4 := r[3]+r[4], r[3]-r[4]

		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		r[0] = tmp10 + tmp11
		r[4] = tmp10 - tmp11
		z1 := (tmp12 + tmp13) * 0.707106781
		r[2] = tmp13 + z1
		r[6] = tmp13 - z1

		tmp10 = tmp4 + tmp5
		tmp11 = tmp5 + tmp6
		tmp12 = tmp6 + tmp7
		z5 := (tmp10 - tmp12) * 0.382683433
		z2 := 0.541196100*tmp10 + z5
		z4 := 1.306562965*tmp12 + z5
		z3 := tmp11 * 0.707106781
		z11, z13 := tmp7+z3, tmp7-z3
		r[5] = z13 + z2
		r[3] = z13 - z2
		r[1] = z11 + z4
		r[7] = z11 - z4
	}
	for i := range 8 {
		tmp0, tmp7 := d[i]+d[56+i], d[i]-d[56+i]
		tmp1, tmp6 := d[8+i]+d[48+i], d[8+i]-d[48+i]
		tmp2, tmp5 := d[16+i]+d[40+i], d[16+i]-d[40+i]
		tmp3, tmp4 := d[24+i]+d[32+i], d[24+i]-d[32+i]

		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2
		d[i] = tmp10 + tmp11
		d[32+i] = tmp10 - tmp11
		z1 := (tmp12 + tmp13) * 0.707106781
		d[16+i] = tmp13 + z1
		d[48+i] = tmp13 - z1

		tmp10 = tmp4 + tmp5
		tmp11 = tmp5 + tmp6
		tmp12 = tmp6 + tmp7
		z5 := (tmp10 - tmp12) * 0.382683433
		z2 := 0.541196100*tmp10 + z5
		z4 := 1.306562965*tmp12 + z5
		z3 := tmp11 * 0.707106781
		z11, z13 := tmp7+z3, tmp7-z3
		d[40+i] = z13 + z2
		d[24+i] = z13 - z2
		d[8+i] = z11 + z4
		d[56+i] = z11 - z4
	}
}

// codedRow is one MCU row of a picture after entropy coding, kept so that
// later frames can reuse either the whole segment or runs of its MCUs.
type codedRow struct {
	// seg is the segment as it goes into a frame: stuffed bytes, 1-bit
	// padding and the RSTn marker (none after the last row).
	seg []byte
	// bits holds the same entropy-coded bits before stuffing and padding,
	// MSB first, followed by one zero word so that copyBits may read ahead.
	bits []uint64
	// start[c] is the offset in bits of MCU c; start[cols] is the end.
	start []int
}

// codeRow entropy-codes MCU row r, whose MCUs are row, into dst.
func (e *encoder) codeRow(dst *codedRow, row []*mcu, r int) {
	w := bitWriter{buf: dst.seg[:0]}
	dst.start = dst.start[:0]
	var pred [3]int32
	for _, m := range row {
		dst.start = append(dst.start, w.pos())
		w.mcu(m, &pred, e)
	}
	dst.start = append(dst.start, w.pos())
	dst.seg = e.finishRow(&w, r)

	// Undo the stuffing to get the plain bit string back.
	dst.bits = dst.bits[:0]
	var word uint64
	nb := 0
	for i := 0; i < len(dst.seg) && nb < dst.start[len(row)]; i++ {
		b := dst.seg[i]
		if i > 0 && dst.seg[i-1] == 0xFF && b == 0 {
			continue
		}
		word = word<<8 | uint64(b)
		nb += 8
		if nb%64 == 0 {
			dst.bits = append(dst.bits, word)
			word = 0
		}
	}
	if nb%64 != 0 {
		dst.bits = append(dst.bits, word<<(64-nb%64))
	}
	dst.bits = append(dst.bits, 0)
}

// appendRow appends the segment of MCU row r, whose MCUs are row, padded to
// a byte with 1-bits and followed by its RSTn marker unless r is the last
// row. same[c] reports that row[c] is MCU c of the row that bg holds; runs
// of such MCUs are copied from bg's bits instead of being coded again when
// the DC predictors entering them match. same and bg may be nil.
func (e *encoder) appendRow(dst []byte, row []*mcu, same []bool, bg *codedRow, r int) []byte {
	w := bitWriter{buf: dst, start: len(dst)}
	// DC predictors Y, Cb, Cr; every restart interval starts them at 0.
	var pred [3]int32
	// predSame: the predictors equal those bg had at this point.
	predSame := true
	for c := 0; c < len(row); {
		if same != nil && same[c] && predSame {
			end := c + 1
			for end < len(row) && same[end] {
				end++
			}
			w.copyBits(bg.bits, bg.start[c], bg.start[end])
			m := row[end-1]
			pred = [3]int32{int32(m[3].zz[0]), int32(m[4].zz[0]), int32(m[5].zz[0])}
			c = end
			continue
		}
		w.mcu(row[c], &pred, e)
		// Coding an MCU leaves its own DC values as the predictors.
		predSame = same != nil && same[c]
		c++
	}
	return e.finishRow(&w, r)
}

// finishRow pads and flushes w and appends row r's restart marker.
func (e *encoder) finishRow(w *bitWriter, r int) []byte {
	w.flush()
	if r < e.rows-1 {
		w.buf = append(w.buf, 0xFF, 0xD0+byte(r%8))
	}
	return w.buf
}

// encode returns a complete JPEG of img, which must be e.cols*16 by
// e.rows*16 pixels. The background goes through it once; tests use it as
// the reference that spliced frames must equal.
func (e *encoder) encode(img *image.RGBA) []byte {
	ms := make([]mcu, e.cols)
	row := make([]*mcu, e.cols)
	out := append([]byte(nil), e.header...)
	for r := range e.rows {
		for c := range e.cols {
			e.transformMCU(&ms[c], img, img.Rect.Min.X+c*mcuSize, img.Rect.Min.Y+r*mcuSize)
			row[c] = &ms[c]
		}
		out = e.appendRow(out, row, nil, nil, r)
	}
	return append(out, 0xFF, 0xD9)
}

// bitWriter packs Huffman codes MSB first and stuffs a zero after each 0xFF.
type bitWriter struct {
	buf     []byte
	acc     uint64 // pending bits in the low n bits; bits above are stale
	n       uint
	start   int // len(buf) when the writer was made
	stuffed int // zero bytes stuffed so far
}

// pos returns the number of bits written so far, stuffing not counted.
func (w *bitWriter) pos() int {
	return (len(w.buf)-w.start-w.stuffed)*8 + int(w.n)
}

// copyBits writes bits from up to to of src (MSB first; src must hold a
// word past the last bit).
func (w *bitWriter) copyBits(src []uint64, from, to int) {
	for from < to {
		n := min(32, to-from)
		i, off := from>>6, uint(from&63)
		v := src[i] << off
		if off != 0 {
			v |= src[i+1] >> (64 - off)
		}
		w.put(uint32(v>>(64-uint(n))), uint(n))
		from += n
	}
}

// mcu Huffman-codes the six blocks of m.
func (w *bitWriter) mcu(m *mcu, pred *[3]int32, e *encoder) {
	for i := range 4 {
		w.block(&m[i], &pred[0], &e.dc[0], &e.ac[0])
	}
	w.block(&m[4], &pred[1], &e.dc[1], &e.ac[1])
	w.block(&m[5], &pred[2], &e.dc[1], &e.ac[1])
}

// put appends the low n bits of v; n is at most 32. The bits above n in v
// must be zero.
func (w *bitWriter) put(v uint32, n uint) {
	w.acc = w.acc<<n | uint64(v)
	w.n += n
	if w.n < 32 {
		return
	}
	w.n -= 32
	x := uint32(w.acc >> w.n)
	// Fast path: none of the four bytes is 0xFF (a zero byte in ^x).
	if t := ^x; (t-0x01010101)&^t&0x80808080 == 0 {
		w.buf = append(w.buf, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
		return
	}
	for s := 24; s >= 0; s -= 8 {
		b := byte(x >> s)
		w.buf = append(w.buf, b)
		if b == 0xFF {
			w.buf = append(w.buf, 0)
			w.stuffed++
		}
	}
}

// flush pads the pending bits to a byte boundary with 1-bits (T.81 F.1.2.3)
// and writes them out.
func (w *bitWriter) flush() {
	if pad := (8 - w.n%8) % 8; pad != 0 {
		w.acc = w.acc<<pad | (1<<pad - 1)
		w.n += pad
	}
	for w.n > 0 {
		w.n -= 8
		b := byte(w.acc >> w.n)
		w.buf = append(w.buf, b)
		if b == 0xFF {
			w.buf = append(w.buf, 0)
		}
	}
	w.acc = 0
}

// block Huffman-codes one block, updating the component's DC predictor.
func (w *bitWriter) block(b *block, pred *int32, dc *[16]uint32, ac *[256]uint32) {
	v := int32(b.zz[0])
	d := v - *pred
	*pred = v
	size, extra := magnitude(d)
	code := dc[size]
	w.put((code&0xFFFF)<<size|extra, uint(code>>24)+size)

	last := 0
	for m := b.nz &^ 1; m != 0; m &= m - 1 {
		k := bits.TrailingZeros64(m)
		run := k - last - 1
		for run >= 16 {
			zrl := ac[0xF0]
			w.put(zrl&0xFFFF, uint(zrl>>24))
			run -= 16
		}
		size, extra := magnitude(int32(b.zz[k]))
		code := ac[run<<4|int(size)]
		w.put((code&0xFFFF)<<size|extra, uint(code>>24)+size)
		last = k
	}
	if last != 63 {
		eob := ac[0x00]
		w.put(eob&0xFFFF, uint(eob>>24))
	}
}

// magnitude returns the JPEG size category of v and its additional bits:
// v itself when positive, v-1 in size bits (the ones' complement) when not.
func magnitude(v int32) (size uint, extra uint32) {
	a := v
	if v < 0 {
		a = -v
		v--
	}
	size = uint(bits.Len32(uint32(a)))
	return size, uint32(v) & (1<<size - 1)
}
