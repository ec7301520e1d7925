package control

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		bad   []string // keys named in Problems
		check func(Settings) bool
	}{
		{"a frame size by name, any case", `{"framesize":"vga"}`, nil, func(s Settings) bool { return *s.FrameSize == "VGA" }},
		{"every setting", `{"framesize":"UXGA","quality":0,"brightness":-2,"contrast":2,"saturation":0,"vflip":true,"hmirror":false,"led":255}`, nil,
			func(s Settings) bool { return *s.Quality == 0 && *s.LED == 255 && *s.VFlip && !*s.HMirror }},
		{"booleans as 0 and 1", `{"vflip":1,"hmirror":0}`, nil, func(s Settings) bool { return *s.VFlip && !*s.HMirror }},
		{"quality past 63", `{"quality":64}`, []string{"quality"}, nil},
		{"negative LED", `{"led":-1}`, []string{"led"}, nil},
		{"brightness as a string", `{"brightness":"1"}`, []string{"brightness"}, nil},
		{"an enum number for the frame size", `{"framesize":8}`, []string{"framesize"}, nil},
		{"unknown and bad keys together", `{"colour":1,"contrast":3,"vflip":"yes"}`, []string{"colour", "contrast", "vflip"}, nil},
		{"not an object", `[1,2]`, []string{"body"}, nil},
		{"nothing", `{}`, []string{"body"}, nil},
		{"oversize", `{"x":"` + strings.Repeat("a", 5000) + `"}`, []string{"body"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.body))
			if tc.bad == nil {
				if err != nil || !tc.check(s) {
					t.Fatalf("Parse = %+v, %v", s, err)
				}
				return
			}
			var p Problems
			if !errors.As(err, &p) || len(p) != len(tc.bad) {
				t.Fatalf("Parse error = %v, want problems with %v", err, tc.bad)
			}
			for _, k := range tc.bad {
				if p[k] == "" {
					t.Errorf("no problem named for %q: %v", k, p)
				}
			}
		})
	}
}

func TestFrameSizesAreInSizeOrderByName(t *testing.T) {
	if FrameSizeIndex("VGA") < FrameSizeIndex("QVGA") || FrameSizeIndex("nope") != -1 {
		t.Fatal("frame size table out of order")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"framesize":"VGA","quality":10}`))
	f.Add([]byte(`{"led":1e309}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err == nil && s.Empty() {
			t.Fatal("accepted a request that changes nothing")
		}
	})
}
