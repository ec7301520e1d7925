package camlink

import (
	"encoding/binary"
	"hash/crc32"
	"slices"
)

// AppendPacket appends p, framed, to dst and returns the extended slice.
// The uptime field is written only when p has FlagUptime; it is zero
// otherwise. AppendPacket panics if the payload is 4 GiB or longer, which
// the length field cannot describe.
func AppendPacket(dst []byte, p Packet) []byte {
	n := len(p.Payload)
	if uint64(n) > maxLen {
		panic("camlink: payload too long for the length field")
	}
	dst = slices.Grow(dst, Overhead+n)
	start := len(dst)
	dst = append(dst, Sync...)
	dst = append(dst, byte(p.Type), byte(p.Flags))
	dst = binary.LittleEndian.AppendUint32(dst, p.Seq)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	var uptime uint64
	if p.HasUptime() {
		uptime = p.Uptime
	}
	dst = binary.LittleEndian.AppendUint64(dst, uptime)
	dst = binary.LittleEndian.AppendUint16(dst, crc16(dst[start+len(Sync):]))
	dst = append(dst, p.Payload...)
	return binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(p.Payload))
}

// Encode returns p framed in a new slice of exactly the packet's size.
func Encode(p Packet) []byte {
	return AppendPacket(make([]byte, 0, Overhead+len(p.Payload)), p)
}
