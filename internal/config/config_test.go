package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// dir holds the sample files shared with the rest of the repository.
const dir = "../../testdata/config"

// env returns a getenv backed by a map.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// problems returns the problems in err, failing the test if err is not an
// *Error.
func problems(t *testing.T, err error) []Problem {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T (%v), want *Error", err, err)
	}
	return e.Problems
}

// exported returns c without its unexported bookkeeping, for comparisons.
func exported(c *Config) Config {
	out := *c
	out.pos = nil
	return out
}

func TestLoadValidFileSetsEveryField(t *testing.T) {
	path := filepath.Join(dir, "valid.yaml")
	got, err := Load(path, env(map[string]string{
		"CAMRELAY_ADMIN_TOKEN": "admin-secret",
		"FRONT_TOKEN":          "front-secret",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Config{
		Path:           path,
		Listen:         ":9090",
		AdminToken:     "admin-secret",
		LogFormat:      "json",
		LogLevel:       "debug",
		AllowedOrigins: []string{"https://cams.example.com", "*.example.org"},
		Limits: Limits{
			MaxFrameBytes:       2 << 20,
			WriteTimeout:        15 * time.Second,
			HandshakeTimeout:    5 * time.Second,
			ReadTimeout:         3 * time.Second,
			OfflineAfter:        7 * time.Second,
			Ring:                16,
			FreshFor:            2 * time.Second,
			MaxViewersPerCamera: 200,
			MaxViewers:          1000,
			IdleAfter:           45 * time.Second,

			MaxViewerMessageBytes: 8192,
			MaxFPSIn:              30,
			MaxConnsPerClient:     64,
			MaxAuthFailures:       10,
			AuthFailureForgive:    10 * time.Second,
		},
		Cameras: []Camera{
			{ID: "front", Name: "Front door", Source: SourcePush, Token: "front-secret",
				OfflineAfter: 30 * time.Second, MaxFrameBytes: 2 << 20},
			{ID: "bench", Name: "bench", Source: SourceSerial, Device: "/dev/ttyUSB0", Baud: 2000000,
				OfflineAfter: 7 * time.Second, MaxFrameBytes: 1 << 20},
			{ID: "porch", Name: "porch", Source: SourceMJPEG, URL: "http://192.168.1.50:81/stream",
				ControlURL: "http://192.168.1.50/", OfflineAfter: 7 * time.Second, MaxFrameBytes: 2 << 20},
			{ID: "garage", Name: "garage", Source: SourceJPEG, URL: "http://192.168.1.52/capture",
				Interval: 500 * time.Millisecond, OfflineAfter: 7 * time.Second, MaxFrameBytes: 2 << 20},
			{ID: "legacy", Name: "legacy", Source: SourceWSPull, URL: "ws://192.168.1.51:81/",
				OfflineAfter: 7 * time.Second, MaxFrameBytes: 2 << 20},
			{ID: "demo", Name: "demo", Source: SourceDemo, FPS: 10, Width: 320, Height: 240,
				OfflineAfter: 7 * time.Second, MaxFrameBytes: 2 << 20},
			{ID: "lab", Name: "lab", Source: SourcePush, Insecure: true,
				OfflineAfter: 7 * time.Second, MaxFrameBytes: 2 << 20},
		},
	}
	if !reflect.DeepEqual(exported(got), want) {
		t.Errorf("Load(%s) =\n%+v\nwant\n%+v", path, exported(got), want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate after Load: %v", err)
	}
}

func TestLoadMissingFileWrapsOSError(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestParseFillsDefaults(t *testing.T) {
	def := Default()
	tests := []struct {
		name string
		yaml string
		want []Camera
	}{
		{name: "empty file is all defaults", yaml: ""},
		{name: "comments only", yaml: "# nothing here yet\n"},
		{name: "null document", yaml: "~\n"},
		{name: "empty cameras list", yaml: "cameras: []\n"},
		{
			name: "serial baud, name from id, limits inherited",
			yaml: "cameras:\n  - id: bench\n    source: serial\n    device: /dev/ttyUSB0\n",
			want: []Camera{{ID: "bench", Name: "bench", Source: SourceSerial, Device: "/dev/ttyUSB0",
				Baud: 115200, OfflineAfter: 5 * time.Second, MaxFrameBytes: 4 << 20}},
		},
		{
			name: "jpeg interval",
			yaml: "cameras:\n  - id: garage\n    source: jpeg\n    url: http://192.168.1.52/capture\n",
			want: []Camera{{ID: "garage", Name: "garage", Source: SourceJPEG, URL: "http://192.168.1.52/capture",
				Interval: time.Second, OfflineAfter: 5 * time.Second, MaxFrameBytes: 4 << 20}},
		},
		{
			name: "demo pattern",
			yaml: "cameras:\n  - id: demo\n    source: demo\n",
			want: []Camera{{ID: "demo", Name: "demo", Source: SourceDemo, FPS: 20, Width: 640, Height: 480,
				OfflineAfter: 5 * time.Second, MaxFrameBytes: 4 << 20}},
		},
		{
			name: "cameras inherit limits from the file",
			yaml: "limits:\n  offline_after: 9s\n  max_frame_bytes: 65536\ncameras:\n  - id: demo\n    source: demo\n",
			want: []Camera{{ID: "demo", Name: "demo", Source: SourceDemo, FPS: 20, Width: 640, Height: 480,
				OfflineAfter: 9 * time.Second, MaxFrameBytes: 65536}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("test.yaml", []byte(tt.yaml), nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Path != "test.yaml" || got.Listen != def.Listen || got.LogFormat != def.LogFormat ||
				got.LogLevel != def.LogLevel || got.AdminToken != "" || len(got.AllowedOrigins) != 0 {
				t.Errorf("top level = %+v, want defaults", exported(got))
			}
			if tt.name != "cameras inherit limits from the file" && got.Limits != def.Limits {
				t.Errorf("Limits = %+v, want %+v", got.Limits, def.Limits)
			}
			if !reflect.DeepEqual(got.Cameras, tt.want) {
				t.Errorf("Cameras = %+v, want %+v", got.Cameras, tt.want)
			}
		})
	}
}

func TestDefaultAndDemoAreValid(t *testing.T) {
	tests := []struct {
		name string
		c    *Config
		want int // cameras
	}{
		{"Default", Default(), 0},
		{"Demo", Demo(), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if len(tt.c.Cameras) != tt.want {
				t.Errorf("%d cameras, want %d", len(tt.c.Cameras), tt.want)
			}
			if tt.c.Path != "" {
				t.Errorf("Path = %q, want \"\" for a built-in config", tt.c.Path)
			}
		})
	}
	want := Camera{ID: "demo", Name: "Demo", Source: SourceDemo, FPS: 20, Width: 640, Height: 480,
		OfflineAfter: 5 * time.Second, MaxFrameBytes: 4 << 20}
	if got, ok := Demo().Camera("demo"); !ok || got != want {
		t.Errorf("Demo().Camera(\"demo\") = %+v, %v; want %+v", got, ok, want)
	}
}

func TestCameraLooksUpByID(t *testing.T) {
	c := Demo()
	if _, ok := c.Camera("nope"); ok {
		t.Error("Camera(\"nope\") found a camera")
	}
	if cam, ok := c.Camera("demo"); !ok || cam.ID != "demo" {
		t.Errorf("Camera(\"demo\") = %+v, %v", cam, ok)
	}
}

func TestEnvironmentExpansion(t *testing.T) {
	vars := map[string]string{
		"NAME":   "Front door",
		"EMPTY":  "",
		"RING":   "12",
		"NESTED": "${NAME}",
		"YAMLY":  "a: b # c\n- d",
	}
	tests := []struct {
		name  string
		value string // the name: of a demo camera
		want  string
	}{
		{"a variable", "${NAME}", "Front door"},
		{"inside text", "cam ${NAME}!", "cam Front door!"},
		{"default when unset", "${UNSET:-Porch}", "Porch"},
		{"default when empty", "${EMPTY:-Porch}", "Porch"},
		{"default ignored when set", "${NAME:-Porch}", "Front door"},
		{"empty default", "x${UNSET:-}y", "xy"},
		{"$$ is a literal $", "$$5 and $${NAME}", "$5 and ${NAME}"},
		{"a lone $ stays", "pa$word $ $", "pa$word $ $"},
		{"a value is not expanded again", "${NESTED}", "${NAME}"},
		{"a value cannot inject YAML", "${YAMLY}", "a: b # c\n- d"},
		{"quoted scalar", `"${NAME}"`, "Front door"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "cameras:\n  - id: demo\n    source: demo\n    name: " + tt.value + "\n"
			c, err := Parse("env.yaml", []byte(doc), env(vars))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := c.Cameras[0].Name; got != tt.want {
				t.Errorf("name %s = %q, want %q", tt.value, got, tt.want)
			}
		})
	}

	t.Run("a number from the environment is a number", func(t *testing.T) {
		c, err := Parse("env.yaml", []byte("limits:\n  ring: ${RING}\n  max_viewers: \"${RING}\"\n"), env(vars))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if c.Limits.Ring != 12 || c.Limits.MaxViewers != 12 {
			t.Errorf("ring, max_viewers = %d, %d; want 12, 12", c.Limits.Ring, c.Limits.MaxViewers)
		}
	})

	t.Run("the sample file", func(t *testing.T) {
		c, err := Load(filepath.Join(dir, "env.yaml"), env(map[string]string{
			"CAMRELAY_ADMIN_TOKEN": "adm", "FRONT_TOKEN": "tok", "RING": "4",
		}))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if c.Listen != ":8080" || c.Limits.Ring != 4 || c.Limits.OfflineAfter != 5*time.Second ||
			c.Cameras[0].Name != "Price in $ and $5" || c.Cameras[1].URL != "http://192.168.1.50:81/stream" {
			t.Errorf("got %+v", exported(c))
		}
	})
}

func TestEnvironmentErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			name: "unset variable names file, line, key and the fix",
			yaml: "cameras:\n  - id: front\n    source: push\n    token: ${FRONT_TOKEN}\n",
			want: "front.yaml:4: cameras[0].token: environment variable FRONT_TOKEN is not set (export it or write ${FRONT_TOKEN:-value})",
		},
		{
			name: "unterminated reference",
			yaml: "listen: ${PORT\n",
			want: `front.yaml:1: listen: "${" has no closing "}" (write ${NAME}, or $$ for a literal $)`,
		},
		{
			name: "invalid name",
			yaml: "listen: ${1PORT}\n",
			want: "front.yaml:1: listen: invalid variable reference in ${…} (write ${NAME} or ${NAME:-default}, NAME being letters, digits and _; write $$ for a literal $)",
		},
		{
			name: "unset variable in a list item",
			yaml: "allowed_origins:\n  - example.com\n  - ${ORIGIN}\n",
			want: "front.yaml:3: allowed_origins[1]: environment variable ORIGIN is not set (export it or write ${ORIGIN:-value})",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("front.yaml", []byte(tt.yaml), nil)
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestParseReportsEveryProblemAtOnce(t *testing.T) {
	path := filepath.Join(dir, "invalid.yaml")
	_, err := Load(path, env(map[string]string{"FRONT_TOKEN": "tok"}))
	want := []struct {
		line int
		key  string
		msg  string // a part of the message
	}{
		{2, "log_level", `"verbose" is not a log level`},
		{4, "limits.ring", "0 is out of range (use 1 to 256)"},
		{5, "limits.write_timeout", "10 has no unit (write 10s for seconds"},
		{7, "cameras[0].id", `"Front Door" is not a valid id`},
		{12, "cameras[1].device", "not used with source: mjpeg (remove it; it is for serial cameras)"},
	}
	got := problems(t, err)
	if len(got) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i, w := range want {
		g := got[i]
		if g.File != path || g.Line != w.line || g.Key != w.key || !strings.Contains(g.Msg, w.msg) {
			t.Errorf("problem %d = %+v, want line %d, key %s, message containing %q", i, g, w.line, w.key, w.msg)
		}
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) || !strings.HasPrefix(lines[0], path+":2: log_level: ") {
		t.Errorf("Error() is not one FILE:LINE: KEY: message per line:\n%s", err)
	}
}

// TestProblems pins one problem of each kind: where it is reported and
// what it says.
func TestProblems(t *testing.T) {
	const (
		push  = "cameras:\n  - id: cam\n    source: push\n    token: t\n"
		demo  = "cameras:\n  - id: cam\n    source: demo\n"
		mjpeg = "cameras:\n  - id: cam\n    source: mjpeg\n"
	)
	tests := []struct {
		name string
		yaml string
		line int
		key  string
		msg  string // the whole message
	}{
		{"YAML syntax error", "listen: \":8080\"\ncameras: [\n", 2, "",
			"YAML syntax error: did not find expected node content (check indentation and quoting at and after this line)"},
		{"second document", "listen: \":8080\"\n---\nlisten: \":9090\"\n", 2, "",
			"a second YAML document starts here (a config file holds one; remove the --- and what follows)"},
		{"file is not a mapping", "- a\n- b\n", 1, "",
			"the file must be a mapping of keys such as listen: and cameras:, not a list"},
		{"unknown top-level key", "listne: \":8080\"\n", 1, "listne", `unknown key (did you mean "listen"?)`},
		{"unknown key far from any", "colour: blue\n", 1, "colour",
			"unknown key (known keys: listen, admin_token, admin_token_hash, viewers, metrics_token, metrics_token_hash, trusted_proxies, tls_cert, tls_key, log_format, log_level, allowed_origins, limits, cameras, cluster)"},
		{"limit at top level", "ring: 8\n", 1, "ring", "unknown key (ring belongs under limits:)"},
		{"unknown limit", "limits:\n  rign: 8\n", 2, "limits.rign", `unknown key (did you mean "ring"?)`},
		{"unknown camera key", push + "    colour: blue\n", 5, "cameras[0].colour",
			"unknown key (known keys: id, name, source, token, token_hash, insecure, device, baud, url, control_url, interval, fps, width, height, offline_after, max_frame_bytes)"},
		{"limit in a camera", demo + "    ring: 4\n", 4, "cameras[0].ring",
			"unknown key (ring is set under the top-level limits:; a camera may override only offline_after and max_frame_bytes)"},
		{"key set twice", "listen: \":1\"\nlisten: \":2\"\n", 2, "listen", "set twice, first at line 1 (remove one)"},
		{"string instead of list", "allowed_origins: example.com\n", 1, "allowed_origins",
			`must be a list such as ["https://cams.example.com"], not a string`},
		{"list instead of string", "listen: [a]\n", 1, "listen", "must be a string, not a list"},
		{"word instead of number", "limits:\n  ring: many\n", 2, "limits.ring", "must be a whole number"},
		{"fraction instead of number", "limits:\n  ring: 1.5\n", 2, "limits.ring", "must be a whole number"},
		{"number too large", "limits:\n  ring: 99999999999999999999\n", 2, "limits.ring", "number is too large (check for extra digits)"},
		{"empty number", "limits:\n  ring:\n", 2, "limits.ring",
			"has no value (write a whole number, or remove the key to use the default)"},
		{"word instead of bool", push + "    insecure: maybe\n", 5, "cameras[0].insecure",
			"must be true or false"},
		{"cameras not a list", "cameras:\n  id: cam\n", 1, "cameras",
			"must be a list of cameras, each starting with - id: (not a mapping)"},
		{"camera not a mapping", "cameras:\n  - cam\n", 2, "cameras[0]",
			"must be a mapping with id: and source:, not a string"},
		{"bare number duration", "limits:\n  offline_after: 5\n", 2, "limits.offline_after",
			"5 has no unit (write 5s for seconds or 5ms for milliseconds)"},
		{"bad duration", "limits:\n  offline_after: soon\n", 2, "limits.offline_after",
			`"soon" is not a duration (use Go syntax such as 500ms, 5s or 1m30s)`},
		{"bad log format", "log_format: jsno\n", 1, "log_format", `"jsno" is not a log format (use text or json; did you mean "json"?)`},
		{"bad log level", "log_level: INFO\n", 1, "log_level", `"INFO" is not a log level (use debug, info, warn or error; did you mean "info"?)`},
		{"bad listen", "listen: \"8080\"\n", 1, "listen", `"8080" is not a host:port address (write e.g. :8080 or 127.0.0.1:8080)`},
		{"bad port", "listen: \":99999\"\n", 1, "listen", `port "99999" is not a number from 0 to 65535`},
		{"origin with a path", "allowed_origins: [\"https://cams.example.com/\"]\n", 1, "allowed_origins[0]",
			`"https://cams.example.com/" has a path, so it never matches an Origin (write scheme://host[:port] or a bare host)`},
		{"bad origin pattern", "allowed_origins: [\"[a-\"]\n", 1, "allowed_origins[0]",
			`"[a-" is not a valid pattern (use a host, *, ? and [a-z] as in Go's path.Match)`},
		{"frame limit too small", "limits:\n  max_frame_bytes: 100\n", 2, "limits.max_frame_bytes",
			"100 is out of range (use 1024 to 67108864 bytes, that is 1 KiB to 64 MiB)"},
		{"zero viewers", "limits:\n  max_viewers_per_camera: 0\n", 2, "limits.max_viewers_per_camera",
			"0 is out of range (use 1 to 1000000)"},
		{"timeout too long", "limits:\n  write_timeout: 1h\n", 2, "limits.write_timeout", "1h is out of range (use 100ms to 10m)"},
		{"missing id", "cameras:\n  - source: demo\n", 2, "cameras[0].id",
			"is required (add id: with lowercase letters, digits and -, such as id: front)"},
		{"bad id", "cameras:\n  - id: Porch_1\n    source: demo\n", 2, "cameras[0].id",
			`"Porch_1" is not a valid id (use lowercase letters, digits and -, at most 64 characters, such as "porch-1")`},
		{"id too long", "cameras:\n  - id: " + strings.Repeat("a", 65) + "\n    source: demo\n", 2, "cameras[0].id",
			`"` + strings.Repeat("a", 40) + `…" is not a valid id (use lowercase letters, digits and -, at most 64 characters, such as "` + strings.Repeat("a", 64) + `")`},
		{"missing source", "cameras:\n  - id: cam\n", 2, "cameras[0].source",
			"is required (use push, serial, mjpeg, jpeg, ws-pull or demo)"},
		{"unknown source", "cameras:\n  - id: cam\n    source: mpjeg\n", 3, "cameras[0].source",
			`"mpjeg" is not a source (use push, serial, mjpeg, jpeg, ws-pull or demo; did you mean "mjpeg"?)`},
		{"push without token", "cameras:\n  - id: cam\n    source: push\n", 2, "cameras[0].token",
			"a push camera needs a token (set token: ${VAR}, or insecure: true to accept any uplink)"},
		{"serial without device", "cameras:\n  - id: cam\n    source: serial\n", 2, "cameras[0].device",
			"a serial camera needs a device (such as device: /dev/ttyUSB0)"},
		{"baud out of range", "cameras:\n  - id: cam\n    source: serial\n    device: COM3\n    baud: 300\n", 5, "cameras[0].baud",
			"300 is out of range (use 9600 to 3000000)"},
		{"mjpeg without url", mjpeg, 2, "cameras[0].url",
			"a mjpeg camera needs a url (such as url: http://192.168.1.50:81/stream)"},
		{"mjpeg with a ws url", mjpeg + "    url: ws://192.168.1.50/\n", 4, "cameras[0].url",
			`scheme "ws" does not fit source: mjpeg (use http:// or https://; for a camera that serves a WebSocket use source: ws-pull)`},
		{"url without scheme", mjpeg + "    url: 192.168.1.50/stream\n", 4, "cameras[0].url",
			"has no scheme (write it like http://192.168.1.50:81/stream)"},
		{"ws-pull with an http url", "cameras:\n  - id: cam\n    source: ws-pull\n    url: http://192.168.1.51:81/\n", 4, "cameras[0].url",
			`scheme "http" does not fit source: ws-pull (use ws:// or wss://; for an HTTP stream use source: mjpeg)`},
		{"control url not http", mjpeg + "    url: http://a/\n    control_url: ws://a/\n", 5, "cameras[0].control_url",
			`scheme "ws" is not http or https (write it like http://192.168.1.50/)`},
		{"jpeg polled too fast", "cameras:\n  - id: cam\n    source: jpeg\n    url: http://a/\n    interval: 10ms\n", 5,
			"cameras[0].interval", "10ms is out of range (use 50ms to 1h)"},
		{"jpeg polled slower than offline_after", "cameras:\n  - id: cam\n    source: jpeg\n    url: http://a/\n    interval: 10s\n", 5,
			"cameras[0].interval", "10s is not shorter than offline_after 5s, so the camera would flicker offline between polls (poll faster, or set offline_after on this camera)"},
		{"demo fps out of range", demo + "    fps: 120\n", 4, "cameras[0].fps", "120 is out of range (use 1 to 60)"},
		{"demo width not a multiple of 16", demo + "    width: 650\n", 4, "cameras[0].width", "650 is not a multiple of 16 (use 656)"},
		{"demo height too big", demo + "    height: 4320\n", 4, "cameras[0].height", "4320 is out of range (use 16 to 2160, a multiple of 16)"},
		{"camera offline_after out of range", demo + "    offline_after: 2h\n", 4, "cameras[0].offline_after", "2h is out of range (use 100ms to 1h)"},
		{"key of another source", push + "    device: /dev/ttyUSB0\n", 5, "cameras[0].device",
			"not used with source: push (remove it; it is for serial cameras)"},
		{"false still does not belong", demo + "    insecure: false\n", 4, "cameras[0].insecure",
			"not used with source: demo (remove it; it is for push cameras)"},
		{"url on a serial camera", "cameras:\n  - id: cam\n    source: serial\n    device: COM3\n    url: http://a/\n", 5, "cameras[0].url",
			"not used with source: serial (remove it; it is for mjpeg, jpeg or ws-pull cameras)"},
		{"insecure and a token", push + "    insecure: true\n", 5, "cameras[0].insecure",
			"true together with a token is contradictory (remove insecure to require the token, or remove the token)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("cams.yaml", []byte(tt.yaml), nil)
			got := problems(t, err)
			want := Problem{File: "cams.yaml", Line: tt.line, Key: tt.key, Msg: tt.msg}
			if len(got) != 1 || got[0] != want {
				t.Errorf("problems:\n%v\nwant one:\n%v", err, want)
			}
		})
	}
}

func TestValidFeatures(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(*Config) bool
	}{
		{
			name: "merge keys share settings between cameras",
			yaml: "x-pull: &pull\n  source: mjpeg\n  url: http://a/\ncameras:\n  - <<: *pull\n    id: a\n  - <<: *pull\n    id: b\n    url: http://b/\n",
			check: func(c *Config) bool {
				return len(c.Cameras) == 2 && c.Cameras[0].URL == "http://a/" && c.Cameras[1].URL == "http://b/" &&
					c.Cameras[1].Source == SourceMJPEG
			},
		},
		{
			name:  "quoted numbers are numbers",
			yaml:  "limits:\n  ring: \"4\"\n",
			check: func(c *Config) bool { return c.Limits.Ring == 4 },
		},
		{
			name:  "fresh_for may be zero",
			yaml:  "limits:\n  fresh_for: 0s\n",
			check: func(c *Config) bool { return c.Limits.FreshFor == 0 },
		},
		{
			name:  "1080 is not a multiple of 16 but 1088 is",
			yaml:  "cameras:\n  - id: hd\n    source: demo\n    width: 1920\n    height: 1088\n",
			check: func(c *Config) bool { return c.Cameras[0].Height == 1088 },
		},
		{
			name:  "insecure push camera needs no token",
			yaml:  "cameras:\n  - id: open\n    source: push\n    insecure: true\n",
			check: func(c *Config) bool { return c.Cameras[0].Insecure && c.Cameras[0].Token == "" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("ok.yaml", []byte(tt.yaml), nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("got %+v", exported(c))
			}
		})
	}
}

func TestUnknownKeySuggestsClosestKey(t *testing.T) {
	tests := []struct {
		typo string
		want string // "" when nothing is close
	}{
		{"tokn", "token"},
		{"tokne", "token"},
		{"Token", "token"},
		{"devcie", "device"},
		{"max-frame-bytes", "max_frame_bytes"},
		{"maxFrameBytes", "max_frame_bytes"},
		{"ofline_after", "offline_after"},
		{"uri", "url"},
		{"controlurl", "control_url"},
		{"resolution", ""},
		{"xyz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.typo, func(t *testing.T) {
			doc := "cameras:\n  - id: cam\n    source: demo\n    " + tt.typo + ": 1\n"
			_, err := Parse("cams.yaml", []byte(doc), nil)
			got := problems(t, err)
			if len(got) == 0 {
				t.Fatal("no problem reported")
			}
			hint := `did you mean "` + tt.want + `"?`
			if tt.want == "" {
				if strings.Contains(got[0].Msg, "did you mean") {
					t.Errorf("message %q suggests a key; want the list of keys", got[0].Msg)
				}
				return
			}
			if !strings.Contains(got[0].Msg, hint) {
				t.Errorf("message %q, want it to contain %q", got[0].Msg, hint)
			}
		})
	}

	t.Run("a misspelt key is not also reported missing", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "typo.yaml"), env(map[string]string{"FRONT_TOKEN": "t"}))
		got := problems(t, err)
		want := Problem{File: filepath.Join(dir, "typo.yaml"), Line: 4, Key: "cameras[0].tokn", Msg: `unknown key (did you mean "token"?)`}
		if len(got) != 1 || got[0] != want {
			t.Errorf("problems:\n%v\nwant one:\n%v", err, want)
		}
	})
}

