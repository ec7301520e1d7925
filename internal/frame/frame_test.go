package frame

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"testing"
)

func encode(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheck(t *testing.T) {
	good := encode(t, 32, 16)
	cases := []struct {
		name string
		data []byte
		max  int64
		want error
	}{
		{"a whole JPEG passes", good, 0, nil},
		{"a JPEG within the limit passes", good, int64(len(good)), nil},
		{"a JPEG followed by CRLF passes", append(append([]byte{}, good...), '\r', '\n'), 0, nil},
		{"nothing is empty", nil, 0, ErrEmpty},
		{"one byte over the limit is too large", good, int64(len(good) - 1), ErrTooLarge},
		{"text is not a JPEG", []byte("hello, camera"), 0, ErrNotJPEG},
		{"a lone SOI is not a JPEG", []byte{0xFF, 0xD8}, 0, ErrNotJPEG},
		{"the first half of a JPEG is truncated", good[:len(good)/2], 0, ErrTruncated},
		{"a JPEG missing its last byte is truncated", good[:len(good)-1], 0, ErrTruncated},
		{"garbage after EOI is truncated", append(append([]byte{}, good...), 'x', 'y'), 0, ErrTruncated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.data, tc.max)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReasonLabelsEveryCheckError(t *testing.T) {
	for err, want := range map[error]string{
		ErrEmpty: "empty", ErrTooLarge: "too_large", ErrNotJPEG: "not_jpeg", ErrTruncated: "truncated",
		errors.New("other"): "invalid",
	} {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestSizeReadsStartOfFrame(t *testing.T) {
	for _, sz := range [][2]int{{640, 480}, {1600, 1200}, {96, 96}, {17, 3}} {
		w, h, ok := Size(encode(t, sz[0], sz[1]))
		if !ok || w != sz[0] || h != sz[1] {
			t.Errorf("Size of a %dx%d JPEG = %d, %d, %v", sz[0], sz[1], w, h, ok)
		}
	}
	if _, _, ok := Size([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0, 2}); ok {
		t.Error("Size found a size in a JPEG without a SOF header")
	}
}

func FuzzCheckAndSize(f *testing.F) {
	f.Add(encode(f, 8, 8))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Check(b, 1<<20)
		if err == nil && (len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8) {
			t.Fatalf("Check accepted %x", b)
		}
		w, h, ok := Size(b)
		if ok && (w <= 0 || h <= 0) {
			t.Fatalf("Size = %d, %d, true", w, h)
		}
	})
}

func BenchmarkSize(b *testing.B) {
	data := encode(b, 640, 480)
	for b.Loop() {
		Size(data)
	}
}
