package camlink

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// The shared vectors in testdata/camlink are generated from the
// definitions below; `go test ./internal/camlink -run TestGenerateVectors
// -update` rewrites them. TestVectors reads the checked-in files the way
// the firmware's host tests do and checks them against the encoder and
// the Reader.

var update = flag.Bool("update", false, "rewrite testdata/camlink from the vector definitions")

const vectorDir = "../../testdata/camlink"

// vector is one stream and what a reader must make of it. Garbage is not
// stated: it is every byte that is not part of a good packet.
type vector struct {
	name   string
	desc   string
	max    int   // the reader's MaxPayload; zero means DefaultMaxPayload
	splits []int // offsets at which reads must also be split
	build  func(b *streamBuilder)
	// Expected rejections, stated by hand rather than computed.
	badHeader, tooLarge, badCRC, truncated uint64
}

// streamBuilder assembles a vector's bytes and records its good packets.
type streamBuilder struct {
	data    []byte
	good    []Packet
	offsets []int
}

// packet appends a good packet.
func (b *streamBuilder) packet(p Packet) {
	b.offsets = append(b.offsets, len(b.data))
	b.good = append(b.good, p)
	b.data = AppendPacket(b.data, p)
}

// text appends bytes that are not a packet.
func (b *streamBuilder) text(s string) { b.data = append(b.data, s...) }

// raw appends bytes that are not a good packet.
func (b *streamBuilder) raw(p []byte) { b.data = append(b.data, p...) }

// ESP32 ROM boot text as the classic ESP32 prints it at 115200 baud after
// a power-on reset, followed by what an Arduino-core 2.0.x build loads (the
// load lines vary from build to build).
const bootText = "ets Jun  8 2016 00:22:57\r\n\r\n" +
	"rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n" +
	"configsip: 0, SPIWP:0xee\r\n" +
	"clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\n" +
	"mode:DIO, clock div:1\r\n" +
	"load:0x3fff0030,len:1344\r\n" +
	"load:0x40078000,len:13964\r\n" +
	"load:0x40080400,len:3600\r\n" +
	"entry 0x400805f0\r\n"

// A brown-out in the middle of a frame, then the reset's boot text: the
// classic ESP32-CAM failure on a weak supply (../shared/FIRMWARE.md §5.5).
const brownoutText = "\r\nBrownout detector was triggered\r\n\r\n" +
	"ets Jun  8 2016 00:22:57\r\n\r\n" +
	"rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n" +
	"configsip: 0, SPIWP:0xee\r\n" +
	"clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\n" +
	"mode:DIO, clock div:1\r\n" +
	"load:0x3fff0030,len:1344\r\n" +
	"load:0x40078000,len:13964\r\n" +
	"load:0x40080400,len:3600\r\n" +
	"entry 0x400805f0\r\n"

// ESP-IDF log lines (colour codes included, as CONFIG_LOG_COLORS prints
// them) and an Arduino-core log line.
const (
	idfLogInfo  = "\x1b[0;32mI (1234) cam_hal: cam init ok\x1b[0m\r\n"
	idfLogWarn  = "\x1b[0;33mW (5678) cam_hal: NO-EOI\x1b[0m\r\n"
	idfLogError = "\x1b[0;31mE (9012) cam_hal: FB-OVF\x1b[0m\r\n"
	arduinoLog  = "[  2412][E][esp32-hal-i2c.c:161] i2cWrite(): Busy Timeout! Addr: 30\r\n"
)

// smallJPEG is a real 16x16 JPEG (Go's image/jpeg, quality 50), held as
// bytes so that the vectors do not change with the encoder.
var smallJPEG = mustHex("ffd8ffdb008400100b0c0e0c0a100e0d0e1211101318281a181616183123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763011112121815182f1a1a2f634238426363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363ffc00011080010001003012200021101031101ffc401a20000010501010101010100000000000000000102030405060708090a0b100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa0100030101010101010101010000000000000102030405060708090a0b1100020102040403040705040400010277000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f00e77445fbb5e81a22fddae0f445fbb5e81a22fddad54713422a55614e2bceebf390a784938ae6c459ff0086ff00aafc91ffd9")

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// noise returns n deterministic pseudo-random bytes (xorshift64*, so the
// vectors never depend on a library's generator) with every sync marker
// broken up.
func noise(seed uint64, n int) []byte {
	x := seed | 1
	b := make([]byte, n)
	for i := range b {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		b[i] = byte((x * 0x2545F4914F6CDD1D) >> 56)
	}
	for i := bytes.Index(b, syncBytes); i >= 0; i = bytes.Index(b, syncBytes) {
		b[i] = 0xA4
	}
	return b
}

