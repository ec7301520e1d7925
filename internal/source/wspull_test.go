package source

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camrelay/camrelay/internal/control"
)

// The board in these tests is written at the byte level, the way the ESP32
// camera tutorials' sketch behaves: arduinoWebSockets' WebSocketsServer on
// port 81 answers the handshake, and the loop sends every frame buffer
// with sendBIN, one unmasked binary frame with FIN set and no
// fragmentation, and never any text of its own.

// acceptWS reads a WebSocket handshake from c and answers it
// (RFC 6455 §4.2.2). check may refuse the request.
func acceptWS(c net.Conn, check func(h map[string][]string) error) (*bufio.Reader, error) {
	req, br, err := readRequest(c)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(req.Header); err != nil {
			io.WriteString(c, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
			return nil, err
		}
	}
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	_, err = fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nServer: arduino-WebSocketsServer\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	return br, err
}

// wsFrame is one unmasked server frame with FIN set (RFC 6455 §5.2), as
// sendBIN (opcode 2) and sendTXT (opcode 1) write it.
func wsFrame(opcode byte, payload []byte) []byte {
	b := []byte{0x80 | opcode}
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xFFFF:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// readWSFrame reads one masked client frame.
func readWSFrame(br *bufio.Reader) (opcode byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	if h[1]&0x80 == 0 || n > 1<<20 {
		return 0, nil, errors.New("client frame not masked or too big")
	}
	var mask [4]byte
	if _, err := io.ReadFull(br, mask[:]); err != nil {
		return 0, nil, err
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return 0, nil, err
	}
	for i := range payload {
		payload[i] ^= mask[i%4]
	}
	return h[0] & 0x0F, payload, nil
}

func TestWSPullTutorialBoard(t *testing.T) {
	frames := testFrames(t, 5)
	received := make(chan string, 1)
	board := newRawServer(t, func(c net.Conn) {
		br, err := acceptWS(c, func(h map[string][]string) error {
			// Basic auth from the URL's userinfo (arduinoWebSockets'
			// setAuthorization).
			want := "Basic " + base64.StdEncoding.EncodeToString([]byte("cam:pw"))
			if got := strings.Join(h["Authorization"], ","); got != want {
				return fmt.Errorf("authorization %q", got)
			}
			return nil
		})
		if err != nil {
			return
		}
		for _, j := range frames {
			c.Write(wsFrame(2, j)) // webSocket.sendBIN(num, fb->buf, fb->len)
		}
		// A sketch that also reports status, and one that sends junk.
		c.Write(wsFrame(1, []byte(`{"type":"status","rssi":-61,"heap":81234}`)))
		c.Write(wsFrame(1, []byte("hello from the board")))
		for {
			op, p, err := readWSFrame(br)
			if err != nil {
				return
			}
			if op == 1 {
				received <- string(p)
			}
			if op == 8 {
				return
			}
		}
	})
	sink := newLinkSink()
	w := &WSPull{URL: "ws://cam:pw@" + board.Addr() + "/", Log: quiet}
	_, run := runSource(t, w, sink)
	checkFrames(t, sink.waitFrames(t, len(frames)), frames)
	sink.waitFor(t, 10*time.Second, "the status message and the junk", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return slices.Contains(sink.messages, "status") && sink.drops["bad_message"] == 1
	})

	cmd := `{"type":"control","id":1,"led":255}`
	if err := w.Send(context.Background(), []byte(cmd)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	select {
	case got := <-received:
		if got != cmd {
			t.Errorf("board received %q, want %q", got, cmd)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the board did not receive the message")
	}
	if run.returned() {
		t.Fatalf("Run returned while the board was connected: %v", run.err)
	}
}

func TestWSPullDiesMidFrame(t *testing.T) {
	frames := testFrames(t, 3)
	board := newRawServer(t, func(c net.Conn) {
		if _, err := acceptWS(c, nil); err != nil {
			return
		}
		c.Write(wsFrame(2, frames[0]))
		c.Write(wsFrame(2, frames[1]))
		last := wsFrame(2, frames[2])
		c.Write(last[:len(last)/2]) // the board browns out mid-frame
	})
	sink := newLinkSink()
	_, run := runSource(t, &WSPull{URL: "ws://" + board.Addr() + "/", Log: quiet}, sink)
	err := run.result(t, 10*time.Second)
	if err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want an error", err)
	}
	got, _, _ := sink.snapshot()
	checkFrames(t, got, frames[:2])
}

func TestWSPullStalled(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name      string
		handshake bool
		want      string
	}{
		{"no handshake answer", false, "dial"},
		{"handshake then nothing", true, "nothing received for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			board := newRawServer(t, func(c net.Conn) {
				if tc.handshake {
					acceptWS(c, nil)
				}
				<-release
			})
			defer close(release)
			start := time.Now()
			_, run := runSource(t, &WSPull{URL: "ws://" + board.Addr() + "/", ReadTimeout: timeout, Log: quiet}, newLinkSink())
			err := run.result(t, timeout+5*time.Second)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v, want %q", err, tc.want)
			}
			if d := time.Since(start); d < timeout {
				t.Errorf("Run returned after %v, before the read timeout", d)
			}
		})
	}
}

