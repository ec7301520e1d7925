package testpattern_test

import (
	"fmt"
	"time"

	"github.com/camrelay/camrelay/internal/testpattern"
)

func Example() {
	p, err := testpattern.New(testpattern.Options{Width: 640, Height: 480, Label: "demo 640x480"})
	if err != nil {
		panic(err)
	}
	p.SetLED(true)
	start := time.Now()
	for n := range uint64(3) {
		// A source would publish each frame; here we only look at it.
		frame := p.Render(n, start.Add(time.Duration(n)*50*time.Millisecond))
		fmt.Printf("frame %d: % X ... % X\n", n, frame[:2], frame[len(frame)-2:])
	}
	// Output:
	// frame 0: FF D8 ... FF D9
	// frame 1: FF D8 ... FF D9
	// frame 2: FF D8 ... FF D9
}
