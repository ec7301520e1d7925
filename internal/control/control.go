// Package control holds camera settings as the gateway accepts them: the
// JSON an admin sends, validated key by key, and the messages that carry
// them to a camera and back. Frame sizes travel by name ("VGA"), never by
// the camera driver's enum number, which changed between driver versions.
package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// FrameSizes are the frame size names a camera may be asked for, smallest
// first, with their pixel sizes (esp32-camera's framesize_t, OV2640 and up).
var FrameSizes = []struct {
	Name          string
	Width, Height int
}{
	{"96X96", 96, 96}, {"QQVGA", 160, 120}, {"128X128", 128, 128}, {"QCIF", 176, 144},
	{"HQVGA", 240, 176}, {"240X240", 240, 240}, {"QVGA", 320, 240}, {"320X320", 320, 320},
	{"CIF", 400, 296}, {"HVGA", 480, 320}, {"VGA", 640, 480}, {"SVGA", 800, 600},
	{"XGA", 1024, 768}, {"HD", 1280, 720}, {"SXGA", 1280, 1024}, {"UXGA", 1600, 1200},
	{"FHD", 1920, 1080}, {"P_HD", 720, 1280}, {"P_3MP", 864, 1536}, {"QXGA", 2048, 1536},
	{"QHD", 2560, 1440}, {"WQXGA", 2560, 1600}, {"P_FHD", 1080, 1920}, {"QSXGA", 2560, 1920},
	{"5MP", 2592, 1944},
}

// FrameSizeIndex returns the position of name in FrameSizes, or -1.
func FrameSizeIndex(name string) int {
	for i, f := range FrameSizes {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// Settings is a change of camera settings; nil fields stay as they are.
type Settings struct {
	FrameSize  *string `json:"framesize,omitempty"`
	Quality    *int    `json:"quality,omitempty"`    // 0..63, lower is better
	Brightness *int    `json:"brightness,omitempty"` // -2..2
	Contrast   *int    `json:"contrast,omitempty"`   // -2..2
	Saturation *int    `json:"saturation,omitempty"` // -2..2
	VFlip      *bool   `json:"vflip,omitempty"`
	HMirror    *bool   `json:"hmirror,omitempty"`
	LED        *int    `json:"led,omitempty"` // flash LED duty 0..255
}

// Empty reports whether s changes nothing.
func (s Settings) Empty() bool { return s == Settings{} }

// Problems lists what is wrong with a request, one entry per key.
type Problems map[string]string

func (p Problems) Error() string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", k, p[k])
	}
	return b.String()
}

// maxRequest bounds a control request body.
const maxRequest = 4 << 10

// Parse reads a JSON object of settings and checks every key. It returns
// Problems naming each bad or unknown key, so a client can fix all at once.
// Booleans may also be given as 0 or 1, as CameraWebServer's UI sends them.
func Parse(data []byte) (Settings, error) {
	var s Settings
	if len(data) > maxRequest {
		return s, Problems{"body": fmt.Sprintf("larger than %d bytes", maxRequest)}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return s, Problems{"body": "not a JSON object: " + err.Error()}
	}
	p := Problems{}
	intIn := func(key string, v json.RawMessage, lo, hi int) *int {
		var n int
		if err := json.Unmarshal(v, &n); err != nil {
			p[key] = fmt.Sprintf("must be a whole number from %d to %d", lo, hi)
			return nil
		}
		if n < lo || n > hi {
			p[key] = fmt.Sprintf("%d is out of range %d..%d", n, lo, hi)
			return nil
		}
		return &n
	}
	boolean := func(key string, v json.RawMessage) *bool {
		var b bool
		if err := json.Unmarshal(v, &b); err == nil {
			return &b
		}
		switch string(bytes.TrimSpace(v)) {
		case "0":
			b = false
			return &b
		case "1":
			b = true
			return &b
		}
		p[key] = "must be true or false (or 1 or 0)"
		return nil
	}
	for key, v := range raw {
		switch key {
		case "framesize":
			var name string
			if err := json.Unmarshal(v, &name); err != nil || FrameSizeIndex(strings.ToUpper(name)) < 0 {
				names := make([]string, 0, len(FrameSizes))
				for _, f := range FrameSizes {
					names = append(names, f.Name)
				}
				p[key] = "must be a frame size name: " + strings.Join(names, ", ")
				continue
			}
			name = strings.ToUpper(name)
			s.FrameSize = &name
		case "quality":
			s.Quality = intIn(key, v, 0, 63)
		case "brightness":
			s.Brightness = intIn(key, v, -2, 2)
		case "contrast":
			s.Contrast = intIn(key, v, -2, 2)
		case "saturation":
			s.Saturation = intIn(key, v, -2, 2)
		case "vflip":
			s.VFlip = boolean(key, v)
		case "hmirror":
			s.HMirror = boolean(key, v)
		case "led":
			s.LED = intIn(key, v, 0, 255)
		default:
			p[key] = "unknown setting (known: framesize, quality, brightness, contrast, saturation, vflip, hmirror, led)"
		}
	}
	if len(p) > 0 {
		return Settings{}, p
	}
	if s.Empty() {
		return s, Problems{"body": "no settings given"}
	}
	return s, nil
}

// Command is the message sent down a camera's link.
type Command struct {
	Type string `json:"type"` // "control"
	ID   uint64 `json:"id"`
	Settings
}

// Ack is the camera's answer to a Command.
type Ack struct {
	Type    string          `json:"type"` // "ack"
	ID      uint64          `json:"id"`
	OK      bool            `json:"ok"`
	Applied json.RawMessage `json:"applied,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// Sentinel errors of a control request, mapped to HTTP statuses by the
// server: 409, 504 and 501.
var (
	ErrOffline         = errors.New("camera is offline")
	ErrNoAck           = errors.New("camera did not acknowledge in time")
	ErrNotControllable = errors.New("this camera's link cannot carry control commands")
)

// KeyError is the failure of one setting on a camera that is asked one
// setting at a time (the stock CameraWebServer's /control?var=&val=): the
// settings before Key were applied, Key and those after it were not.
type KeyError struct {
	// Key is the setting that failed, as the gateway names it ("led").
	Key string
	// Applied holds the settings applied before the failure, a JSON
	// object; nil when none were.
	Applied json.RawMessage
	// Timeout is set when the camera did not answer in time.
	Timeout bool
	Err     error
}

func (e *KeyError) Error() string { return "setting " + e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }
