package camlink_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/camrelay/camrelay/internal/camlink"
)

func Example() {
	// What a camera writes on its UART after a reset: boot text, then
	// packets.
	var line bytes.Buffer
	line.WriteString("ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n")
	line.Write(camlink.Encode(camlink.Packet{Type: camlink.TypeJSON, Seq: 0, Payload: []byte(`{"type":"hello"}`)}))
	line.Write(camlink.Encode(camlink.Packet{
		Type: camlink.TypeJPEG, Seq: 1,
		Flags: camlink.FlagUptime, Uptime: 1_180_000, // captured 1.18 s after boot
		Payload: []byte{0xFF, 0xD8, 0xFF, 0xD9},
	}))

	rd := camlink.NewReader(&line, nil)
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		fmt.Printf("%s seq %d, %d bytes\n", p.Type, p.Seq, len(p.Payload))
	}
	fmt.Printf("%d bytes of boot text skipped\n", rd.Stats().Garbage)
	// Output:
	// json seq 0, 16 bytes
	// jpeg seq 1, 4 bytes
	// 85 bytes of boot text skipped
}
