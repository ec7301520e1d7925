// Package camlink frames packets on the camera's UART link, byte-identical to the firmware's.
//
// A packet is a 24-byte header, the payload and a CRC-32 of the payload:
//
//	offset size field
//	0      4    sync: A5 5A 43 52 ("\xA5ZCR")
//	4      1    type: 1 JPEG frame, 2 JSON message, others reserved
//	5      1    flags: bit 0 uptime valid, bits 1-7 reserved (send 0, ignore)
//	6      4    sequence number, per sender, +1 per packet, wraps
//	10     4    payload length in bytes
//	14     8    uptime: microseconds since the sender booted (0 unless flag bit 0)
//	22     2    header check: CRC-16/CCITT-FALSE of bytes 4..21
//	24     n    payload
//	24+n   4    CRC-32 (IEEE, as zlib's crc32) of the payload
//
// Every multi-byte field is little-endian. docs/UART.md is the full
// specification, and testdata/camlink holds the vectors that the Go and the
// firmware tests share.
package camlink

import (
	"fmt"
	"math"
)

// Sync is the marker that starts every packet. 0xA5 is neither ASCII nor a
// byte that starts a UTF-8 sequence, so boot-loader and log text never
// contain it, and it is not 0xFF, which starts every JPEG marker. The
// marker does not overlap itself, so a search can always resume at the
// next byte.
const Sync = "\xa5\x5a\x43\x52"

// Sizes of the packet's fixed parts, in bytes.
const (
	HeaderLen  = 24
	TrailerLen = 4
	// Overhead is what a packet adds to its payload.
	Overhead = HeaderLen + TrailerLen
)

// DefaultMaxPayload is the largest payload a Reader accepts unless told
// otherwise: a UXGA OV2640 frame at the best quality is about 400 KiB, so
// 4 MiB leaves room for bigger sensors. A header that claims more is
// treated as corrupt.
const DefaultMaxPayload = 4 << 20

// Type says what a packet carries.
type Type uint8

// Packet types. The values 0 and 3 to 255 are reserved; a Reader returns
// such packets like any other, and a receiver skips the types it does not
// know.
const (
	// TypeJPEG is one complete JPEG picture (FFD8 … FFD9), camera to gateway.
	TypeJPEG Type = 1
	// TypeJSON is one JSON object with a string "type" field, UTF-8, no
	// terminating NUL; both directions.
	TypeJSON Type = 2
)

// String returns "jpeg", "json", or "typeN" for a reserved type.
func (t Type) String() string {
	switch t {
	case TypeJPEG:
		return "jpeg"
	case TypeJSON:
		return "json"
	}
	return fmt.Sprintf("type%d", uint8(t))
}

// Flags are the header's flag bits.
type Flags uint8

// FlagUptime says the header's uptime field holds a time. Without it the
// field is zero and ignored. The other bits are reserved: senders set them
// to zero, receivers ignore them.
const FlagUptime Flags = 1 << 0

// Packet is one packet on the link.
type Packet struct {
	Type  Type
	Flags Flags
	// Seq is the sender's sequence number: it goes up by one per packet of
	// any type and wraps from 2³²-1 to 0; a sender starts again from 0
	// when it boots. Gaps show lost packets.
	Seq uint32
	// Uptime is in microseconds since the sender booted, meaningful only
	// with FlagUptime: for a JPEG the capture time (esp32-camera's
	// fb->timestamp), for other packets the time the packet was written.
	Uptime uint64
	// Payload is the packet's content. A Reader allocates it afresh for
	// every packet, so it may be kept and shared.
	Payload []byte
}

// HasUptime reports whether p carries an uptime.
func (p Packet) HasUptime() bool { return p.Flags&FlagUptime != 0 }

// maxLen is the largest payload the length field can describe.
const maxLen = math.MaxUint32
