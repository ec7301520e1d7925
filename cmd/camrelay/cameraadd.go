package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/camrelay/camrelay/internal/auth"
	"github.com/camrelay/camrelay/internal/config"
	"github.com/camrelay/camrelay/internal/control"
)

var cameraIDPattern = regexp.MustCompile(`^[a-z0-9-]+$`)

// cameraAdd is `camrelay camera add ID`: it prints the lines a new camera
// needs on both sides, the gateway's config entry with a fresh token and the
// board's firmware/camrelay/config.h, so that nobody types a token twice.
func cameraAdd(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("camrelay camera add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		configPath = fs.String("config", "", "the gateway's config `file`, to refuse an id it already has")
		link       = fs.String("link", "ws", "how the board reaches the gateway: ws (WiFi) or uart (serial cable)")
		host       = fs.String("host", "", "gateway `address` the board dials; default this machine's first LAN IPv4 address")
		port       = fs.Int("port", 0, "gateway port; default the config's listen port, else 8080")
		device     = fs.String("device", "/dev/ttyUSB0", "serial device on the gateway, for --link uart")
		baud       = fs.Int("baud", 2000000, "serial baud rate, for --link uart")
		framesize  = fs.String("framesize", "VGA", "frame size `name` the camera starts with")
		maxSize    = fs.String("max-framesize", "UXGA", "largest frame size `name` control may ask for")
		ssid       = fs.String("wifi-ssid", "", "WiFi network name (the password comes from CAMRELAY_WIFI_PASSWORD, never a flag)")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: camrelay camera add ID [flags]\n\n"+
			"Prints the gateway config entry (with a fresh token) and the firmware's config.h for a new camera.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	// The id comes first, the flags after it.
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fs.Usage()
		return errors.New("camera add: give the camera's id first: camrelay camera add ID")
	}
	id := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var problems []string
	if !cameraIDPattern.MatchString(id) || len(id) > 64 {
		problems = append(problems, fmt.Sprintf("id %q: use lower-case letters, digits and -", id))
	}
	if *link != "ws" && *link != "uart" {
		problems = append(problems, fmt.Sprintf("--link %q: use ws or uart", *link))
	}
	*framesize, *maxSize = strings.ToUpper(*framesize), strings.ToUpper(*maxSize)
	start, largest := control.FrameSizeIndex(*framesize), control.FrameSizeIndex(*maxSize)
	switch {
	case start < 0:
		problems = append(problems, fmt.Sprintf("--framesize %q is not a frame size name", *framesize))
	case largest < 0:
		problems = append(problems, fmt.Sprintf("--max-framesize %q is not a frame size name", *maxSize))
	case start > largest:
		problems = append(problems, fmt.Sprintf("--framesize %s is larger than --max-framesize %s", *framesize, *maxSize))
	}
	gatewayPort := 8080
	if *configPath != "" {
		cfg, err := config.Load(*configPath, getenv)
		if err != nil {
			return err
		}
		if _, taken := cfg.Camera(id); taken {
			problems = append(problems, fmt.Sprintf("%s already has a camera %q: pick another id", *configPath, id))
		}
		if _, p, err := net.SplitHostPort(cfg.Listen); err == nil {
			if n, err := strconv.Atoi(p); err == nil && n > 0 {
				gatewayPort = n
			}
		}
	}
	if *port > 0 {
		gatewayPort = *port
	}
	if len(problems) > 0 {
		return errors.New("camera add: " + strings.Join(problems, "; "))
	}
	gatewayHost := *host
	if gatewayHost == "" {
		gatewayHost = lanAddress()
	}

	token := ""
	envName := "CAMRELAY_TOKEN_" + strings.ToUpper(strings.ReplaceAll(id, "-", "_"))
	if *link == "ws" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("camera add: make a token: %w", err)
		}
		token = base64.RawURLEncoding.EncodeToString(b)
	}

	w := &strings.Builder{}
	fmt.Fprintf(w, "# camrelay config: add under cameras:\n")
	if *link == "ws" {
		fmt.Fprintf(w, "  - id: %s\n    source: push\n    token: ${%s}\n", id, envName)
		// With the hash, the config file holds no secret; the board keeps
		// the token and the environment line below is not needed.
		fmt.Fprintf(w, "    # or, instead of token, only its hash: token_hash: %s\n\n", auth.HashToken(token))
		fmt.Fprintf(w, "# the gateway's environment (e.g. /etc/camrelay/camrelay.env):\nexport %s=%s\n\n", envName, token)
	} else {
		fmt.Fprintf(w, "  - id: %s\n    source: serial\n    device: %s\n    baud: %d\n\n", id, *device, *baud)
	}
	wifiSSID, wifiPass := *ssid, getenv("CAMRELAY_WIFI_PASSWORD")
	if wifiSSID == "" {
		wifiSSID = "your-wifi-name"
	}
	if wifiPass == "" {
		wifiPass = "your-wifi-password"
	}
	fmt.Fprintf(w, "// firmware/camrelay/config.h for camera %q (camrelay camera add %s)\n", id, id)
	fmt.Fprintf(w, "#pragma once\n")
	defines := []struct{ name, value string }{
		{"CAMRELAY_LINK", cString(*link)},
		{"CAMRELAY_WIFI_SSID", cString(wifiSSID)},
		{"CAMRELAY_WIFI_PASSWORD", cString(wifiPass)},
		{"CAMRELAY_GATEWAY_HOST", cString(gatewayHost)},
		{"CAMRELAY_GATEWAY_PORT", strconv.Itoa(gatewayPort)},
		{"CAMRELAY_CAMERA_ID", cString(id)},
		{"CAMRELAY_TOKEN", cString(token)},
		{"CAMRELAY_BAUD", strconv.Itoa(*baud)},
		{"CAMRELAY_FRAMESIZE", cString(*framesize)},
		{"CAMRELAY_MAX_FRAMESIZE", cString(*maxSize)},
		{"CAMRELAY_QUALITY", "12"},
		{"CAMRELAY_MAX_FPS", "25"},
		{"CAMRELAY_IDLE_FPS", "1"},
	}
	for _, d := range defines {
		fmt.Fprintf(w, "#define %s %s\n", d.name, d.value)
	}
	_, err := io.WriteString(stdout, w.String())
	return err
}

// cString writes s as a C string literal.
func cString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\\' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x\"\"", r) // "" ends the hex escape
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// lanAddress is this machine's first non-loopback IPv4 address, the one a
// board on the same network dials; a placeholder when there is none.
func lanAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return "192.168.1.10"
}
