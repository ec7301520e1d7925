package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// YAML tags as yaml.Node.ShortTag reports them.
const (
	tagNull  = "!!null"
	tagBool  = "!!bool"
	tagInt   = "!!int"
	tagFloat = "!!float"
	tagStr   = "!!str"
	tagMerge = "!!merge"
)

// maxAliasHops bounds alias chains; the parser never makes one longer than
// a single hop, so this only guards against a hand-built node tree.
const maxAliasHops = 8

// topKeys are the keys of the file's top-level mapping.
func topKeys() []string {
	return []string{"listen", "admin_token", "admin_token_hash", "viewers", "metrics_token", "metrics_token_hash", "trusted_proxies", "tls_cert", "tls_key",
		"log_format", "log_level", "allowed_origins", "limits", "cameras", "cluster"}
}

// limitKeys are the keys of the limits mapping.
func limitKeys() []string {
	return []string{"max_frame_bytes", "write_timeout", "handshake_timeout", "read_timeout", "offline_after",
		"ring", "fresh_for", "max_viewers_per_camera", "max_viewers", "idle_after",
		"max_viewer_message_bytes", "max_fps_in",
		"max_conns_per_client", "max_auth_failures", "auth_failure_forgive"}
}

// cameraKeys are the keys of a camera mapping, in the order problems about
// them are reported.
func cameraKeys() []string {
	return []string{"id", "name", "source", "token", "token_hash", "insecure", "device", "baud", "url",
		"control_url", "interval", "fps", "width", "height", "offline_after", "max_frame_bytes"}
}

// sourceKinds are the valid values of a camera's source key.
func sourceKinds() []string {
	return []string{SourcePush, SourceSerial, SourceMJPEG, SourceJPEG, SourceWSPull, SourceDemo}
}

// keySources returns the sources that use a camera key, or nil when every
// source does.
func keySources(key string) []string {
	switch key {
	case "token", "token_hash", "insecure":
		return []string{SourcePush}
	case "device", "baud":
		return []string{SourceSerial}
	case "url", "control_url":
		return []string{SourceMJPEG, SourceJPEG, SourceWSPull}
	case "interval":
		return []string{SourceJPEG}
	case "fps", "width", "height":
		return []string{SourceDemo}
	}
	return nil
}

// notUsedMsg is the message for a camera key that its source does not use.
func notUsedMsg(source string, users []string) string {
	return fmt.Sprintf("not used with source: %s (remove it; it is for %s cameras)", source, oneOf(users))
}

// origin is where a value came from in the file: the line of its key and
// the value as decoded. Validate names the line only while the value is
// unchanged.
type origin struct {
	line int
	val  any // comparable: string, bool, int, int64 or time.Duration
}

// field is one key and its value in a mapping, or one item of a sequence
// (name is then "").
type field struct {
	name string
	path string     // key path for messages, e.g. "cameras[2].url"
	line int        // line of the key (of the item, for a sequence)
	val  *yaml.Node // aliases already followed
}

// decoder turns a parsed YAML tree into a Config, collecting problems.
type decoder struct {
	file     string
	getenv   func(string) string
	problems []Problem
	reported map[string]bool   // keys with a problem; validation skips them and their children
	pos      map[string]origin // where each decoded value came from
	// merged caches the fields of mappings reached through merge keys, so
	// that a file nesting <<: [*a, *a, …] many levels deep costs one visit
	// per mapping rather than one per path (a "billion laughs" file).
	merged map[mergeKey][]field
}

// mergeKey names the fields of one mapping as seen from one key path.
type mergeKey struct {
	n      *yaml.Node
	prefix string
}

func newDecoder(file string, getenv func(string) string) *decoder {
	return &decoder{
		file:     file,
		getenv:   getenv,
		reported: make(map[string]bool),
		pos:      make(map[string]origin),
		merged:   make(map[mergeKey][]field),
	}
}

// addf records a problem at line with key.
func (d *decoder) addf(line int, key, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
	d.reported[key] = true
}

