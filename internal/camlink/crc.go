package camlink

// crc16 is CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF,
// neither input nor output reflected, no final XOR; its check value (the
// CRC of "123456789") is 0x29B1. The firmware uses the same table-driven
// loop.
func crc16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc = crc<<8 ^ crc16Table[byte(crc>>8)^c]
	}
	return crc
}

var crc16Table = func() (t [256]uint16) {
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return t
}()
