package testpattern

import (
	"image"
	"image/color"
	"math"
	"time"
)

// This file lays out and draws the picture. The static parts (bars, ramps,
// texture, grid, label) form the background, drawn once; the moving parts
// (clock, counter, spinner, ball, LED) are overlays drawn each frame on top of
// a copy of the background, and each overlay reports the rectangle it may
// touch so that only those MCUs are transformed again.

var (
	barColor   = color.RGBA{16, 16, 24, 255}
	textColor  = color.RGBA{240, 240, 240, 255}
	clockColor = color.RGBA{255, 230, 90, 255}
	ledColor   = color.RGBA{255, 48, 32, 255}
	ledCore    = color.RGBA{255, 235, 220, 255}
	ballColor  = color.RGBA{255, 140, 0, 255}
)

// layout is where things go for one picture size.
type layout struct {
	w, h   int
	font   *textFace
	pad    int             // pixels of margin inside the bars
	top    image.Rectangle // label bar; the LED sits at its right end
	bottom image.Rectangle // clock bar; the spinner sits at its right end
	mid    image.Rectangle // the test card between the bars

	labelClip image.Rectangle // where the label may draw
	led       image.Rectangle // LED disc and its text
	ledC      image.Point     // LED disc centre
	ledR      int             // LED disc radius
	spinC     image.Point     // spinner centre
	spinR     int             // spinner radius
	ballR     int             // ball radius
}

func newLayout(w, h int) *layout {
	// Text scale: 1 up to 320x240, 2 at 640x480, 3 at 1280x720.
	s := max(1, min(w/320, h/240))
	f := newTextFace(s)
	l := &layout{w: w, h: h, font: f, pad: 2 * s}
	barH := roundUp(f.height+2*l.pad, mcuSize)
	l.top = image.Rect(0, 0, w, barH)
	l.bottom = image.Rect(0, h-barH, w, h)
	l.mid = image.Rect(0, barH, w, h-barH)

	l.ledR = 6 * s
	l.ledC = image.Pt(w-l.pad-l.ledR-s, barH/2)
	ledTextX := l.ledC.X - l.ledR - 3*s - 3*f.advance
	l.led = image.Rect(ledTextX-s, l.pad, w-l.pad, barH-l.pad)
	l.labelClip = image.Rect(l.pad, 0, l.led.Min.X-f.advance, barH)

	l.spinR = barH/2 - l.pad
	l.spinC = image.Pt(w-l.pad-l.spinR, l.bottom.Min.Y+barH/2)
	l.ballR = max(8, h/20)
	return l
}

func roundUp(v, m int) int { return (v + m - 1) / m * m }

// textY returns the top of a text line centred in bar.
func (l *layout) textY(bar image.Rectangle) int {
	return bar.Min.Y + (bar.Dy()-l.font.height)/2
}

// drawBackground paints the whole static picture, label included, into img.
func (l *layout) drawBackground(img *image.RGBA, label string) {
	fill(img, l.top, barColor)
	fill(img, l.bottom, barColor)
	l.drawCard(img)
	l.drawLabel(img, label)
}

// drawLabel repaints the label bar with label in it.
func (l *layout) drawLabel(img *image.RGBA, label string) {
	fill(img, l.top, barColor)
	l.font.drawString(img, l.labelClip, l.pad, l.textY(l.top), label, textColor)
}

