package camlink

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes, whole and in chunks of a fuzzed size,
// with a fuzzed MaxPayload (0 means the default). The Reader must not
// panic; every packet it returns must be a real packet of the input, at
// the position its counts imply, with both checks right; its buffer stays
// within MaxPayload+Overhead; every input byte is counted exactly once; and
// how the input is chunked changes nothing.
func FuzzReader(f *testing.F) {
	// testdata/fuzz/FuzzReader holds every shared vector as a seed
	// (written by TestGenerateVectors -update).
	f.Add([]byte(Sync+Sync+Sync), uint16(0), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, max uint16, chunk uint8) {
		whole, wholeStats := fuzzRead(t, data, int(max), bytes.NewReader(data))
		chunked, chunkedStats := fuzzRead(t, data, int(max), &chunkReader{data: data, n: int(chunk) + 1})
		if len(whole) != len(chunked) || wholeStats != chunkedStats {
			t.Fatalf("chunking changed the result: %d packets %+v vs %d packets %+v", len(whole), wholeStats, len(chunked), chunkedStats)
		}
		for i := range whole {
			if !packetsEqual(whole[i], chunked[i]) {
				t.Fatalf("chunking changed packet %d", i)
			}
		}
	})
}

func fuzzRead(t *testing.T, data []byte, max int, src io.Reader) ([]Packet, Stats) {
	rd := NewReader(src, &ReaderOptions{MaxPayload: max})
	limit := rd.max + Overhead
	var got []Packet
	for {
		p, err := rd.Next()
		if len(rd.buf) > limit {
			t.Fatalf("buffer %d bytes, bound %d", len(rd.buf), limit)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if len(p.Payload) > rd.max {
			t.Fatalf("payload %d bytes > MaxPayload %d", len(p.Payload), rd.max)
		}
		// Every consumed byte is counted, so the packet ends where the
		// counts say.
		s := rd.Stats()
		end := int(s.PacketBytes + s.Garbage)
		start := end - Overhead - len(p.Payload)
		if start < 0 || end > len(data) {
			t.Fatalf("packet at [%d, %d) outside the input of %d bytes", start, end, len(data))
		}
		raw := data[start:end]
		if string(raw[:len(Sync)]) != Sync ||
			crc16(raw[4:22]) != binary.LittleEndian.Uint16(raw[22:]) ||
			!bytes.Equal(raw[HeaderLen:len(raw)-TrailerLen], p.Payload) ||
			crc32.ChecksumIEEE(p.Payload) != binary.LittleEndian.Uint32(raw[len(raw)-TrailerLen:]) ||
			Type(raw[4]) != p.Type || Flags(raw[5]) != p.Flags || binary.LittleEndian.Uint32(raw[6:]) != p.Seq {
			t.Fatalf("packet %+v does not match the input at [%d, %d): %x", p, start, end, raw)
		}
		got = append(got, p)
	}
	s := rd.Stats()
	if s.PacketBytes+s.Garbage != uint64(len(data)) || s.Packets != uint64(len(got)) {
		t.Fatalf("stats %+v do not add up to %d bytes and %d packets", s, len(data), len(got))
	}
	return got, s
}

// chunkReader returns data n bytes at a time.
type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.data[:min(c.n, len(c.data))])
	c.data = c.data[n:]
	return n, nil
}

// FuzzRoundTrip encodes random packets with random garbage between them
// (garbage never holds a whole sync marker, which would make it a candidate
// of its own) and reads them back in random chunks: every packet comes out,
// in order, and exactly the garbage is counted as garbage.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint64(1), []byte("ets Jun  8 2016 00:22:57\r\n"), []byte("\xff\xd8 payload \xff\xd9"), uint8(3))
	f.Add(uint64(2), []byte(Sync[:3]+"x"+Sync[:2]), []byte(Sync+Sync), uint8(16))
	f.Add(uint64(3), []byte{}, []byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, seed uint64, garbage, payload []byte, n uint8) {
		x := seed | 1
		next := func(bound int) int { // xorshift64*
			x ^= x >> 12
			x ^= x << 25
			x ^= x >> 27
			if bound <= 0 {
				return 0
			}
			return int((x * 0x2545F4914F6CDD1D >> 33) % uint64(bound))
		}
		var stream []byte
		var want []Packet
		var garbageBytes int
		for range int(n%24) + 1 {
			g := cleanGarbage(nil, garbage, next)
			stream = append(stream, g...)
			garbageBytes += len(g)
			lo := next(len(payload) + 1)
			hi := lo + next(len(payload)-lo+1)
			p := Packet{Type: Type(next(256)), Flags: Flags(next(256)), Seq: uint32(next(1<<31 - 1)), Payload: bytes.Clone(payload[lo:hi])}
			if p.HasUptime() {
				p.Uptime = uint64(next(1<<31-1)) << 20
			}
			stream = AppendPacket(stream, p)
			want = append(want, p)
		}
		tail := cleanGarbage(nil, garbage, next)
		stream = append(stream, tail...)
		garbageBytes += len(tail)

		rd := NewReader(&chunkReader{data: stream, n: next(300) + 1}, nil)
		got, stats := readAll(t, rd)
		if len(got) != len(want) {
			t.Fatalf("got %d packets, want %d", len(got), len(want))
		}
		for i := range got {
			if !packetsEqual(got[i], want[i]) {
				t.Fatalf("packet %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
		if stats.Garbage != uint64(garbageBytes) || stats.BadHeader+stats.TooLarge+stats.BadCRC+stats.Truncated != 0 {
			t.Fatalf("stats %+v, want %d garbage bytes and no drops", stats, garbageBytes)
		}
	})
}

// cleanGarbage appends a random slice of garbage to dst, with every whole
// sync marker broken (partial markers stay: they are what the search must
// step over).
func cleanGarbage(dst, garbage []byte, next func(int) int) []byte {
	lo := next(len(garbage) + 1)
	hi := lo + next(len(garbage)-lo+1)
	start := len(dst)
	dst = append(dst, garbage[lo:hi]...)
	g := dst[start:]
	for i := bytes.Index(g, syncBytes); i >= 0; i = bytes.Index(g, syncBytes) {
		g[i+3] ^= 0x20 // 'R' becomes 'r'
	}
	return dst
}