// wasReported reports whether key or a key above it already has a problem,
// so that validation does not add a second, derived one ("id is required"
// after "id must be a string").
func (d *decoder) wasReported(key string) bool {
	for {
		if d.reported[key] {
			return true
		}
		i := strings.LastIndexAny(key, ".[")
		if i <= 0 {
			return false
		}
		key = key[:i]
	}
}

// decode parses data into c. Problems go to d.problems.
func (d *decoder) decode(data []byte, c *Config) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) { // io.EOF: an empty file, all defaults
			d.syntax(err)
		}
		return
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntax(err)
	default:
		d.addf(extra.Line, "", "a second YAML document starts here (a config file holds one; remove the --- and what follows)")
	}
	d.root(&doc, c)
}

// syntax records a YAML syntax error at the line the parser names.
func (d *decoder) syntax(err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, after
			}
		}
	}
	d.problems = append(d.problems, Problem{File: d.file, Line: line,
		Msg: "YAML syntax error: " + msg + " (check indentation and quoting at and after this line)"})
}

func (d *decoder) root(doc *yaml.Node, c *Config) {
	n := doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	n = resolve(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.addf(n.Line, "", "the file must be a mapping of keys such as listen: and cameras:, not %s", kindName(n))
		return
	}
	for _, f := range d.fields(n, "", nil) {
		switch f.name {
		case "listen":
			d.str(f, &c.Listen)
		case "admin_token":
			d.str(f, &c.AdminToken)
		case "admin_token_hash":
			d.str(f, &c.AdminTokenHash)
		case "viewers":
			d.viewers(f, &c.Viewers)
		case "metrics_token":
			d.str(f, &c.MetricsToken)
		case "metrics_token_hash":
			d.str(f, &c.MetricsTokenHash)
		case "trusted_proxies":
			d.stringList(f, &c.TrustedProxies)
		case "tls_cert":
			d.str(f, &c.TLSCert)
		case "tls_key":
			d.str(f, &c.TLSKey)
		case "log_format":
			d.str(f, &c.LogFormat)
		case "log_level":
			d.str(f, &c.LogLevel)
		case "allowed_origins":
			d.stringList(f, &c.AllowedOrigins)
		case "limits":
			d.limits(f, &c.Limits)
		case "cameras":
			d.cameras(f, c)
		case "cluster":
			d.cluster(f, c)
		default:
			if strings.HasPrefix(f.name, "x-") {
				// Extension keys, as in Compose files: a place for YAML
				// anchors that cameras merge with <<.
				continue
			}
			d.unknown(f, topKeys(), topHint)
		}
	}
}

func (d *decoder) limits(f field, l *Limits) {
	if isNull(f.val) {
		return
	}
	if f.val.Kind != yaml.MappingNode {
		d.addf(f.line, f.path, "must be a mapping of limits such as ring: 8, not %s", kindName(f.val))
		return
	}
	for _, g := range d.fields(f.val, f.path, nil) {
		switch g.name {
		case "max_frame_bytes":
			d.int64Value(g, &l.MaxFrameBytes)
		case "write_timeout":
			d.duration(g, &l.WriteTimeout)
		case "handshake_timeout":
			d.duration(g, &l.HandshakeTimeout)
		case "read_timeout":
			d.duration(g, &l.ReadTimeout)
		case "offline_after":
			d.duration(g, &l.OfflineAfter)
		case "ring":
			d.intValue(g, &l.Ring)
		case "fresh_for":
			d.duration(g, &l.FreshFor)
		case "max_viewers_per_camera":
			d.intValue(g, &l.MaxViewersPerCamera)
		case "max_viewers":
			d.intValue(g, &l.MaxViewers)
		case "idle_after":
			d.duration(g, &l.IdleAfter)
		case "max_viewer_message_bytes":
			d.int64Value(g, &l.MaxViewerMessageBytes)
		case "max_fps_in":
			d.intValue(g, &l.MaxFPSIn)
		case "max_conns_per_client":
			d.intValue(g, &l.MaxConnsPerClient)
		case "max_auth_failures":
			d.intValue(g, &l.MaxAuthFailures)
		case "auth_failure_forgive":
			d.duration(g, &l.AuthFailureForgive)
		default:
			d.unknown(g, limitKeys(), limitsHint)
		}
	}
}

// viewerKeys and userKeys are the keys of the viewers mapping and of one
// of its users.
func viewerKeys() []string { return []string{"users", "token", "token_hash"} }
func userKeys() []string   { return []string{"name", "password", "password_hash"} }

func noHint(string) string { return "" }

func (d *decoder) viewers(f field, v *Viewers) {
	if isNull(f.val) {
		return
	}
	if f.val.Kind != yaml.MappingNode {
		d.addf(f.line, f.path, "must be a mapping with users: and/or token:, not %s", kindName(f.val))
		return
	}
	for _, g := range d.fields(f.val, f.path, nil) {
		switch g.name {
		case "token":
			d.str(g, &v.Token)
		case "token_hash":
			d.str(g, &v.TokenHash)
		case "users":
			d.users(g, v)
		default:
			d.unknown(g, viewerKeys(), noHint)
		}
	}
}

func (d *decoder) users(f field, v *Viewers) {
	if isNull(f.val) {
		return
	}
	if f.val.Kind != yaml.SequenceNode {
		d.addf(f.line, f.path, "must be a list of users, each starting with - name: (not %s)", kindName(f.val))
		return
	}
	for i, item := range f.val.Content {
		item = resolve(item)
		path := fmt.Sprintf("%s[%d]", f.path, i)
		var u User
		if item.Kind != yaml.MappingNode {
			d.addf(item.Line, path, "must be a mapping with name: and password: or password_hash:, not %s", kindName(item))
		} else {
			for _, g := range d.fields(item, path, nil) {
				switch g.name {
				case "name":
					d.str(g, &u.Name)
				case "password":
					d.str(g, &u.Password)
				case "password_hash":
					d.str(g, &u.PasswordHash)
				default:
					d.unknown(g, userKeys(), noHint)
				}
			}
			d.pos[path] = origin{line: item.Line, val: u.Name}
		}
		v.Users = append(v.Users, u)
	}
}

func (d *decoder) cameras(f field, c *Config) {
	if isNull(f.val) {
		return
	}
	if f.val.Kind != yaml.SequenceNode {
		d.addf(f.line, f.path, "must be a list of cameras, each starting with - id: (not %s)", kindName(f.val))
		return
	}
	for i, item := range f.val.Content {
		item = resolve(item)
		// Every item gets a Camera, even a broken one, so that indices in
		// messages match the file.
		c.Cameras = append(c.Cameras, d.camera(field{path: fmt.Sprintf("%s[%d]", f.path, i), line: item.Line, val: item}))
	}
}

func (d *decoder) camera(f field) Camera {
	var cam Camera
	if f.val.Kind != yaml.MappingNode {
		what := kindName(f.val)
		if isNull(f.val) {
			what = "empty"
		}
		d.addf(f.line, f.path, "must be a mapping with id: and source:, not %s", what)
		return cam
	}
	fields := d.fields(f.val, f.path, nil)
	// The source decides which keys belong, so it is read first.
	for _, g := range fields {
		if g.name == "source" {
			d.str(g, &cam.Source)
		}
	}
	knownSource := slices.Contains(sourceKinds(), cam.Source)

	present := make(map[string]bool)
	var guesses []string // keys that an unknown key was probably meant to be
	for _, g := range fields {
		if !slices.Contains(cameraKeys(), g.name) {
			if s := d.unknown(g, cameraKeys(), cameraHint); s != "" {
				guesses = append(guesses, s)
			}
			continue
		}
		present[g.name] = true
		if users := keySources(g.name); knownSource && users != nil && !slices.Contains(users, cam.Source) {
			// A key that does not fit the source is surely a mistake (a
			// copied block, a wrong source): an error, not silently ignored.
			d.addf(g.line, g.path, "%s", notUsedMsg(cam.Source, users))
			continue
		}
		switch g.name {
		case "id":
			d.str(g, &cam.ID)
		case "name":
			d.str(g, &cam.Name)
		case "token":
			d.str(g, &cam.Token)
		case "token_hash":
			d.str(g, &cam.TokenHash)
		case "insecure":
			d.boolValue(g, &cam.Insecure)
		case "device":
			d.str(g, &cam.Device)
		case "baud":
			d.intValue(g, &cam.Baud)
		case "url":
			d.str(g, &cam.URL)
		case "control_url":
			d.str(g, &cam.ControlURL)
		case "interval":
			d.duration(g, &cam.Interval)
		case "fps":
			d.intValue(g, &cam.FPS)
		case "width":
			d.intValue(g, &cam.Width)
		case "height":
			d.intValue(g, &cam.Height)
		case "offline_after":
			d.duration(g, &cam.OfflineAfter)
		case "max_frame_bytes":
			d.int64Value(g, &cam.MaxFrameBytes)
		}
	}
	// "tokn: x" already says did you mean "token"; "token is required" on
	// top of it would be noise.
	for _, key := range guesses {
		if !present[key] {
			d.reported[f.path+"."+key] = true
		}
	}
	// Validate names this camera's line for a key the file left out, as long
	// as the caller has not swapped the camera for another.
	d.pos[f.path] = origin{line: f.line, val: cam.ID}

	setDefault := func(key string, dst *int, v int) {
		if !present[key] {
			*dst = v
		}
	}
	switch cam.Source {
	case SourceSerial:
		setDefault("baud", &cam.Baud, defaultBaud)
	case SourceJPEG:
		if !present["interval"] {
			cam.Interval = defaultInterval
		}
	case SourceDemo:
		setDefault("fps", &cam.FPS, defaultFPS)
		setDefault("width", &cam.Width, defaultWidth)
		setDefault("height", &cam.Height, defaultHeight)
	}
	if cam.Name == "" {
		cam.Name = cam.ID
	}
	return cam
}

// fields lists the keys of mapping n, whose own key path is prefix, with
// merge keys (<<: *anchor) applied: a key written in n wins over a merged
// one. A key written twice is a problem. visiting guards against a mapping
// that merges itself.
func (d *decoder) fields(n *yaml.Node, prefix string, visiting map[*yaml.Node]bool) []field {
	if visiting == nil {
		visiting = make(map[*yaml.Node]bool)
	}
	visiting[n] = true
	defer delete(visiting, n)

	var out, merged []field
	seen := make(map[string]int) // key → line
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == tagMerge {
			merged = append(merged, d.merge(v, prefix, visiting)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.addf(k.Line, prefix, "a key must be a plain name, not %s", kindName(k))
			continue
		}
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			d.addf(k.Line, path, "set twice, first at line %d (remove one)", first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, field{name: k.Value, path: path, line: k.Line, val: resolve(v)})
	}
	for _, f := range merged {
		if _, ok := seen[f.name]; !ok {
			seen[f.name] = f.line
			out = append(out, f)
		}
	}
	return out
}

// merge returns the fields that a merge key's value brings in: one
// mapping, or a list of mappings where earlier ones win.
func (d *decoder) merge(v *yaml.Node, prefix string, visiting map[*yaml.Node]bool) []field {
	v = resolve(v)
	var sources []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		sources = []*yaml.Node{v}
	case yaml.SequenceNode:
		for _, s := range v.Content {
			sources = append(sources, resolve(s))
		}
	}
	var out []field
	seen := make(map[string]bool)
	for _, s := range sources {
		if s.Kind != yaml.MappingNode {
			d.addf(s.Line, prefix, "<< must merge a mapping or a list of mappings, not %s", kindName(s))
			continue
		}
		if visiting[s] {
			d.addf(s.Line, prefix, "<< merges a mapping into itself (remove the <<)")
			continue
		}
		key := mergeKey{s, prefix}
		fields, ok := d.merged[key]
		if !ok {
			fields = d.fields(s, prefix, visiting)
			d.merged[key] = fields
		}
		for _, f := range fields {
			if !seen[f.name] {
				seen[f.name] = true
				out = append(out, f)
			}
		}
	}
	if len(sources) == 0 {
		d.addf(v.Line, prefix, "<< must merge a mapping or a list of mappings, not %s", kindName(v))
	}
	return out
}