func TestSecretsNeverAppearInErrors(t *testing.T) {
	const secret = "hunter2-S3CRET"
	tests := []struct {
		name string
		yaml string
		env  map[string]string
	}{
		{
			name: "the sample file, every kind of token mistake",
			env:  map[string]string{"ADMIN_TOKEN": secret + " \n", "FRONT_TOKEN": secret + "\n", "PORCH_URL": "ftp://admin:" + secret + "@cam/"},
		},
		{name: "token of the wrong type", yaml: "cameras:\n  - id: a\n    source: push\n    token: {x: " + secret + "}\n"},
		{name: "admin token of the wrong type", yaml: "admin_token: [" + secret + "]\n"},
		{name: "token on a serial camera", yaml: "cameras:\n  - id: a\n    source: serial\n    device: COM1\n    token: " + secret + "\n"},
		{name: "token on an unknown source", yaml: "cameras:\n  - id: a\n    source: pull\n    token: " + secret + "\n"},
		{name: "token with a bad reference", yaml: "cameras:\n  - id: a\n    source: push\n    token: " + secret + "${\n"},
		{name: "token with whitespace", yaml: "admin_token: \"" + secret + " \"\n"},
		{name: "password in a url", yaml: "cameras:\n  - id: a\n    source: mjpeg\n    url: \"ws://u:" + secret + "@h/\"\n    control_url: \"u:" + secret + "@h\"\n"},
		{name: "password in a broken url", yaml: "cameras:\n  - id: a\n    source: ws-pull\n    url: \"ws://u:" + secret + "@h:port/\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.yaml == "" {
				_, err = Load(filepath.Join(dir, "secret.yaml"), env(tt.env))
			} else {
				_, err = Parse("s.yaml", []byte(tt.yaml), env(tt.env))
			}
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error holds the secret:\n%v", err)
			}
		})
	}

	t.Run("the sample file reports each token problem", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "secret.yaml"), env(tests[0].env))
		var keys []string
		for _, p := range problems(t, err) {
			keys = append(keys, p.Key)
		}
		want := []string{"admin_token", "cameras[0].token", "cameras[1].token", "cameras[2].token",
			"cameras[3].insecure", "cameras[3].token", "cameras[4].url"}
		if !reflect.DeepEqual(keys, want) {
			t.Errorf("keys %v, want %v", keys, want)
		}
	})

	t.Run("Validate after the caller sets a token", func(t *testing.T) {
		c := Default()
		c.AdminToken = secret + "\n"
		c.Cameras = []Camera{{ID: "a", Source: SourceSerial, Device: "COM1", Baud: 9600, Token: secret}}
		err := c.Validate()
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("Validate = %v, want an error without the secret", err)
		}
	})
}

