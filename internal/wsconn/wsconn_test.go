package wsconn

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// countingConn counts the writes that reach the socket.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// TestMessagesOfEverySizeArriveIntact sends messages around every size where
// the coalescer changes behaviour (the buffer filling exactly, one byte more
// or less, the header growing from 2 to 4 to 10 bytes) and checks each
// arrives byte for byte, in order.
func TestMessagesOfEverySizeArriveIntact(t *testing.T) {
	var sizes []int
	for _, s := range []int{0, 1, 125, 126, 127, coalesceBuf - 4, coalesceBuf - 2, coalesceBuf - 1, coalesceBuf,
		coalesceBuf + 1, 2*coalesceBuf - 4, 2 * coalesceBuf, 65535, 65536, 70000, 1 << 20} {
		sizes = append(sizes, s)
	}
	msg := func(i, n int) []byte {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(i*31 + j)
		}
		return b
	}
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		ww := NewWriter(w)
		c, err := websocket.Accept(ww, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.CloseNow()
		for i, n := range sizes {
			typ := websocket.MessageBinary
			if i%2 == 1 {
				typ = websocket.MessageText
			}
			if err := c.Write(context.Background(), typ, msg(i, n)); err != nil {
				t.Error(err)
				return
			}
			if err := ww.Flush(); err != nil {
				t.Error(err)
				return
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(2 << 20)
	for i, n := range sizes {
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("message %d (%d bytes): %v", i, n, err)
		}
		if !bytes.Equal(got, msg(i, n)) {
			t.Fatalf("message %d (%d bytes) arrived as %d different bytes", i, n, len(got))
		}
	}
	<-done
}

// TestABinaryMessageIsOneWrite: header and payload go out in one writev,
// and the payload is not copied into a buffer first.
func TestABinaryMessageIsOneWrite(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	cc := &countingConn{Conn: server}
	co := &coalescer{conn: cc}
	go func() { // drain
		buf := make([]byte, 64<<10)
		for {
			if _, err := client.Read(buf); err != nil {
				return
			}
		}
	}()
	// What bufio.Writer does for a 35 KB message after a 4-byte header: a
	// full-buffer flush, then the rest directly.
	payload := make([]byte, 35000)
	if _, err := co.Write(make([]byte, coalesceBuf)); err != nil {
		t.Fatal(err)
	}
	if cc.writes != 0 {
		t.Fatalf("a full-buffer flush was written at once (%d writes)", cc.writes)
	}
	if _, err := co.Write(payload); err != nil {
		t.Fatal(err)
	}
	// net.Pipe has no writev, so net.Buffers writes each piece: what matters
	// is that nothing was written before the payload arrived and nothing
	// is held after it.
	if co.n != 0 {
		t.Fatal("bytes still held after the payload")
	}
	server.Close()
}

// TestCloseWithinDoesNotWaitForADeadPeer: a peer that never answers the
// close handshake holds CloseWithin for d, not for the library's 10 s.
func TestCloseWithinDoesNotWaitForADeadPeer(t *testing.T) {
	accepted := make(chan struct{})
	finished := make(chan time.Duration, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := NewWriter(w)
		c, err := websocket.Accept(ww, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		readDone := make(chan struct{})
		go func() { // a reader holds the read lock, as the gateway's do
			defer close(readDone)
			c.Read(context.Background())
		}()
		close(accepted)
		start := time.Now()
		CloseWithin(c, ww.Conn(), websocket.StatusGoingAway, "bye", 200*time.Millisecond)
		finished <- time.Since(start)
		<-readDone
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	<-accepted // and never read: a dead peer
	if d := <-finished; d > 2*time.Second {
		t.Fatalf("CloseWithin took %v", d)
	}
}

// TestDirectWritesInterleaveWithTheLibraryWithoutSplittingMessages: binary
// messages framed by AppendBinaryHeader and written straight to the socket,
// some only partly with the rest kept (KeepRest), mixed with the library's
// own messages of every size from another goroutine, all arrive whole; and
// after the library's close frame no direct write is allowed.
func TestDirectWritesInterleaveWithTheLibraryWithoutSplittingMessages(t *testing.T) {
	sizes := []int{0, 1, 125, 126, coalesceBuf - 2, coalesceBuf, coalesceBuf + 1, 65535, 65536, 70000}
	msg := func(tag byte, i, n int) []byte {
		b := make([]byte, n)
		for j := range b {
			b[j] = tag + byte(i*31+j)
		}
		return b
	}
	const rounds = 40
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		ww := NewWriter(w)
		c, err := websocket.Accept(ww, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.CloseNow()
		raw := ww.Conn()
		var lib sync.WaitGroup
		lib.Add(1)
		go func() { // the library's messages: text, every size
			defer lib.Done()
			for i := range rounds {
				if err := c.Write(context.Background(), websocket.MessageText, msg('t', i, sizes[i%len(sizes)])); err != nil {
					t.Error(err)
					return
				}
				_ = ww.Flush()
			}
		}()
		for i := 0; i < rounds; {
			if !ww.TryLockDirect() {
				time.Sleep(time.Millisecond)
				continue
			}
			p := msg('b', i, sizes[(i*7)%len(sizes)])
			bufs := net.Buffers{AppendBinaryHeader(nil, len(p)), p}
			if i%3 == 0 {
				// A partial write: the first bytes now, the rest kept.
				all := append(append([]byte{}, bufs[0]...), p...)
				cut := len(all) / 2
				if _, err := raw.Write(all[:cut]); err != nil {
					t.Error(err)
				}
				ww.KeepRest(net.Buffers{all[cut:]})
			} else if _, err := bufs.WriteTo(raw); err != nil {
				t.Error(err)
			}
			ww.UnlockDirect()
			if i%3 == 0 {
				// As the viewer's goroutine does once the lane lets it go.
				if err := ww.Flush(); err != nil {
					t.Error(err)
				}
			}
			i++
		}
		lib.Wait()
		if err := ww.Flush(); err != nil {
			t.Error(err)
		}
		c.Close(websocket.StatusNormalClosure, "")
		if ww.TryLockDirect() {
			ww.UnlockDirect()
			t.Error("a direct write was allowed after the close frame")
		}
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	var text, binary int
	for text+binary < 2*rounds {
		typ, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("after %d text and %d binary messages: %v", text, binary, err)
		}
		var want []byte
		if typ == websocket.MessageText {
			want = msg('t', text, sizes[text%len(sizes)])
			text++
		} else {
			want = msg('b', binary, sizes[(binary*7)%len(sizes)])
			binary++
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%v message %d arrived as %d different bytes", typ, text+binary, len(got))
		}
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("ended with %v, want a normal close", err)
	}
	<-done
}