// drawCard paints the test card between the bars: colour bars, a grey ramp,
// a hue sweep and a strip of texture (zone plate, frequency bursts,
// checkerboards), under a grid and a centre circle. The mix gives frames the
// size of a real camera's (an OV2640 sends ~35 KB at VGA quality 12), not the
// 3 KB that flat colour would give.
func (l *layout) drawCard(img *image.RGBA) {
	m := l.mid
	mh := m.Dy()
	yBars := m.Min.Y + mh*42/100
	yRamp := m.Min.Y + mh*54/100
	yHue := m.Min.Y + mh*78/100

	// 75% colour bars, each shaded from full to 80% down its height.
	bars := [...]color.RGBA{
		{191, 191, 191, 255}, {191, 191, 0, 255}, {0, 191, 191, 255}, {0, 191, 0, 255},
		{191, 0, 191, 255}, {191, 0, 0, 255}, {0, 0, 191, 255}, {32, 32, 32, 255},
	}
	for y := m.Min.Y; y < yBars; y++ {
		k := 1 - 0.2*float64(y-m.Min.Y)/float64(yBars-m.Min.Y)
		row := img.Pix[y*img.Stride:]
		for x := range l.w {
			c := bars[x*len(bars)/l.w]
			set(row, x, float64(c.R)*k, float64(c.G)*k, float64(c.B)*k)
		}
	}
	// Grey ramp, black to white, with eleven steps above it.
	ySteps := yBars + (yRamp-yBars)/2
	for y := yBars; y < yRamp; y++ {
		row := img.Pix[y*img.Stride:]
		for x := range l.w {
			v := 255 * float64(x) / float64(l.w-1)
			if y < ySteps {
				v = 25.5 * float64(x*11/l.w)
			}
			set(row, x, v, v, v)
		}
	}
	// Hue sweep, saturated at the top, fading to grey at the bottom.
	for y := yRamp; y < yHue; y++ {
		sat := 1 - 0.8*float64(y-yRamp)/float64(yHue-yRamp)
		row := img.Pix[y*img.Stride:]
		for x := range l.w {
			r, g, b := hue(float64(x) / float64(l.w))
			set(row, x, 128+(r-128)*sat, 128+(g-128)*sat, 128+(b-128)*sat)
		}
	}
	// Texture strip: zone plate, frequency bursts, checkerboards.
	th := m.Max.Y - yHue
	zpW := min(l.w/3, th*4/3)
	burstW := (l.w - zpW) / 2
	cx, cy := float64(zpW)/2, float64(yHue+th/2)
	// The zone plate's phase grows with r^2 so that its local frequency
	// reaches a quarter of the sampling rate (pi/2 per pixel) at its edge.
	kz := math.Pi / (2 * math.Max(cx, float64(th)/2)) / 2
	for y := yHue; y < m.Max.Y; y++ {
		row := img.Pix[y*img.Stride:]
		fy := float64(y - yHue)
		for x := range l.w {
			switch {
			case x < zpW:
				dx, dy := float64(x)-cx, float64(y)-cy
				v := 128 + 100*math.Cos(kz*(dx*dx+dy*dy)*0.5)
				set(row, x, v, v, v)
			case x < zpW+burstW:
				// Six bursts, from 1/32 to 1/5 cycles per pixel.
				bx := x - zpW
				i := bx * 6 / burstW
				freq := [...]float64{1.0 / 32, 1.0 / 20, 1.0 / 14, 1.0 / 10, 1.0 / 7, 1.0 / 5}[i]
				v := 128 + 90*math.Sin(2*math.Pi*freq*float64(bx))
				tint := 0.85 + 0.15*fy/float64(th)
				set(row, x, v*tint, v, v*(2-tint))
			default:
				// Checkerboards of 16, 8 and 4 pixels, in bands.
				bx := x - zpW - burstW
				sz := [...]int{16, 8, 4}[min(2, bx*3/(l.w-zpW-burstW))]
				if (bx/sz+int(fy)/sz)%2 == 0 {
					set(row, x, 200, 200, 200)
				} else {
					set(row, x, 60, 60, 80)
				}
			}
		}
	}
	// Grid lines every 1/8 of the width, and a centre circle.
	step := max(16, l.w/8)
	for y := m.Min.Y; y < m.Max.Y; y++ {
		row := img.Pix[y*img.Stride:]
		if (y-m.Min.Y)%step == step/2 {
			for x := range l.w {
				set(row, x, 200, 200, 200)
			}
			continue
		}
		for x := step / 2; x < l.w; x += step {
			set(row, x, 200, 200, 200)
		}
	}
	ccx, ccy := float64(l.w)/2, float64(m.Min.Y+mh/2)
	ring(img, m, ccx, ccy, float64(mh)*0.42, float64(l.font.scale)*1.5, color.RGBA{255, 255, 255, 255})
}

// set stores an RGB pixel at column x of row, clamping each channel.
func set(row []uint8, x int, r, g, b float64) {
	p := row[x*4 : x*4+4]
	p[0], p[1], p[2], p[3] = clamp8(r), clamp8(g), clamp8(b), 255
}

