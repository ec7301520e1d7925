package mjpeg_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/camrelay/camrelay/internal/mjpeg"
)

func ExampleReader() {
	// The body of an ESPHome camera stream: the first boundary right after
	// the response header, each part trailed by the next boundary.
	body := "--b\r\n" +
		"Content-Type: image/jpeg\r\nContent-Length: 4\r\n\r\n\xff\xd8\xff\xd9\r\n--b\r\n" +
		"Content-Type: image/jpeg\r\nContent-Length: 4\r\nX-Timestamp: 1767225600.500000\r\n\r\n\xff\xd8\xff\xd9\r\n--b\r\n"
	r := mjpeg.NewReader(strings.NewReader(body), "multipart/x-mixed-replace;boundary=b", 0)
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("stream failed:", err)
			return
		}
		if p.Timestamp.IsZero() {
			fmt.Printf("%d bytes\n", len(p.Data))
		} else {
			fmt.Printf("%d bytes, X-Timestamp %s\n", len(p.Data), p.Timestamp.UTC().Format("2006-01-02 15:04:05.000"))
		}
	}
	// Output:
	// 4 bytes
	// 4 bytes, X-Timestamp 2026-01-01 00:00:00.500
}
