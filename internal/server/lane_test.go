package server

import (
	"bytes"
	"testing"

	"github.com/camrelay/camrelay/internal/metrics"
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

// The lane's reasons for handing a rider back are the metric's reason
// labels, in the same order.
func TestHandbackReasonsAreTheMetricsLabels(t *testing.T) {
	want := map[handback]string{
		hbBehind: "behind", hbFull: "full", hbPartial: "partial", hbBusy: "busy",
		hbDeadline: "deadline", hbError: "error", hbState: "state", hbViewer: "viewer",
	}
	if len(metrics.LaneHandbacks) != int(nHandbacks) || len(want) != int(nHandbacks) {
		t.Fatalf("%d reasons in metrics.LaneHandbacks, %d in the lane", len(metrics.LaneHandbacks), nHandbacks)
	}
	for hb, name := range want {
		if metrics.LaneHandbacks[hb] != name {
			t.Errorf("reason %d is %q in metrics.LaneHandbacks, want %q", hb, metrics.LaneHandbacks[hb], name)
		}
	}
}
