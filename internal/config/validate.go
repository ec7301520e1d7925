package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Validate checks the whole configuration and returns an *Error listing
// every problem, or nil. Call it after applying flags and environment
// overrides to a loaded (or Default, or Demo) configuration. A problem names
// the file and line only while the value is still the one the file gave;
// otherwise it names just the key.
//
// Validate does not change c. A camera's zero OfflineAfter or MaxFrameBytes
// is valid and means the value in Limits.
func (c *Config) Validate() error {
	if ps := c.check(); len(ps) > 0 {
		return newError(ps)
	}
	return nil
}

// check returns every problem in c, unsorted.
func (c *Config) check() []Problem {
	k := &checker{c: c}
	k.listen()
	k.secret("admin_token", c.AdminToken)
	k.tokenPair("admin_token", c.AdminToken, c.AdminTokenHash)
	k.viewers()
	k.secret("metrics_token", c.MetricsToken)
	k.tokenPair("metrics_token", c.MetricsToken, c.MetricsTokenHash)
	for i, p := range c.TrustedProxies {
		k.proxy(fmt.Sprintf("trusted_proxies[%d]", i), p)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		key, v := "tls_key", c.TLSKey
		if c.TLSCert == "" {
			key, v = "tls_cert", c.TLSCert
		}
		k.addf(key, v, "is needed too: HTTPS takes both tls_cert and tls_key (or --tls-cert and --tls-key)")
	}
	k.choice("log_format", c.LogFormat, "a log format", []string{"text", "json"})
	k.choice("log_level", c.LogLevel, "a log level", []string{"debug", "info", "warn", "error"})
	for i, o := range c.AllowedOrigins {
		k.origin(fmt.Sprintf("allowed_origins[%d]", i), o)
	}
	k.limits()
	k.cluster()
	firstUse := make(map[string]int) // camera id → index of its first camera
	for i := range c.Cameras {
		k.camera(i, firstUse)
	}
	return k.problems
}

// checker collects the problems of one Config.
type checker struct {
	c        *Config
	problems []Problem
}