func TestWSPullTooLarge(t *testing.T) {
	frames := testFrames(t, 2)
	board := newRawServer(t, func(c net.Conn) {
		br, err := acceptWS(c, nil)
		if err != nil {
			return
		}
		c.Write(wsFrame(2, frames[0]))
		c.Write(wsFrame(2, frames[1]))
		io.Copy(io.Discard, br)
	})
	sink := newLinkSink()
	limit := int64(max(len(frames[0]), len(frames[1])) - 1)
	_, run := runSource(t, &WSPull{URL: "ws://" + board.Addr() + "/", MaxFrame: limit, Log: quiet}, sink)
	err := run.result(t, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "size limit") {
		t.Fatalf("Run = %v, want the size limit", err)
	}
	if n := sink.dropped("too_large"); n != 1 {
		t.Errorf("too_large counted %d times, want 1", n)
	}
}

func TestWSPullSend(t *testing.T) {
	w := &WSPull{URL: "ws://127.0.0.1:1/"}
	if err := w.Send(context.Background(), []byte(`{"type":"control"}`)); !errors.Is(err, control.ErrOffline) {
		t.Errorf("Send while not connected = %v, want ErrOffline", err)
	}
	if err := w.Send(context.Background(), make([]byte, 16<<10)); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("Send of 16 KiB = %v, want refused", err)
	}
}

func TestWSPullSupervisorOfflineOnline(t *testing.T) {
	frames := testFrames(t, 1)
	var down atomic.Bool
	board := newRawServer(t, func(c net.Conn) {
		if down.Load() {
			return // rebooting: the socket closes at once
		}
		if _, err := acceptWS(c, nil); err != nil {
			return
		}
		for !down.Load() {
			if _, err := c.Write(wsFrame(2, frames[0])); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond) // the board's frame interval
		}
	})
	testSupervised(t, &WSPull{URL: "ws://" + board.Addr() + "/", Log: quiet}, &down)
}

// TestWSPullControl: settings reach a board running its own WebSocket
// server as they reach a push camera, and its ack comes back by id; a board
// that does not answer is ErrNoAck, a board that is gone ErrOffline.
func TestWSPullControl(t *testing.T) {
	frames := testFrames(t, 1)
	silent := make(chan struct{}) // closed: the board stops acking
	board := newRawServer(t, func(c net.Conn) {
		br, err := acceptWS(c, nil)
		if err != nil {
			return
		}
		c.Write(wsFrame(2, frames[0]))
		for {
			op, p, err := readWSFrame(br)
			if err != nil || op == 8 {
				return
			}
			if op != 1 {
				continue
			}
			select {
			case <-silent:
				continue
			default:
			}
			// The firmware's answer: the same id, what it applied.
			var cmd struct {
				ID   uint64 `json:"id"`
				Type string `json:"type"`
			}
			if json.Unmarshal(p, &cmd) != nil || cmd.Type != "control" {
				continue
			}
			applied := strings.TrimPrefix(string(p), fmt.Sprintf(`{"type":"control","id":%d,`, cmd.ID))
			c.Write(wsFrame(1, []byte(fmt.Sprintf(`{"type":"ack","id":%d,"ok":true,"applied":{%s}`, cmd.ID, applied))))
		}
	})
	w := &WSPull{URL: "ws://" + board.Addr() + "/", Log: quiet}
	if _, err := w.Control(context.Background(), control.Settings{}); !errors.Is(err, control.ErrOffline) {
		t.Errorf("Control before connecting = %v, want ErrOffline", err)
	}
	sink := newLinkSink()
	cancel, run := runSource(t, w, sink)
	sink.waitFrames(t, 1)

	size, q := "SVGA", 12
	ctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	ack, err := w.Control(ctx, control.Settings{FrameSize: &size, Quality: &q})
	if err != nil || !ack.OK || string(ack.Applied) != `{"framesize":"SVGA","quality":12}` {
		t.Fatalf("Control = %+v, %v; want the board's ack with what it applied", ack, err)
	}
	again, err := w.Control(ctx, control.Settings{Quality: &q})
	if err != nil || again.ID == ack.ID {
		t.Errorf("second Control = %+v, %v; want a fresh id", again, err)
	}

	close(silent)
	short, stop2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer stop2()
	if _, err := w.Control(short, control.Settings{Quality: &q}); !errors.Is(err, control.ErrNoAck) {
		t.Errorf("Control of a silent board = %v, want ErrNoAck", err)
	}
	cancel()
	run.result(t, 5*time.Second)
	if _, err := w.Control(context.Background(), control.Settings{Quality: &q}); !errors.Is(err, control.ErrOffline) {
		t.Errorf("Control after the link ended = %v, want ErrOffline", err)
	}
}