func TestDuplicateIDs(t *testing.T) {
	t.Run("in a file, both lines are named", func(t *testing.T) {
		path := filepath.Join(dir, "duplicate.yaml")
		_, err := Load(path, nil)
		want := path + `:6: cameras[2].id: duplicate id "front", already used by cameras[0] at line 2 (ids must be unique)`
		if err == nil || err.Error() != want {
			t.Errorf("error:\n%v\nwant:\n%s", err, want)
		}
	})
	t.Run("every repeat is reported", func(t *testing.T) {
		doc := "cameras:\n  - {id: a, source: demo}\n  - {id: a, source: demo}\n  - {id: a, source: demo}\n"
		_, err := Parse("d.yaml", []byte(doc), nil)
		got := problems(t, err)
		if len(got) != 2 || got[0].Line != 3 || got[1].Line != 4 {
			t.Errorf("problems:\n%v\nwant lines 3 and 4", err)
		}
	})
	t.Run("without a file, no lines", func(t *testing.T) {
		c := Demo()
		c.Cameras = append(c.Cameras, c.Cameras[0])
		want := `cameras[1].id: duplicate id "demo", already used by cameras[0] (ids must be unique)`
		if err := c.Validate(); err == nil || err.Error() != want {
			t.Errorf("Validate:\n%v\nwant:\n%s", err, want)
		}
	})
}