// fakeJPEG returns a JPEG-shaped payload of n bytes (n >= 4): SOI, noise,
// EOI. It passes the gateway's frame checks without being a picture.
func fakeJPEG(seed uint64, n int) []byte {
	b := noise(seed, n)
	b[0], b[1] = 0xFF, 0xD8
	b[n-2], b[n-1] = 0xFF, 0xD9
	return b
}

func jpegPacket(seq uint32, uptime uint64, payload []byte) Packet {
	return Packet{Type: TypeJPEG, Flags: FlagUptime, Seq: seq, Uptime: uptime, Payload: payload}
}

func jsonPacket(seq uint32, uptime uint64, msg string) Packet {
	p := Packet{Type: TypeJSON, Seq: seq, Payload: []byte(msg)}
	if uptime != 0 {
		p.Flags, p.Uptime = FlagUptime, uptime
	}
	return p
}

const (
	helloMsg  = `{"type":"hello","fw":"camrelay-fw 1.0.0","board":"AI-Thinker ESP32-CAM","framesize":"VGA","reset":"POWERON"}`
	statusMsg = `{"type":"status","rssi":-61,"heap":142336,"psram":3854112,"fps":9.8}`
)

// withHeader sets p's header field at off to v (little-endian, size bytes)
// and recomputes the header check, as a sender that meant it would.
func withHeader(pkt []byte, off, size int, v uint64) []byte {
	pkt = bytes.Clone(pkt)
	for i := range size {
		pkt[off+i] = byte(v >> (8 * i))
	}
	c := crc16(pkt[4:22])
	pkt[22], pkt[23] = byte(c), byte(c>>8)
	return pkt
}