// unknown reports a key that does not belong where it is, with the closest
// known key when one is close, else a hint from elsewhere, else the list.
// It returns the suggested key, or "".
func (d *decoder) unknown(f field, known []string, elsewhere func(name string) string) string {
	guess := closest(f.name, known)
	var hint string
	switch h := elsewhere(f.name); {
	case guess != "":
		hint = fmt.Sprintf("did you mean %q?", guess)
	case h != "":
		hint = h
	default:
		hint = "known keys: " + strings.Join(known, ", ")
	}
	d.addf(f.line, f.path, "unknown key (%s)", hint)
	return guess
}

func topHint(name string) string {
	if s := closest(name, limitKeys()); s != "" {
		return fmt.Sprintf("%s belongs under limits:", s)
	}
	if s := closest(name, cameraKeys()); s != "" {
		return fmt.Sprintf("%s belongs to a camera, under cameras:", s)
	}
	return ""
}

func limitsHint(name string) string {
	if s := closest(name, topKeys()); s != "" {
		return fmt.Sprintf("%s is a top-level key; move it out of limits:", s)
	}
	if s := closest(name, cameraKeys()); s != "" {
		return fmt.Sprintf("%s belongs to a camera, under cameras:", s)
	}
	return ""
}

func cameraHint(name string) string {
	if s := closest(name, limitKeys()); s != "" {
		return fmt.Sprintf("%s is set under the top-level limits:; a camera may override only offline_after and max_frame_bytes", s)
	}
	if s := closest(name, topKeys()); s != "" {
		return fmt.Sprintf("%s is a top-level key, not a camera's", s)
	}
	return ""
}

// scalar returns f's value with ${VAR} expanded, or false after reporting
// why there is none. want names the expected value for the message, which
// never quotes the value: it may be a secret.
func (d *decoder) scalar(f field, want string) (*yaml.Node, bool) {
	n := f.val
	if n.Kind != yaml.ScalarNode {
		d.addf(f.line, f.path, "must be %s, not %s", want, kindName(n))
		return nil, false
	}
	v, err := expand(n.Value, d.getenv)
	if err != nil {
		d.addf(n.Line, f.path, "%s", err)
		return nil, false
	}
	if v == n.Value {
		return n, true
	}
	// Expand into a copy: an anchored node may be read again through an
	// alias, and must not be expanded twice.
	e := *n
	e.Value = v
	if e.Style == 0 {
		// A plain scalar takes its type from its text, so ${PORT} set to
		// 8080 reads as a number, as if 8080 had been written.
		e.Tag = ""
	}
	return &e, true
}

func (d *decoder) str(f field, dst *string) {
	n, ok := d.scalar(f, "a string")
	if !ok {
		return
	}
	s := n.Value
	if n.ShortTag() == tagNull {
		s = ""
	}
	*dst = s
	d.pos[f.path] = origin{line: f.line, val: s}
}

func (d *decoder) stringList(f field, dst *[]string) {
	if isNull(f.val) {
		return
	}
	if f.val.Kind != yaml.SequenceNode {
		d.addf(f.line, f.path, "must be a list such as [\"https://cams.example.com\"], not %s", kindName(f.val))
		return
	}
	out := make([]string, 0, len(f.val.Content))
	for i, item := range f.val.Content {
		item = resolve(item)
		var s string
		d.str(field{path: fmt.Sprintf("%s[%d]", f.path, i), line: item.Line, val: item}, &s)
		out = append(out, s)
	}
	*dst = out
}