// addf records a problem with key, whose current value is val (used to tell
// whether the value still comes from the file).
func (k *checker) addf(key string, val any, format string, args ...any) {
	file, line := k.c.where(key, val)
	k.problems = append(k.problems, Problem{File: file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// where returns the file and line of key if its value val is still the one
// the file gave. A key the file left out is placed at its camera's line,
// when it belongs to a camera that is still the file's.
func (c *Config) where(key string, val any) (string, int) {
	if o, ok := c.pos[key]; ok {
		if o.val == val {
			return c.Path, o.line
		}
		return "", 0
	}
	rest, ok := strings.CutPrefix(key, "cameras[")
	if !ok {
		return "", 0
	}
	num, _, _ := strings.Cut(rest, "]")
	i, err := strconv.Atoi(num)
	if err != nil || i < 0 || i >= len(c.Cameras) {
		return "", 0
	}
	camKey := "cameras[" + num + "]"
	if o, ok := c.pos[camKey]; ok && o.val == c.Cameras[i].ID {
		return c.Path, o.line
	}
	return "", 0
}

func (k *checker) listen() {
	v := k.c.Listen
	if v == "" {
		k.addf("listen", v, "is empty (write a host:port such as :8080 or 127.0.0.1:8080)")
		return
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		k.addf("listen", v, "%q is not a host:port address (write e.g. :8080 or 127.0.0.1:8080)", short(v))
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		k.addf("listen", v, "port %q is not a number from 0 to 65535", short(port))
	}
}

// secret checks a token without ever putting its value in a message.
func (k *checker) secret(key, v string) {
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		k.addf(key, v, "contains whitespace or control characters (check where the value comes from; "+
			"a trailing newline from a file is a common cause)")
	}
}

func (k *checker) choice(key, v, what string, choices []string) {
	if slices.Contains(choices, v) {
		return
	}
	hint := ""
	if s := closest(v, choices); s != "" && v != "" {
		hint = fmt.Sprintf("; did you mean %q?", s)
	}
	k.addf(key, v, "%q is not %s (use %s%s)", short(v), what, oneOf(choices), hint)
}

// origin checks a pattern for coder/websocket's OriginPatterns, which
// matches it with path.Match against the Origin's host, or its
// scheme://host when the pattern holds "://".
func (k *checker) origin(key, p string) {
	if p == "" {
		k.addf(key, p, "is empty (remove it, or write a host such as cams.example.com)")
		return
	}
	if _, err := path.Match(strings.ToLower(p), ""); errors.Is(err, path.ErrBadPattern) {
		k.addf(key, p, "%q is not a valid pattern (use a host, *, ? and [a-z] as in Go's path.Match)", short(p))
		return
	}
	host := p
	if _, after, ok := strings.Cut(p, "://"); ok {
		host = after
	}
	if strings.Contains(host, "/") {
		k.addf(key, p, "%q has a path, so it never matches an Origin (write scheme://host[:port] or a bare host)", short(p))
	}
}

func (k *checker) limits() {
	l := k.c.Limits
	k.bytes("limits.max_frame_bytes", l.MaxFrameBytes)
	k.durRange("limits.write_timeout", l.WriteTimeout, minTimeout, maxTimeout)
	k.durRange("limits.handshake_timeout", l.HandshakeTimeout, minTimeout, maxTimeout)
	k.durRange("limits.read_timeout", l.ReadTimeout, minTimeout, maxTimeout)
	k.durRange("limits.offline_after", l.OfflineAfter, minOfflineAfter, maxOfflineAfter)
	k.intRange("limits.ring", l.Ring, minRing, maxRing)
	k.durRange("limits.fresh_for", l.FreshFor, 0, maxFreshFor)
	k.intRange("limits.max_viewers_per_camera", l.MaxViewersPerCamera, 1, maxViewers)
	k.intRange("limits.max_viewers", l.MaxViewers, 1, maxViewers)
	k.durRange("limits.idle_after", l.IdleAfter, 0, maxIdleAfter)
	if v := l.MaxViewerMessageBytes; v < minViewerMessage || v > maxViewerMessage {
		k.addf("limits.max_viewer_message_bytes", v, "%d is out of range (use %d to %d bytes; a control message needs a few hundred)", v, minViewerMessage, maxViewerMessage)
	}
	k.intRange("limits.max_fps_in", l.MaxFPSIn, 0, maxFPSIn)
	k.intRange("limits.max_conns_per_client", l.MaxConnsPerClient, 0, maxViewers)
	k.intRange("limits.max_auth_failures", l.MaxAuthFailures, 1, maxAuthFailures)
	k.durRange("limits.auth_failure_forgive", l.AuthFailureForgive, minTimeout, time.Hour)
}

func (k *checker) bytes(key string, v int64) {
	if v < minFrameBytes || v > maxFrameBytes {
		k.addf(key, v, "%d is out of range (use %d to %d bytes, that is 1 KiB to 64 MiB)", v, minFrameBytes, maxFrameBytes)
	}
}

func (k *checker) intRange(key string, v, lo, hi int) bool {
	if v < lo || v > hi {
		k.addf(key, v, "%d is out of range (use %d to %d)", v, lo, hi)
		return false
	}
	return true
}

func (k *checker) durRange(key string, v, lo, hi time.Duration) bool {
	if v < lo || v > hi {
		k.addf(key, v, "%s is out of range (use %s to %s)", fmtDur(v), fmtDur(lo), fmtDur(hi))
		return false
	}
	return true
}

// camera checks c.Cameras[i]. firstUse maps each id seen so far to the
// index of the camera that has it.
func (k *checker) camera(i int, firstUse map[string]int) {
	cam := k.c.Cameras[i]
	p := fmt.Sprintf("cameras[%d]", i)
	key := func(name string) string { return p + "." + name }

	switch {
	case cam.ID == "":
		k.addf(key("id"), cam.ID, "is required (add id: with lowercase letters, digits and -, such as id: front)")
	case !validID(cam.ID):
		hint := ""
		if s := slug(cam.ID); s != "" {
			hint = fmt.Sprintf(", such as %q", s)
		}
		k.addf(key("id"), cam.ID, "%q is not a valid id (use lowercase letters, digits and -, at most %d characters%s)",
			short(cam.ID), maxIDLen, hint)
	default:
		if j, dup := firstUse[cam.ID]; dup {
			at := ""
			if file, line := k.c.where(fmt.Sprintf("cameras[%d].id", j), cam.ID); file != "" && line > 0 {
				at = fmt.Sprintf(" at line %d", line)
			}
			k.addf(key("id"), cam.ID, "duplicate id %q, already used by cameras[%d]%s (ids must be unique)", cam.ID, j, at)
		} else {
			firstUse[cam.ID] = i
		}
	}

	if cam.OfflineAfter != 0 {
		k.durRange(key("offline_after"), cam.OfflineAfter, minOfflineAfter, maxOfflineAfter)
	}
	if cam.MaxFrameBytes != 0 {
		k.bytes(key("max_frame_bytes"), cam.MaxFrameBytes)
	}

	switch {
	case cam.Source == "":
		k.addf(key("source"), cam.Source, "is required (use %s)", oneOf(sourceKinds()))
		return
	case !slices.Contains(sourceKinds(), cam.Source):
		hint := ""
		if s := closest(cam.Source, sourceKinds()); s != "" {
			hint = fmt.Sprintf("; did you mean %q?", s)
		}
		k.addf(key("source"), cam.Source, "%q is not a source (use %s%s)", short(cam.Source), oneOf(sourceKinds()), hint)
		return
	}

	// Fields that the source does not use must be empty: a value there is
	// surely a mistake, such as a block copied from another camera.
	unused := []struct {
		name string
		set  bool
		val  any
	}{
		{"token", cam.Token != "", cam.Token},
		{"token_hash", cam.TokenHash != "", cam.TokenHash},
		{"insecure", cam.Insecure, cam.Insecure},
		{"device", cam.Device != "", cam.Device},
		{"baud", cam.Baud != 0, cam.Baud},
		{"url", cam.URL != "", cam.URL},
		{"control_url", cam.ControlURL != "", cam.ControlURL},
		{"interval", cam.Interval != 0, cam.Interval},
		{"fps", cam.FPS != 0, cam.FPS},
		{"width", cam.Width != 0, cam.Width},
		{"height", cam.Height != 0, cam.Height},
	}
	for _, u := range unused {
		if users := keySources(u.name); u.set && !slices.Contains(users, cam.Source) {
			k.addf(key(u.name), u.val, "%s", notUsedMsg(cam.Source, users))
		}
	}

	switch cam.Source {
	case SourcePush:
		k.secret(key("token"), cam.Token)
		k.tokenPair(key("token"), cam.Token, cam.TokenHash)
		switch {
		case cam.Token == "" && cam.TokenHash == "" && !cam.Insecure:
			k.addf(key("token"), cam.Token, "a push camera needs a token (set token: ${VAR}, or insecure: true to accept any uplink)")
		case (cam.Token != "" || cam.TokenHash != "") && cam.Insecure:
			k.addf(key("insecure"), cam.Insecure, "true together with a token is contradictory (remove insecure to require the token, or remove the token)")
		}
	case SourceSerial:
		if cam.Device == "" {
			k.addf(key("device"), cam.Device, "a serial camera needs a device (such as device: /dev/ttyUSB0)")
		}
		k.intRange(key("baud"), cam.Baud, minBaud, maxBaud)
	case SourceMJPEG:
		k.url(key("url"), cam.URL, SourceMJPEG, "http://192.168.1.50:81/stream")
		k.controlURL(key("control_url"), cam.ControlURL)
	case SourceJPEG:
		k.url(key("url"), cam.URL, SourceJPEG, "http://192.168.1.52/capture")
		k.controlURL(key("control_url"), cam.ControlURL)
		if k.durRange(key("interval"), cam.Interval, minInterval, maxInterval) {
			offline := cam.OfflineAfter
			if offline == 0 {
				offline = k.c.Limits.OfflineAfter
			}
			// A poll interval at or past offline_after would show the camera
			// offline between every two polls.
			if offline > 0 && cam.Interval >= offline {
				k.addf(key("interval"), cam.Interval, "%s is not shorter than offline_after %s, so the camera would flicker offline between polls (poll faster, or set offline_after on this camera)",
					fmtDur(cam.Interval), fmtDur(offline))
			}
		}
	case SourceWSPull:
		k.url(key("url"), cam.URL, SourceWSPull, "ws://192.168.1.51:81/")
		k.controlURL(key("control_url"), cam.ControlURL)
	case SourceDemo:
		k.intRange(key("fps"), cam.FPS, minFPS, maxFPS)
		k.side(key("width"), cam.Width, maxWidth)
		k.side(key("height"), cam.Height, maxHeight)
	}
}

// tokenPair checks a secret that may also be given as "sha256:<hex>" in
// key_hash: at most one of them, and the hash well formed. The message
// never quotes either.
func (k *checker) tokenPair(key, plain, hash string) {
	hkey := key + "_hash"
	switch {
	case hash == "":
	case plain != "":
		k.addf(hkey, hash, "is set together with %s (keep one: the hash is for files that must not hold the token)", key[strings.LastIndex(key, ".")+1:])
	case !validTokenHash(hash):
		k.addf(hkey, hash, "is not sha256: followed by 64 hex digits (make one with: camrelay hash token)")
	}
}

// validTokenHash reports whether s is "sha256:" and 64 hex digits, the
// form auth.HashToken writes.
func validTokenHash(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for _, r := range h {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

// viewers checks the viewer credentials. A password hash must be bcrypt
// ($2a$, $2b$ or $2y$ and a cost); a deeper check happens when the server
// builds its checker.
func (k *checker) viewers() {
	v := k.c.Viewers
	k.secret("viewers.token", v.Token)
	k.tokenPair("viewers.token", v.Token, v.TokenHash)
	seen := map[string]int{}
	for i, u := range v.Users {
		p := fmt.Sprintf("viewers.users[%d]", i)
		switch {
		case u.Name == "":
			k.addf(p+".name", u.Name, "is required (the user name for HTTP Basic, such as name: homeassistant)")
		case strings.ContainsAny(u.Name, ":") || strings.ContainsFunc(u.Name, unicode.IsControl):
			k.addf(p+".name", u.Name, "must not contain ':' or control characters (HTTP Basic cannot carry them)")
		default:
			if j, dup := seen[u.Name]; dup {
				k.addf(p+".name", u.Name, "duplicate user %q, already viewers.users[%d]", u.Name, j)
			}
			seen[u.Name] = i
		}
		switch {
		case u.Password != "" && u.PasswordHash != "":
			k.addf(p+".password_hash", u.PasswordHash, "is set together with password (keep one)")
		case u.Password == "" && u.PasswordHash == "":
			k.addf(p+".password", u.Password, "is required (password: ${VAR}, or password_hash: from camrelay hash password)")
		case u.PasswordHash != "" && !validBcrypt(u.PasswordHash):
			k.addf(p+".password_hash", u.PasswordHash, "is not a bcrypt hash (make one with: camrelay hash password)")
		case len(u.Password) > 72:
			k.addf(p+".password", u.Password, "is longer than 72 bytes, bcrypt's limit (use a shorter one)")
		}
	}
}

// validBcrypt reports whether s looks like a bcrypt hash: $2a$, $2b$ or
// $2y$, a two-digit cost, $, and 53 more characters.
func validBcrypt(s string) bool {
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || s[3] != '$' || s[6] != '$' {
		return false
	}
	return strings.ContainsRune("aby", rune(s[2])) && '0' <= s[4] && s[4] <= '3' && '0' <= s[5] && s[5] <= '9'
}

// proxy checks one trusted proxy: an IP address or a CIDR network.
func (k *checker) proxy(key, v string) {
	if _, err := netip.ParsePrefix(v); err == nil {
		return
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return
	}
	k.addf(key, v, "%q is not an IP address or CIDR network (write e.g. 127.0.0.1 or 10.0.0.0/8)", short(v))
}

// url checks the required stream URL of a pull camera. Messages never quote
// the URL: it may carry a password (http://user:pass@host/).
func (k *checker) url(key, raw, source, example string) {
	schemes := []string{"http", "https"}
	if source == SourceWSPull {
		schemes = []string{"ws", "wss"}
	}
	if raw == "" {
		k.addf(key, raw, "a %s camera needs a url (such as url: %s)", source, example)
		return
	}
	u, ok := k.parseURL(key, raw, example)
	if !ok {
		return
	}
	if scheme := strings.ToLower(u.Scheme); !slices.Contains(schemes, scheme) {
		hint := ""
		switch {
		case source == SourceWSPull && (scheme == "http" || scheme == "https"):
			hint = "; for an HTTP stream use source: mjpeg"
		case source != SourceWSPull && (scheme == "ws" || scheme == "wss"):
			hint = "; for a camera that serves a WebSocket use source: ws-pull"
		}
		k.addf(key, raw, "scheme %q does not fit source: %s (use %s://%s)", short(u.Scheme), source, strings.Join(schemes, ":// or "), hint)
	}
}

// controlURL checks the optional HTTP base of a camera's control API.
func (k *checker) controlURL(key, raw string) {
	if raw == "" {
		return
	}
	const example = "http://192.168.1.50/"
	u, ok := k.parseURL(key, raw, example)
	if !ok {
		return
	}
	if scheme := strings.ToLower(u.Scheme); scheme != "http" && scheme != "https" {
		k.addf(key, raw, "scheme %q is not http or https (write it like %s)", short(u.Scheme), example)
	}
}

// parseURL parses an absolute URL with a host, reporting why not.
func (k *checker) parseURL(key, raw, example string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		k.addf(key, raw, "is not a valid URL (write it like %s)", example)
	case u.Scheme == "":
		k.addf(key, raw, "has no scheme (write it like %s)", example)
	case u.Host == "":
		k.addf(key, raw, "has no host (write it like %s)", example)
	default:
		return u, true
	}
	return nil, false
}

// side checks a demo frame dimension: JPEG encodes 16x16 blocks (MCUs)
// with 4:2:0 chroma, so a multiple of 16 needs no padding.
func (k *checker) side(key string, v, hi int) {
	if v < minSide || v > hi {
		k.addf(key, v, "%d is out of range (use %d to %d, a multiple of %d)", v, minSide, hi, sideStep)
		return
	}
	if v%sideStep != 0 {
		k.addf(key, v, "%d is not a multiple of %d (use %d)", v, sideStep, (v+sideStep/2)/sideStep*sideStep)
	}
}

// validID reports whether id can name a camera in a URL path: lowercase
// letters, digits and '-', at most maxIDLen bytes.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// slug turns a name such as "Front Door" into an id such as "front-door",
// or returns "" when it cannot.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
		if b.Len() >= maxIDLen {
			break
		}
	}
	out := b.String()
	if len(out) > maxIDLen {
		out = strings.TrimRight(out[:maxIDLen], "-")
	}
	return out
}

// fmtDur formats d without trailing zero units: 10m rather than 10m0s.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
