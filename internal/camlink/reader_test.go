package camlink

import (
	"bytes"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// crc16Bitwise is CRC-16/CCITT-FALSE computed bit by bit, straight from its
// definition, to check the table-driven version.
func crc16Bitwise(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func TestChecks(t *testing.T) {
	// The catalogue's check values (reveng.sourceforge.io CRC catalogue):
	// CRC-16/IBM-3740 (alias CCITT-FALSE) 0x29B1, CRC-32/ISO-HDLC 0xCBF43926.
	if got := crc16([]byte("123456789")); got != 0x29B1 {
		t.Errorf("crc16 check = %04x, want 29b1", got)
	}
	if got := crc32.ChecksumIEEE([]byte("123456789")); got != 0xCBF43926 {
		t.Errorf("crc32 check = %08x, want cbf43926", got)
	}
	if got := crc16(nil); got != 0xFFFF {
		t.Errorf("crc16 of nothing = %04x, want ffff", got)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		b := make([]byte, r.IntN(64))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if crc16(b) != crc16Bitwise(b) {
			t.Fatalf("crc16(%x) = %04x, bitwise %04x", b, crc16(b), crc16Bitwise(b))
		}
	}
}

// TestEncodeLayout pins the layout byte by byte, independently of the
// encoder's code: the same bytes are written out in docs/UART.md.
func TestEncodeLayout(t *testing.T) {
	p := Packet{Type: TypeJSON, Flags: FlagUptime, Seq: 0x01020304, Uptime: 0x1122334455667788, Payload: []byte("{}")}
	want := "a55a4352" + // sync
		"02" + // type JSON
		"01" + // flags: uptime
		"04030201" + // seq 0x01020304
		"02000000" + // length 2
		"8877665544332211" + // uptime 0x1122334455667788
		"" // header check follows
	hdr, _ := hex.DecodeString(want)
	check := crc16Bitwise(hdr[4:])
	want += hex.EncodeToString([]byte{byte(check), byte(check >> 8)}) +
		"7b7d" + // payload "{}"
		"" // CRC-32 follows
	c := crc32.ChecksumIEEE([]byte("{}"))
	want += hex.EncodeToString([]byte{byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24)})
	if got := hex.EncodeToString(Encode(p)); got != want {
		t.Errorf("Encode =\n%s, want\n%s", got, want)
	}
	if want != "a55a4352020104030201020000008877665544332211"+"58b3"+"7b7d"+"43bfa6a3" {
		t.Errorf("the layout example in docs/UART.md is out of date: %s", want)
	}

	// Without FlagUptime the field is zero, whatever Uptime says.
	q := Encode(Packet{Type: TypeJPEG, Uptime: 99})
	if !bytes.Equal(q[14:22], make([]byte, 8)) {
		t.Errorf("uptime field without the flag = %x, want zeros", q[14:22])
	}
	// AppendPacket appends.
	if got := AppendPacket([]byte("xy"), p); !bytes.Equal(got, append([]byte("xy"), Encode(p)...)) {
		t.Error("AppendPacket does not append")
	}
}

func TestRoundTripTypes(t *testing.T) {
	var stream []byte
	var want []Packet
	for i, typ := range []Type{0, TypeJPEG, TypeJSON, 3, 255} {
		p := Packet{Type: typ, Flags: Flags(i) << 1, Seq: uint32(i) * 1000003, Payload: bytes.Repeat([]byte{byte(i)}, i*100)}
		if i%2 == 1 {
			p.Flags |= FlagUptime
			p.Uptime = uint64(i) << 40
		}
		want = append(want, p)
		stream = AppendPacket(stream, p)
	}
	got, stats := readAll(t, NewReader(bytes.NewReader(stream), nil))
	if len(got) != len(want) {
		t.Fatalf("got %d packets, want %d", len(got), len(want))
	}
	for i := range got {
		if !packetsEqual(got[i], want[i]) {
			t.Errorf("packet %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if stats.Garbage != 0 || stats.PacketBytes != uint64(len(stream)) {
		t.Errorf("stats %+v", stats)
	}
}

func packetsEqual(a, b Packet) bool {
	return a.Type == b.Type && a.Flags == b.Flags && a.Seq == b.Seq && a.Uptime == b.Uptime && bytes.Equal(a.Payload, b.Payload)
}

// TestReaderDoesNotWait feeds a header that claims more than it may (or
// whose check fails while its length field says 2 GiB), then a good packet,
// and leaves the input open: the good packet must come out at once, with
// the buffer still small.
func TestReaderDoesNotWait(t *testing.T) {
	good := Encode(Packet{Type: TypeJSON, Seq: 2, Payload: []byte(`{"type":"status"}`)})
	hdr := Encode(Packet{Type: TypeJPEG, Seq: 1})[:HeaderLen]
	cases := []struct {
		name   string
		lead   []byte
		reason Drop
	}{
		{"too large, header checks out", withHeader(hdr, 10, 4, 1<<31), DropTooLarge},
		{"max uint32, header checks out", withHeader(hdr, 10, 4, 1<<32-1), DropTooLarge},
		{"2 GiB, header check fails", func() []byte { b := bytes.Clone(hdr); b[13] = 0x80; return b }(), DropBadHeader},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			go func() { _, _ = pw.Write(append(bytes.Clone(c.lead), good...)) }()
			var drops []Drop
			rd := NewReader(pr, &ReaderOptions{OnDrop: func(d Drop) { drops = append(drops, d) }})
			type result struct {
				p   Packet
				err error
			}
			done := make(chan result, 1)
			go func() {
				p, err := rd.Next()
				done <- result{p, err}
			}()
			select {
			case r := <-done:
				if r.err != nil || r.p.Seq != 2 {
					t.Fatalf("Next = %+v, %v; want the good packet", r.p, r.err)
				}
			case <-time.After(5 * time.Second):
				pw.Close() // ends the reading goroutine
				<-done
				t.Fatal("Next waited for the length a bad header claims")
			}
			if !slices.Equal(drops, []Drop{c.reason}) {
				t.Errorf("drops %v, want [%v]", drops, c.reason)
			}
			if len(rd.buf) > initialBuffer {
				t.Errorf("buffer grew to %d bytes", len(rd.buf))
			}
		})
	}
}

// TestReaderDefaultMax checks the boundary of DefaultMaxPayload: 4 MiB is
// accepted, 4 MiB + 1 rejected, and the buffer stays within the bound.
func TestReaderDefaultMax(t *testing.T) {
	big := bytes.Repeat([]byte{0x11}, DefaultMaxPayload)
	var stream []byte
	stream = AppendPacket(stream, Packet{Type: TypeJPEG, Seq: 1, Payload: big})
	stream = AppendPacket(stream, Packet{Type: TypeJPEG, Seq: 2, Payload: append(big, 0x11)})
	stream = AppendPacket(stream, Packet{Type: TypeJPEG, Seq: 3, Payload: []byte{1, 2, 3}})
	rd := NewReader(bytes.NewReader(stream), nil)
	got, stats := readAll(t, rd)
	if len(got) != 2 || got[0].Seq != 1 || len(got[0].Payload) != DefaultMaxPayload || got[1].Seq != 3 {
		t.Fatalf("got %d packets", len(got))
	}
	if stats.TooLarge != 1 || stats.Garbage != uint64(Overhead+DefaultMaxPayload+1) {
		t.Errorf("stats %+v", stats)
	}
	if len(rd.buf) > DefaultMaxPayload+Overhead {
		t.Errorf("buffer %d bytes, bound %d", len(rd.buf), DefaultMaxPayload+Overhead)
	}
}

// cycleReader returns the same bytes over and over, without allocating.
type cycleReader struct {
	data []byte
	pos  int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	n := copy(p, c.data[c.pos:])
	c.pos = (c.pos + n) % len(c.data)
	return n, nil
}

// TestReaderAllocs checks that a good packet costs exactly one allocation,
// its payload.
func TestReaderAllocs(t *testing.T) {
	var stream []byte
	stream = append(stream, "I (1) x: log line\r\n"...)
	stream = AppendPacket(stream, Packet{Type: TypeJPEG, Seq: 1, Payload: bytes.Repeat([]byte{0xAB}, 30000)})
	stream = AppendPacket(stream, Packet{Type: TypeJSON, Seq: 2, Payload: []byte(`{"type":"status"}`)})
	rd := NewReader(&cycleReader{data: stream}, nil)
	for range 10 { // warm up: the buffer
		if _, err := rd.Next(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := rd.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("%.2f allocations per packet, want 1", allocs)
	}
}

// TestReaderCorruptOne damages one byte of one packet among many, with
// garbage between them, and checks that exactly that packet is lost.
func TestReaderCorruptOne(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		var stream []byte
		var want []Packet
		var spans [][2]int
		for i := range 12 {
			stream = append(stream, noise(r.Uint64(), r.IntN(40))...)
			p := Packet{Type: TypeJPEG, Seq: uint32(i), Flags: FlagUptime, Uptime: r.Uint64(), Payload: noise(r.Uint64(), r.IntN(300))}
			spans = append(spans, [2]int{len(stream), len(stream) + Overhead + len(p.Payload)})
			stream = AppendPacket(stream, p)
			want = append(want, p)
		}
		k := r.IntN(len(want))
		pos := spans[k][0] + r.IntN(spans[k][1]-spans[k][0])
		stream[pos] ^= byte(1 + r.IntN(255))
		got, _ := readAll(t, NewReader(randomChunks(stream, r), nil))
		exp := slices.Delete(slices.Clone(want), k, k+1)
		if len(got) != len(exp) {
			t.Fatalf("trial %d: byte %d of packet %d damaged: got %d packets, want %d", trial, pos-spans[k][0], k, len(got), len(exp))
		}
		for i := range got {
			if !packetsEqual(got[i], exp[i]) {
				t.Fatalf("trial %d: packet %d differs", trial, i)
			}
		}
	}
}

// randomChunks returns data in reads of random sizes.
func randomChunks(data []byte, r *rand.Rand) io.Reader {
	var splits []int
	for pos := 0; pos < len(data); pos += 1 + r.IntN(97) {
		splits = append(splits, pos)
	}
	return &splitReader{data: data, splits: splits}
}

// errAfter returns data, then err.
type errAfter struct {
	data []byte
	err  error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestReaderError(t *testing.T) {
	unplugged := errors.New("unplugged")
	var stream []byte
	stream = AppendPacket(stream, Packet{Type: TypeJSON, Seq: 1, Payload: []byte("{}")})
	cut := Encode(Packet{Type: TypeJPEG, Seq: 2, Payload: make([]byte, 100)})
	stream = append(stream, cut[:50]...)
	var drops []Drop
	rd := NewReader(&errAfter{data: stream, err: unplugged}, &ReaderOptions{OnDrop: func(d Drop) { drops = append(drops, d) }})
	if p, err := rd.Next(); err != nil || p.Seq != 1 {
		t.Fatalf("Next = %+v, %v", p, err)
	}
	for range 2 { // sticky
		if _, err := rd.Next(); err != unplugged {
			t.Fatalf("Next error = %v, want %v", err, unplugged)
		}
	}
	if !slices.Equal(drops, []Drop{DropTruncated}) {
		t.Errorf("drops %v", drops)
	}
	if s := rd.Stats(); s.Garbage != 50 || s.Truncated != 1 {
		t.Errorf("stats %+v", s)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderNoProgress(t *testing.T) {
	if _, err := NewReader(emptyReader{}, nil).Next(); err != io.ErrNoProgress {
		t.Errorf("Next error = %v, want io.ErrNoProgress", err)
	}
}

func TestDropStrings(t *testing.T) {
	want := map[Drop]string{DropBadHeader: "bad_header", DropTooLarge: "too_large", DropBadCRC: "bad_crc", DropTruncated: "truncated", 0: "unknown"}
	for d, s := range want {
		if d.String() != s {
			t.Errorf("%d.String() = %q, want %q", d, d.String(), s)
		}
	}
	if TypeJPEG.String() != "jpeg" || TypeJSON.String() != "json" || Type(9).String() != "type9" {
		t.Error("Type.String")
	}
}

func BenchmarkReader(b *testing.B) {
	var stream []byte
	payload := fakeJPEG(1, 30000)
	for i := range 16 {
		stream = append(stream, idfLogInfo...)
		stream = AppendPacket(stream, jpegPacket(uint32(i), uint64(i), payload))
	}
	rd := NewReader(&cycleReader{data: stream}, nil)
	b.SetBytes(int64(len(payload) + Overhead))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rd.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