var vectors = []vector{
	{
		name: "jpeg-single",
		desc: "One JPEG packet (a real 16x16 JPEG) with a capture uptime.",
		build: func(b *streamBuilder) {
			b.packet(jpegPacket(0, 12_345_678, smallJPEG))
		},
	},
	{
		name: "json-single",
		desc: "One JSON packet: the hello message a camera sends after boot, with the uptime of sending.",
		build: func(b *streamBuilder) {
			b.packet(jsonPacket(0, 1_502_311, helloMsg))
		},
	},
	{
		name: "back-to-back",
		desc: "A JPEG, a JSON status and a JPEG with nothing between them.",
		build: func(b *streamBuilder) {
			b.packet(jpegPacket(7, 30_000_100, smallJPEG))
			b.packet(jsonPacket(8, 30_050_000, statusMsg))
			b.packet(jpegPacket(9, 30_100_200, fakeJPEG(9, 700)))
		},
	},
	{
		name: "seq-wrap",
		desc: "Sequence numbers wrapping from 4294967294 through 4294967295 to 0.",
		build: func(b *streamBuilder) {
			b.packet(jpegPacket(0xFFFFFFFE, 4_000_000_000, fakeJPEG(1, 64)))
			b.packet(jpegPacket(0xFFFFFFFF, 4_000_100_000, fakeJPEG(2, 64)))
			b.packet(jpegPacket(0, 4_000_200_000, fakeJPEG(3, 64)))
		},
	},
	{
		name: "boot-text",
		desc: "ESP32 ROM boot text after a power-on reset, then the hello and the first frame.",
		build: func(b *streamBuilder) {
			b.text(bootText)
			b.packet(jsonPacket(0, 1_102_000, helloMsg))
			b.packet(jpegPacket(1, 1_180_000, smallJPEG))
		},
	},
	{
		name: "idf-log",
		desc: "ESP-IDF log lines (with colour codes) and an Arduino log line between packets.",
		build: func(b *streamBuilder) {
			b.text(idfLogInfo)
			b.packet(jpegPacket(3, 2_000_000, fakeJPEG(4, 300)))
			b.text(idfLogWarn)
			b.text(idfLogError)
			b.packet(jpegPacket(4, 2_100_000, fakeJPEG(5, 300)))
			b.text(arduinoLog)
			b.packet(jsonPacket(5, 2_150_000, statusMsg))
		},
	},
	{
		name: "line-noise",
		desc: "Noise (boot text read at the wrong baud rate looks like this), a break (zero bytes), 0xFF fill, a packet, more noise, a packet.",
		build: func(b *streamBuilder) {
			b.raw(noise(77, 512))
			b.raw(make([]byte, 100))
			b.raw(bytes.Repeat([]byte{0xFF}, 50))
			b.packet(jpegPacket(10, 5_000_000, fakeJPEG(10, 200)))
			b.raw(noise(78, 33))
			b.packet(jsonPacket(11, 5_010_000, statusMsg))
		},
	},
	{
		name: "fake-sync",
		desc: "Log text that contains a sync marker followed by text (its header check fails), a good packet, and a sync marker with an incomplete header at the very end (not a candidate: plain garbage).",
		build: func(b *streamBuilder) {
			b.text("I (100) app: marker " + Sync + " is not a packet header, just text\r\n")
			b.packet(jsonPacket(0, 100_000, statusMsg))
			b.text(Sync + "\x01\x01")
		},
		badHeader: 1,
	},
	{
		name: "bad-header",
		desc: "A packet whose length field was damaged in transit to claim 2130706688 bytes: the header check fails, so the length is never believed; the damaged packet's bytes are garbage, and the next packet comes through.",
		build: func(b *streamBuilder) {
			bad := Encode(jpegPacket(20, 9_000_000, fakeJPEG(20, 400)))
			bad[13] = 0x7F // length's top byte; the header check is left as it was
			b.raw(bad)
			b.packet(jpegPacket(21, 9_100_000, fakeJPEG(21, 400)))
		},
		badHeader: 1,
	},
	{
		name: "bad-crc",
		desc: "A packet with one payload bit flipped: its CRC-32 fails, the packet is dropped, the next packet comes through.",
		build: func(b *streamBuilder) {
			bad := Encode(jpegPacket(30, 9_500_000, fakeJPEG(30, 500)))
			bad[HeaderLen+250] ^= 0x04
			b.raw(bad)
			b.packet(jpegPacket(31, 9_600_000, fakeJPEG(31, 500)))
		},
		badCRC: 1,
	},
	{
		name: "log-inside-packet",
		desc: "Another task logged a line in the middle of a packet's payload: the packet is longer than its header says, its CRC-32 fails, and the next packet comes through.",
		build: func(b *streamBuilder) {
			bad := Encode(jpegPacket(40, 10_000_000, fakeJPEG(40, 600)))
			b.raw(bad[:HeaderLen+300])
			b.text(idfLogWarn)
			b.raw(bad[HeaderLen+300:])
			b.packet(jpegPacket(41, 10_100_000, fakeJPEG(41, 600)))
		},
		badCRC: 1,
	},
	{
		name: "too-large-2gib",
		desc: "A header that passes its check but claims 2 GiB (2147483648 bytes), more than MaxPayload: the reader neither waits for nor allocates it, and finds the good packet right behind it.",
		build: func(b *streamBuilder) {
			hdr := Encode(jpegPacket(50, 11_000_000, nil))[:HeaderLen]
			b.raw(withHeader(hdr, 10, 4, 1<<31))
			b.packet(jpegPacket(51, 11_100_000, fakeJPEG(51, 300)))
		},
		tooLarge: 1,
	},
	{
		name: "reset-mid-packet",
		desc: "The camera browned out 1000 bytes into a packet that claims 3000: the reset's boot text, the hello and two frames follow, and start inside the claimed payload. Its CRC-32 fails once the claimed length has arrived; the search resumes right after the damaged packet's first byte, so the hello and both frames come through.",
		build: func(b *streamBuilder) {
			cut := Encode(jpegPacket(812, 95_000_000, fakeJPEG(60, 3000)))
			b.raw(cut[:HeaderLen+1000])
			b.text(brownoutText)
			b.packet(jsonPacket(0, 1_100_000, helloMsg))
			b.packet(jpegPacket(1, 1_180_000, fakeJPEG(61, 1500)))
			b.packet(jpegPacket(2, 1_280_000, fakeJPEG(62, 1500)))
		},
		badCRC: 1,
	},
	{
		name: "reset-at-end",
		desc: "As reset-mid-packet, but the stream ends before the cut packet's claimed 60000 bytes: at the end of input the cut packet counts as truncated and the packets inside its claimed payload still come through.",
		build: func(b *streamBuilder) {
			cut := Encode(jpegPacket(900, 96_000_000, fakeJPEG(70, 60000)))
			b.raw(cut[:HeaderLen+500])
			b.text(brownoutText)
			b.packet(jsonPacket(0, 1_100_000, helloMsg))
			b.packet(jpegPacket(1, 1_180_000, fakeJPEG(71, 800)))
		},
		truncated: 1,
	},
	{
		name: "sync-split",
		desc: "Two packets 10 bytes of text apart, which a reader must also be fed in reads split inside each sync marker, inside the first length field and header check, and inside each CRC-32.",
		splits: func() []int {
			const first = Overhead + 250 // the first packet's size
			const second = first + 10    // where the second packet starts
			return []int{1, 2, 3, 12, 23, first - 2, second + 1, second + 2, second + 3, second + first - 3}
		}(),
		build: func(b *streamBuilder) {
			b.packet(jpegPacket(100, 20_000_000, fakeJPEG(100, 250)))
			b.text("between.\r\n")
			b.packet(jpegPacket(101, 20_100_000, fakeJPEG(101, 250)))
		},
	},
	{
		name: "empty-payload",
		desc: "A packet with a zero-length payload (its CRC-32 is 00000000) between two JSON packets.",
		build: func(b *streamBuilder) {
			b.packet(jsonPacket(5, 0, `{"type":"status"}`))
			b.packet(Packet{Type: TypeJPEG, Seq: 6})
			b.packet(jsonPacket(7, 0, `{"type":"status"}`))
		},
	},
	{
		name: "max-payload",
		desc: "With MaxPayload 1024: a 1024-byte payload is accepted, a 1025-byte one is rejected as too large (its bytes are garbage), and the packet after it comes through.",
		max:  1024,
		build: func(b *streamBuilder) {
			b.packet(jpegPacket(1, 1_000_000, fakeJPEG(80, 1024)))
			b.raw(Encode(jpegPacket(2, 1_100_000, fakeJPEG(81, 1025))))
			b.packet(jpegPacket(3, 1_200_000, fakeJPEG(82, 1023)))
		},
		tooLarge: 1,
	},
	{
		name: "reserved-bits",
		desc: "A packet of reserved type 127 with the reserved flag bits set, and a JPEG packet whose uptime field holds a value without the uptime flag: a reader returns both, ignores the reserved bits' meaning, and reports uptime 0 for the second.",
		build: func(b *streamBuilder) {
			b.packet(Packet{Type: 127, Flags: 0xFE, Seq: 1, Payload: []byte("future")})
			p := jpegPacket(2, 0, fakeJPEG(90, 64))
			p.Flags = 0
			b.offsets = append(b.offsets, len(b.data))
			b.good = append(b.good, p)
			b.raw(withHeader(Encode(p), 14, 8, 123_456))
		},
	},
	{
		name: "control-down",
		desc: "Gateway to camera: a control command and a demand message, as the gateway sends them (no uptime).",
		build: func(b *streamBuilder) {
			b.packet(jsonPacket(0, 0, `{"type":"control","id":7,"framesize":"SVGA","quality":12}`))
			b.packet(jsonPacket(1, 0, `{"type":"demand","rate":"idle"}`))
		},
	},
}

// seedPath is where the vector's seed for FuzzReader lives.
func (v vector) seedPath() string {
	return filepath.Join("testdata", "fuzz", "FuzzReader", "vector-"+v.name)
}

// seed returns the vector as a FuzzReader corpus file (go test fuzz v1).
func (v vector) seed(bin []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\nuint16(%d)\nuint8(%d)\n", bin, v.max, 0)
}

// expectation is what an .expect file states.
type expectation struct {
	max     int
	splits  []int
	packets []expectedPacket
	stats   map[string]uint64
}

type expectedPacket struct {
	typ    Type
	seq    uint32
	length int
	crc    uint32
	flags  Flags
	uptime uint64
	offset int
}

// statKeys are the stat lines of an .expect file, in order.
var statKeys = []string{"packets", "garbage", "bad_header", "too_large", "bad_crc", "truncated"}

func statsMap(s Stats) map[string]uint64 {
	return map[string]uint64{
		"packets": s.Packets, "garbage": s.Garbage, "bad_header": s.BadHeader,
		"too_large": s.TooLarge, "bad_crc": s.BadCRC, "truncated": s.Truncated,
	}
}

// generate returns a vector's .bin and .expect contents.
func (v vector) generate() (bin []byte, expect string) {
	var b streamBuilder
	v.build(&b)
	max := v.max
	if max == 0 {
		max = DefaultMaxPayload
	}
	var w strings.Builder
	fmt.Fprintf(&w, "# camlink test vector %s (generated by go test ./internal/camlink -run TestGenerateVectors -update)\n", v.name)
	for _, line := range wrap(v.desc, 76) {
		fmt.Fprintf(&w, "# %s\n", line)
	}
	fmt.Fprintf(&w, "bytes %d\n", len(b.data))
	fmt.Fprintf(&w, "max %d\n", max)
	for _, s := range v.splits {
		fmt.Fprintf(&w, "split %d\n", s)
	}
	var packetBytes uint64
	for i, p := range b.good {
		uptime := uint64(0)
		if p.HasUptime() {
			uptime = p.Uptime
		}
		fmt.Fprintf(&w, "packet %d %d %d %08x %d %d %d\n", p.Type, p.Seq, len(p.Payload),
			crc32.ChecksumIEEE(p.Payload), p.Flags, uptime, b.offsets[i])
		packetBytes += uint64(Overhead + len(p.Payload))
	}
	stats := map[string]uint64{
		"packets": uint64(len(b.good)), "garbage": uint64(len(b.data)) - packetBytes,
		"bad_header": v.badHeader, "too_large": v.tooLarge, "bad_crc": v.badCRC, "truncated": v.truncated,
	}
	for _, k := range statKeys {
		fmt.Fprintf(&w, "stat %s %d\n", k, stats[k])
	}
	return b.data, w.String()
}

