package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"go.bug.st/serial"

	"github.com/camrelay/camrelay/internal/camlink"
)

// uartUplink is the firmware's UART link: framed packets (docs/UART.md) on
// a serial device or one end of a pseudo-terminal pair.
type uartUplink struct {
	device string
	baud   int
	// noise writes what a real line carries between packets: ROM boot
	// text at every connect and an ESP-IDF log line every few packets.
	noise bool
	boot  time.Time
}

// uartLink is one open device.
type uartLink struct {
	port   io.ReadWriteCloser
	noise  bool
	boot   time.Time
	reader *camlink.Reader

	mu   sync.Mutex // guards seq, sent and writes
	seq  uint32
	sent int
	buf  []byte
}

// romBoot is what an ESP32 prints on reset, whatever the firmware does.
const romBoot = "ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n" +
	"configsip: 0, SPIWP:0xee\r\nclk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\n" +
	"mode:DIO, clock div:1\r\nload:0x3fff0030,len:1344\r\nentry 0x400805f0\r\n"

func (u *uartUplink) dial(ctx context.Context) (link, error) {
	var port io.ReadWriteCloser
	sp, err := serial.Open(u.device, &serial.Mode{BaudRate: u.baud})
	if err == nil {
		port = sp
	} else {
		// A pseudo-terminal has no modem lines, which some drivers
		// report as an error: open it as a plain file then.
		f, ferr := os.OpenFile(u.device, os.O_RDWR|syscallNoCTTY, 0)
		if ferr != nil {
			return nil, fmt.Errorf("open %s: %w", u.device, errors.Join(err, ferr))
		}
		port = f
	}
	l := &uartLink{port: port, noise: u.noise, boot: u.boot,
		reader: camlink.NewReader(port, &camlink.ReaderOptions{MaxPayload: 4096})}
	if u.noise {
		if _, err := io.WriteString(port, romBoot); err != nil {
			port.Close()
			return nil, fmt.Errorf("write %s: %w", u.device, err)
		}
	}
	return l, nil
}

func (l *uartLink) send(typ camlink.Type, payload []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = camlink.AppendPacket(l.buf[:0], camlink.Packet{
		Type: typ, Flags: camlink.FlagUptime, Seq: l.seq,
		Uptime: uint64(time.Since(l.boot).Microseconds()), Payload: payload,
	})
	l.seq++
	l.sent++
	if l.noise && l.sent%5 == 0 {
		line := fmt.Sprintf("I (%d) cam_hal: cam config ok\r\n", time.Since(l.boot).Milliseconds())
		l.buf = append(l.buf, line...)
	}
	_, err := l.port.Write(l.buf)
	return err
}

func (l *uartLink) SendFrame(_ context.Context, jpeg []byte) error {
	return l.send(camlink.TypeJPEG, jpeg)
}

func (l *uartLink) SendText(_ context.Context, msg []byte) error {
	return l.send(camlink.TypeJSON, msg)
}

// Receive returns the next JSON packet from the gateway; packets of other
// types are skipped, as the firmware does.
func (l *uartLink) Receive(context.Context) ([]byte, error) {
	for {
		p, err := l.reader.Next()
		if err != nil {
			return nil, err
		}
		if p.Type == camlink.TypeJSON {
			return p.Payload, nil
		}
	}
}

func (l *uartLink) Close() error { return l.port.Close() }