func TestValidateAfterOverrides(t *testing.T) {
	load := func(t *testing.T) *Config {
		t.Helper()
		c, err := Load(filepath.Join(dir, "valid.yaml"), env(map[string]string{"CAMRELAY_ADMIN_TOKEN": "a", "FRONT_TOKEN": "f"}))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"a flag sets a bad listen address", func(c *Config) { c.Listen = "nowhere" },
			`listen: "nowhere" is not a host:port address (write e.g. :8080 or 127.0.0.1:8080)`},
		{"a flag sets a bad log level", func(c *Config) { c.LogLevel = "loud" },
			`log_level: "loud" is not a log level (use debug, info, warn or error)`},
		{"the caller clears a token", func(c *Config) { c.Cameras[0].Token = "" },
			"cameras[0].token: a push camera needs a token (set token: ${VAR}, or insecure: true to accept any uplink)"},
		{"the caller zeroes a limit", func(c *Config) { c.Limits.Ring = 0 },
			"limits.ring: 0 is out of range (use 1 to 256)"},
		{"the caller adds a camera", func(c *Config) { c.Cameras = append(c.Cameras, Camera{ID: "new"}) },
			"cameras[7].source: is required (use push, serial, mjpeg, jpeg, ws-pull or demo)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := load(t)
			tt.change(c)
			err := c.Validate()
			if err == nil || err.Error() != tt.want {
				t.Errorf("Validate:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}

	t.Run("a value still from the file keeps its line", func(t *testing.T) {
		c := load(t)
		c.Cameras[3].OfflineAfter = 0 // inherit 7s; the file's 500ms interval stays valid
		c.Limits.OfflineAfter = 400 * time.Millisecond
		got := problems(t, c.Validate())
		want := Problem{File: c.Path, Line: 38, Key: "cameras[3].interval",
			Msg: "500ms is not shorter than offline_after 400ms, so the camera would flicker offline between polls (poll faster, or set offline_after on this camera)"}
		if len(got) != 1 || got[0] != want {
			t.Errorf("problems %+v, want %+v", got, want)
		}
	})
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"everything", Problem{File: "a.yaml", Line: 3, Key: "limits.ring", Msg: "bad"}, "a.yaml:3: limits.ring: bad"},
		{"no line", Problem{File: "a.yaml", Key: "listen", Msg: "bad"}, "a.yaml: listen: bad"},
		{"no file", Problem{Key: "listen", Msg: "bad"}, "listen: bad"},
		{"no key", Problem{File: "a.yaml", Line: 1, Msg: "bad"}, "a.yaml:1: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("sorted by line, stable within a line", func(t *testing.T) {
		e := newError([]Problem{{Line: 9, Msg: "c"}, {Line: 2, Msg: "a"}, {Line: 9, Msg: "d"}, {Line: 5, Msg: "b"}})
		if got, want := e.Error(), "line 2: a\nline 5: b\nline 9: c\nline 9: d"; got != want {
			t.Errorf("Error() = %q, want %q", got, want)
		}
	})
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"token", "token", 0},
		{"tokn", "token", 1},
		{"tokne", "token", 1},
		{"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzParse checks that Parse never panics, that every failure is an
// *Error whose problems all name the file, and that whatever Parse accepts
// also passes Validate.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	getenv := env(map[string]string{
		"CAMRELAY_ADMIN_TOKEN": "admin", "FRONT_TOKEN": "front", "A": "1", "SPACE": "a b", "RING": "8",
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data, getenv)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("error %T %q is not an *Error with problems", err, err)
			}
			for _, p := range e.Problems {
				if p.File != "fuzz.yaml" || p.Msg == "" {
					t.Fatalf("problem %+v does not name the file or says nothing", p)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted what Validate rejects: %v", err)
		}
	})
}

