package server

import (
	"bytes"
	"testing"
)

// TestUnsentKeepsWhatAPartialWriteLeft: the rest of a partial write, at
// every cut, is exactly the bytes not yet written, and owns its copy of
// the shared header.
func TestUnsentKeepsWhatAPartialWriteLeft(t *testing.T) {
	head, body, tail := []byte("HEADER"), []byte("the jpeg"), []byte("\r\n")
	all := bytes.Join([][]byte{head, body, tail}, nil)
	for n := 0; n <= len(all); n++ {
		rest := unsent([][]byte{head, body, tail}, n)
		var got []byte
		for _, b := range rest {
			got = append(got, b...)
		}
		if !bytes.Equal(got, all[n:]) {
			t.Errorf("after %d bytes: rest %q, want %q", n, got, all[n:])
		}
		if n == len(all) && rest != nil {
			t.Errorf("after everything: rest %v, want nil", rest)
		}
		if n < len(head) {
			copy(head, "XXXXXX") // the next frame's header
			if !bytes.Equal(rest[0], []byte("HEADER")[n:]) {
				t.Errorf("after %d bytes the rest follows the shared header: %q", n, rest[0])
			}
			copy(head, "HEADER")
		}
	}
}