func clamp8(v float64) uint8 {
	return uint8(min(max(v+0.5, 0), 255))
}

// hue returns a saturated colour for h in [0, 1) around the colour wheel.
func hue(h float64) (r, g, b float64) {
	h6 := h * 6
	f := h6 - math.Floor(h6)
	switch int(h6) % 6 {
	case 0:
		return 255, 255 * f, 0
	case 1:
		return 255 * (1 - f), 255, 0
	case 2:
		return 0, 255, 255 * f
	case 3:
		return 0, 255 * (1 - f), 255
	case 4:
		return 255 * f, 0, 255
	default:
		return 255, 0, 255 * (1 - f)
	}
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[y*img.Stride:]
		for x := r.Min.X; x < r.Max.X; x++ {
			p := row[x*4 : x*4+4]
			p[0], p[1], p[2], p[3] = c.R, c.G, c.B, 255
		}
	}
}

// coverage turns a signed distance from an edge (negative inside) into an
// anti-aliased coverage 0..255 over one pixel.
func coverage(d float64) uint32 {
	switch {
	case d <= -0.5:
		return 255
	case d >= 0.5:
		return 0
	}
	return uint32((0.5 - d) * 255)
}

// disc draws a filled anti-aliased circle, clipped to clip.
func disc(img *image.RGBA, clip image.Rectangle, cx, cy, r float64, c color.RGBA) {
	b := image.Rect(int(cx-r-1), int(cy-r-1), int(cx+r+2), int(cy+r+2)).Intersect(clip).Intersect(img.Rect)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[y*img.Stride:]
		dy := float64(y) + 0.5 - cy
		for x := b.Min.X; x < b.Max.X; x++ {
			dx := float64(x) + 0.5 - cx
			if a := coverage(math.Sqrt(dx*dx+dy*dy) - r); a != 0 {
				blend(row[x*4:], c, a)
			}
		}
	}
}

// ring draws an anti-aliased circle outline of the given width.
func ring(img *image.RGBA, clip image.Rectangle, cx, cy, r, width float64, c color.RGBA) {
	b := image.Rect(int(cx-r-width-1), int(cy-r-width-1), int(cx+r+width+2), int(cy+r+width+2)).Intersect(clip).Intersect(img.Rect)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[y*img.Stride:]
		dy := float64(y) + 0.5 - cy
		for x := b.Min.X; x < b.Max.X; x++ {
			dx := float64(x) + 0.5 - cx
			d := math.Abs(math.Sqrt(dx*dx+dy*dy)-r) - width/2
			if a := coverage(d); a != 0 {
				blend(row[x*4:], c, a)
			}
		}
	}
}

// segment draws an anti-aliased line of the given width with round caps.
func segment(img *image.RGBA, clip image.Rectangle, x0, y0, x1, y1, width float64, c color.RGBA) {
	hw := width / 2
	b := image.Rect(int(math.Min(x0, x1)-hw-1), int(math.Min(y0, y1)-hw-1),
		int(math.Max(x0, x1)+hw+2), int(math.Max(y0, y1)+hw+2)).Intersect(clip).Intersect(img.Rect)
	vx, vy := x1-x0, y1-y0
	ll := vx*vx + vy*vy
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[y*img.Stride:]
		for x := b.Min.X; x < b.Max.X; x++ {
			px, py := float64(x)+0.5-x0, float64(y)+0.5-y0
			t := 0.0
			if ll > 0 {
				t = math.Min(1, math.Max(0, (px*vx+py*vy)/ll))
			}
			dx, dy := px-t*vx, py-t*vy
			if a := coverage(math.Sqrt(dx*dx+dy*dy) - hw); a != 0 {
				blend(row[x*4:], c, a)
			}
		}
	}
}

// frameState is what the overlays show in one frame.
type frameState struct {
	text   []byte  // clock and counter
	ballX  float64 // ball centre
	ballY  float64
	spin   float64 // spinner hand angle, radians clockwise from 12 o'clock
	ledOn  bool
	textAt image.Point // top-left of the clock line
}

