package mjpeg

import (
	"bytes"
	"testing"
	"testing/iotest"
)

// FuzzReader feeds arbitrary bodies and Content-Types to the Reader. It
// must never panic, never return a part over its limit, always end, and
// return the same parts and the same kind of error whether the bytes come
// in one read or one byte per read. The seed corpus in
// testdata/fuzz/FuzzReader holds every golden vector.
func FuzzReader(f *testing.F) {
	vs, bodies := golden(f)
	for _, v := range vs {
		f.Add(bodies[v.File], v.ContentType)
	}
	f.Add([]byte("--b\r\n\r\n\xff\xd8\xff\xd9\r\n--b--\r\n"), "multipart/x-mixed-replace;boundary=b")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		const limit = 1 << 16
		whole, wholeErr := readAll(t, NewReader(bytes.NewReader(body), contentType, limit), limit)
		bytewise, byteErr := readAll(t, NewReader(iotest.OneByteReader(bytes.NewReader(body)), contentType, limit), limit)
		if classify(wholeErr) != classify(byteErr) {
			t.Fatalf("whole read ends with %v, one byte per read with %v", wholeErr, byteErr)
		}
		if len(whole) != len(bytewise) {
			t.Fatalf("whole read gives %d parts, one byte per read %d", len(whole), len(bytewise))
		}
		for i := range whole {
			if !bytes.Equal(whole[i].Data, bytewise[i].Data) || !whole[i].Timestamp.Equal(bytewise[i].Timestamp) {
				t.Fatalf("part %d differs between whole and one-byte reads", i)
			}
		}
	})
}

// readAll reads parts until an error; a Reader may return at most one part
// per byte of input, so more than that is a loop.
func readAll(t *testing.T, r *Reader, limit int) ([]Part, error) {
	var parts []Part
	for {
		p, err := r.Next()
		if err != nil {
			if _, again := r.Next(); again != err {
				t.Fatalf("error not sticky: %v, then %v", err, again)
			}
			return parts, err
		}
		if len(p.Data) == 0 || len(p.Data) > limit {
			t.Fatalf("part of %d bytes (limit %d)", len(p.Data), limit)
		}
		parts = append(parts, p)
		if len(parts) > 1<<20 {
			t.Fatal("no end")
		}
	}
}