func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

// parseExpect reads an .expect file as a C test would: one keyword per
// line, numbers separated by single spaces, '#' lines ignored.
func parseExpect(t *testing.T, r io.Reader) (e expectation, size int) {
	t.Helper()
	e.stats = map[string]uint64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, " ")
		num := func(i int, base int) uint64 {
			n, err := strconv.ParseUint(f[i], base, 64)
			if err != nil {
				t.Fatalf("%q: field %d: %v", line, i, err)
			}
			return n
		}
		switch f[0] {
		case "bytes":
			size = int(num(1, 10))
		case "max":
			e.max = int(num(1, 10))
		case "split":
			e.splits = append(e.splits, int(num(1, 10)))
		case "packet":
			if len(f) != 8 {
				t.Fatalf("%q: want 7 fields after packet", line)
			}
			e.packets = append(e.packets, expectedPacket{
				typ: Type(num(1, 10)), seq: uint32(num(2, 10)), length: int(num(3, 10)),
				crc: uint32(num(4, 16)), flags: Flags(num(5, 10)), uptime: num(6, 10), offset: int(num(7, 10)),
			})
		case "stat":
			e.stats[f[1]] = num(2, 10)
		default:
			t.Fatalf("unknown line %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return e, size
}

func TestGenerateVectors(t *testing.T) {
	names := map[string]bool{}
	for _, v := range vectors {
		if names[v.name] {
			t.Fatalf("two vectors named %s", v.name)
		}
		names[v.name] = true
		bin, expect := v.generate()
		binPath := filepath.Join(vectorDir, v.name+".bin")
		expectPath := filepath.Join(vectorDir, v.name+".expect")
		if *update {
			if err := os.MkdirAll(vectorDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(binPath, bin, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(expectPath, []byte(expect), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(v.seedPath()), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(v.seedPath(), v.seed(bin), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		// The checked-in files must be exactly what the encoder makes
		// today: a change to the format must be deliberate.
		gotBin, err := os.ReadFile(binPath)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/camlink -run TestGenerateVectors -update)", err)
		}
		if !bytes.Equal(gotBin, bin) {
			t.Errorf("%s differs from the encoder's output", binPath)
		}
		gotExpect, err := os.ReadFile(expectPath)
		if err != nil {
			t.Fatal(err)
		}
		if string(gotExpect) != expect {
			t.Errorf("%s differs from the definition:\n%s\nwant:\n%s", expectPath, gotExpect, expect)
		}
		if seed, err := os.ReadFile(v.seedPath()); err != nil || !bytes.Equal(seed, v.seed(bin)) {
			t.Errorf("fuzz seed %s is missing or stale (%v)", v.seedPath(), err)
		}
	}
	if *update {
		return
	}
	// No stale vectors: every file belongs to a definition.
	files, err := filepath.Glob(filepath.Join(vectorDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		base := filepath.Base(f)
		if base == "README.md" {
			continue
		}
		if !names[strings.TrimSuffix(strings.TrimSuffix(base, ".bin"), ".expect")] {
			t.Errorf("%s has no definition in vectors_test.go", f)
		}
	}
}

// TestVectors reads every checked-in vector and checks it against the
// encoder (each good packet, re-encoded, is byte-identical to the bytes at
// its offset) and against the Reader fed in several ways.
func TestVectors(t *testing.T) {
	expects, err := filepath.Glob(filepath.Join(vectorDir, "*.expect"))
	if err != nil {
		t.Fatal(err)
	}
	if len(expects) < len(vectors) {
		t.Fatalf("found %d vectors in %s, want %d", len(expects), vectorDir, len(vectors))
	}
	for _, path := range expects {
		name := strings.TrimSuffix(filepath.Base(path), ".expect")
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			e, size := parseExpect(t, f)
			data, err := os.ReadFile(strings.TrimSuffix(path, ".expect") + ".bin")
			if err != nil {
				t.Fatal(err)
			}
			if len(data) != size {
				t.Fatalf("%d bytes, the .expect says %d", len(data), size)
			}
			for i, p := range e.packets {
				end := p.offset + Overhead + p.length
				if end > len(data) {
					t.Fatalf("packet %d: offset %d + %d bytes is past the end", i, p.offset, Overhead+p.length)
				}
				payload := data[p.offset+HeaderLen : end-TrailerLen]
				again := Encode(Packet{Type: p.typ, Flags: p.flags, Seq: p.seq, Uptime: p.uptime, Payload: payload})
				// A vector may hold a header that a sender would not
				// write (an uptime without the flag): compare everything
				// else then.
				raw := data[p.offset:end]
				if p.flags&FlagUptime == 0 {
					// A vector may hold an uptime without the flag,
					// which a sender would not write: the encoder
					// writes zero there, and the header check differs.
					raw = slices.Concat(raw[:14], again[14:HeaderLen], raw[HeaderLen:])
				}
				if !bytes.Equal(again, raw) {
					t.Errorf("packet %d: re-encoded bytes differ", i)
				}
			}
			feeds := map[string]func() io.Reader{
				"whole":    func() io.Reader { return bytes.NewReader(data) },
				"one-byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
				"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
				"splits":   func() io.Reader { return &splitReader{data: data, splits: e.splits} },
				"data-err": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
			}
			for how, feed := range feeds {
				got, stats := readAll(t, NewReader(feed(), &ReaderOptions{MaxPayload: e.max}))
				if len(got) != len(e.packets) {
					t.Fatalf("%s: got %d packets, want %d", how, len(got), len(e.packets))
				}
				for i, p := range got {
					w := e.packets[i]
					if p.Type != w.typ || p.Seq != w.seq || len(p.Payload) != w.length ||
						crc32.ChecksumIEEE(p.Payload) != w.crc || p.Flags != w.flags || p.Uptime != w.uptime {
						t.Errorf("%s: packet %d: got type %d seq %d len %d crc %08x flags %d uptime %d, want %+v",
							how, i, p.Type, p.Seq, len(p.Payload), crc32.ChecksumIEEE(p.Payload), p.Flags, p.Uptime, w)
					}
					if !bytes.Equal(p.Payload, data[w.offset+HeaderLen:w.offset+HeaderLen+w.length]) {
						t.Errorf("%s: packet %d: payload differs from the bytes at offset %d", how, i, w.offset)
					}
				}
				gotStats := statsMap(stats)
				for _, k := range statKeys {
					if gotStats[k] != e.stats[k] {
						t.Errorf("%s: stat %s = %d, want %d", how, k, gotStats[k], e.stats[k])
					}
				}
				if stats.PacketBytes+stats.Garbage != uint64(len(data)) {
					t.Errorf("%s: %d packet bytes + %d garbage != %d input bytes", how, stats.PacketBytes, stats.Garbage, len(data))
				}
			}
		})
	}
}

// splitReader returns data in reads that end at the given offsets (and at
// the end).
type splitReader struct {
	data   []byte
	splits []int
	pos    int
}

func (r *splitReader) Read(p []byte) (int, error) {
	if r.pos >= len(r.data) {
		return 0, io.EOF
	}
	end := len(r.data)
	for _, s := range r.splits {
		if s > r.pos && s < end {
			end = s
		}
	}
	n := copy(p, r.data[r.pos:end])
	r.pos += n
	return n, nil
}

// readAll reads packets until io.EOF.
func readAll(t testing.TB, rd *Reader) ([]Packet, Stats) {
	t.Helper()
	var got []Packet
	for {
		p, err := rd.Next()
		if err == io.EOF {
			return got, rd.Stats()
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		got = append(got, p)
	}
}