func TestMergeBombIsCheap(t *testing.T) {
	// Each level merges the one below three times: 3^40 paths, 40 mappings.
	var b strings.Builder
	b.WriteString("x-0: &m0 {source: demo}\n")
	const depth = 40
	for i := 1; i <= depth; i++ {
		fmt.Fprintf(&b, "x-%d: &m%d {<<: [*m%d, *m%d, *m%d]}\n", i, i, i-1, i-1, i-1)
	}
	fmt.Fprintf(&b, "cameras:\n  - <<: *m%d\n    id: cam\n", depth)
	c, err := Parse("bomb.yaml", []byte(b.String()), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Cameras[0].Source != SourceDemo {
		t.Errorf("source = %q, want demo", c.Cameras[0].Source)
	}
}

func TestSyntaxErrorNamesTheLineYAMLReports(t *testing.T) {
	path := filepath.Join(dir, "syntax.yaml")
	_, err := Load(path, nil)
	got := problems(t, err)
	// The bad indent is on line 5; the parser names line 2, where the list
	// it was reading starts.
	if len(got) != 1 || got[0].Line != 2 || got[0].Key != "" || !strings.HasPrefix(got[0].Msg, "YAML syntax error: ") {
		t.Errorf("problems:\n%v\nwant one YAML syntax error at line 2", err)
	}
}