// integer reads a whole number: a YAML integer, or a string of decimal
// digits (as a quoted "${BAUD}" gives).
func (d *decoder) integer(f field) (int64, bool) {
	n, ok := d.scalar(f, "a whole number")
	if !ok {
		return 0, false
	}
	switch n.ShortTag() {
	case tagInt:
		var v int64
		if err := n.Decode(&v); err != nil {
			d.addf(f.line, f.path, "number is too large (check for extra digits)")
			return 0, false
		}
		return v, true
	case tagStr:
		if v, err := strconv.ParseInt(strings.TrimSpace(n.Value), 10, 64); err == nil {
			return v, true
		}
	case tagNull:
		d.addf(f.line, f.path, "has no value (write a whole number, or remove the key to use the default)")
		return 0, false
	}
	if _, err := strconv.ParseInt(strings.TrimSpace(n.Value), 10, 64); errors.Is(err, strconv.ErrRange) {
		d.addf(f.line, f.path, "number is too large (check for extra digits)")
		return 0, false
	}
	d.addf(f.line, f.path, "must be a whole number")
	return 0, false
}

func (d *decoder) intValue(f field, dst *int) {
	v, ok := d.integer(f)
	if !ok {
		return
	}
	if int64(int(v)) != v {
		d.addf(f.line, f.path, "number is too large (check for extra digits)")
		return
	}
	*dst = int(v)
	d.pos[f.path] = origin{line: f.line, val: *dst}
}

func (d *decoder) int64Value(f field, dst *int64) {
	v, ok := d.integer(f)
	if !ok {
		return
	}
	*dst = v
	d.pos[f.path] = origin{line: f.line, val: v}
}

func (d *decoder) boolValue(f field, dst *bool) {
	n, ok := d.scalar(f, "true or false")
	if !ok {
		return
	}
	var b bool
	switch {
	case n.ShortTag() == tagBool:
		if err := n.Decode(&b); err != nil {
			d.addf(f.line, f.path, "must be true or false")
			return
		}
	case n.ShortTag() == tagStr && (n.Value == "true" || n.Value == "false"):
		b = n.Value == "true"
	default:
		d.addf(f.line, f.path, "must be true or false")
		return
	}
	*dst = b
	d.pos[f.path] = origin{line: f.line, val: b}
}

// duration reads a Go duration ("5s", "1m30s"). A bare number is refused:
// seconds or milliseconds would be a guess.
func (d *decoder) duration(f field, dst *time.Duration) {
	n, ok := d.scalar(f, "a duration such as 5s")
	if !ok {
		return
	}
	switch n.ShortTag() {
	case tagInt, tagFloat:
		v := short(n.Value)
		d.addf(f.line, f.path, "%s has no unit (write %ss for seconds or %sms for milliseconds)", v, v, v)
		return
	case tagNull:
		d.addf(f.line, f.path, "has no value (write a duration such as 5s, or remove the key to use the default)")
		return
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		d.addf(f.line, f.path, "%q is not a duration (use Go syntax such as 500ms, 5s or 1m30s)", short(n.Value))
		return
	}
	*dst = v
	d.pos[f.path] = origin{line: f.line, val: v}
}

// resolve follows aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; i < maxAliasHops && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether n is empty: null, ~ or nothing at all.
func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == tagNull
}

// kindName describes n's kind for a message, without its value.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case tagNull:
		return "null"
	case tagBool:
		return "true or false"
	case tagInt, tagFloat:
		return "a number"
	}
	return "a string"
}

// short returns s, cut to a length that keeps a message on one screen line.
func short(s string) string {
	const maxRunes = 40
	if utf8.RuneCountInString(s) <= maxRunes {
		return s
	}
	return string([]rune(s)[:maxRunes]) + "…"
}