// plan fills st for frame n at time t, formatting the text into buf.
func (l *layout) plan(st *frameState, buf []byte, n uint64, t time.Time) {
	lt := t.Local()
	hh, mm, ss := lt.Clock()
	ms := lt.Nanosecond() / 1e6
	b := buf[:0]
	b = append2(b, hh)
	b = append(b, ':')
	b = append2(b, mm)
	b = append(b, ':')
	b = append2(b, ss)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), ' ', ' ', '#')
	b = appendCounter(b, n)
	st.text = b
	st.textAt = image.Pt(l.pad, l.textY(l.bottom))

	// The ball bounces around the card; its speed is in pixels per frame
	// so that every frame shows it moved.
	r := float64(l.ballR)
	st.ballX = float64(l.mid.Min.X) + r + bounce(n*uint64(max(2, l.w/160)), l.mid.Dx()-2*l.ballR)
	st.ballY = float64(l.mid.Min.Y) + r + bounce(n*uint64(max(1, l.h/200)), l.mid.Dy()-2*l.ballR)

	// One turn of the spinner per second, from the clock's milliseconds.
	st.spin = 2 * math.Pi * float64(lt.Nanosecond()) / 1e9
}

// bounce maps a distance travelled to a position going back and forth
// over [0, span].
func bounce(d uint64, span int) float64 {
	if span <= 0 {
		return 0
	}
	p := int(d % uint64(2*span))
	if p > span {
		p = 2*span - p
	}
	return float64(p)
}

func append2(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

// appendCounter appends n in decimal, zero-padded to six digits.
func appendCounter(b []byte, n uint64) []byte {
	var d [20]byte
	i := len(d)
	for n > 0 || i > len(d)-6 {
		i--
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[i:]...)
}

// overlay rectangles: each is the area its overlay may paint this frame.

func (l *layout) textRect(st *frameState) image.Rectangle {
	f := l.font
	x0 := st.textAt.X + f.left
	x1 := st.textAt.X + len(st.text)*f.advance + f.glyphW
	return image.Rect(x0, st.textAt.Y, x1, st.textAt.Y+f.height)
}

func (l *layout) ballRect(st *frameState) image.Rectangle {
	r := float64(l.ballR)
	return image.Rect(int(st.ballX-r-1), int(st.ballY-r-1), int(st.ballX+r+2), int(st.ballY+r+2))
}

func (l *layout) spinRect() image.Rectangle {
	r := l.spinR + 1
	return image.Rect(l.spinC.X-r, l.spinC.Y-r, l.spinC.X+r+1, l.spinC.Y+r+1)
}

// drawOverlays paints the moving parts of st into img, each inside its
// rectangle.
func (l *layout) drawOverlays(img *image.RGBA, st *frameState) {
	f := l.font
	s := float64(f.scale)
	f.drawASCII(img, l.textRect(st), st.textAt.X, st.textAt.Y, st.text, clockColor)

	br := l.ballRect(st)
	r := float64(l.ballR)
	disc(img, br, st.ballX, st.ballY, r, ballColor)
	disc(img, br, st.ballX-r*0.35, st.ballY-r*0.35, r*0.35, color.RGBA{255, 220, 160, 255})
	ring(img, br, st.ballX, st.ballY, r-s, s, color.RGBA{120, 50, 0, 255})

	sr := l.spinRect()
	cx, cy, rad := float64(l.spinC.X)+0.5, float64(l.spinC.Y)+0.5, float64(l.spinR)
	disc(img, sr, cx, cy, rad, color.RGBA{50, 50, 70, 255})
	ring(img, sr, cx, cy, rad-s/2, s, textColor)
	hx, hy := cx+0.8*rad*math.Sin(st.spin), cy-0.8*rad*math.Cos(st.spin)
	segment(img, sr, cx, cy, hx, hy, 1.5*s, clockColor)

	if st.ledOn {
		y := l.textY(l.top)
		f.drawString(img, l.led, l.led.Min.X+f.scale, y, "LED", textColor)
		lr := float64(l.ledR)
		lx, ly := float64(l.ledC.X)+0.5, float64(l.ledC.Y)+0.5
		disc(img, l.led, lx, ly, lr, ledColor)
		disc(img, l.led, lx, ly, lr*0.5, ledCore)
	}
}
