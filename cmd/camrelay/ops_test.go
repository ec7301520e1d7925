package main

// Operations tests: the files under deploy/ (Prometheus, Grafana, systemd,
// container, compose) checked against the tools that read them and against
// a live gateway, and the release binary's build. Tools come from Debian
// (scripts/ops-deps.sh, run by `make test`); a missing tool fails the test
// with the command that installs it, it never skips.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.yaml.in/yaml/v3"

	"github.com/camrelay/camrelay/internal/config"
)

// awaitingWiring lists metrics that internal/metrics provides but that
// cmd/camrelay/run.go does not feed yet, with the line that wires each. A
// live scrape may lack them; once it has them they are checked like any
// other. Remove an entry when its wiring lands.
var awaitingWiring = map[string]string{}

// opsTool returns the path of a command-line tool that the tests need, and
// fails the test, naming the Debian package, when it is missing.
func opsTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run make test, which installs %s (Debian package %s, via scripts/ops-deps.sh)", name, name, pkg)
	}
	return p
}

// repoRoot is the repository's top directory (tests run in cmd/camrelay).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func deployPath(t *testing.T, elem ...string) string {
	return filepath.Join(append([]string{repoRoot(t), "deploy"}, elem...)...)
}

// runCmd runs a command and returns its combined output; the test fails if
// it does not exit 0.
func runCmd(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := tryCmd(dir, env, nil, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

// tryCmd runs a command with a deadline and returns its combined output
// and how it ended.
func tryCmd(dir string, env []string, stdin io.Reader, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// --- a live gateway and its scrape -----------------------------------------

// exposition is one parsed /metrics scrape.
type exposition struct {
	text    string
	types   map[string]string              // family → counter, gauge, histogram, ...
	help    map[string]bool                // families with a HELP line
	samples map[string]bool                // sample names, e.g. x_bucket, x_sum
	labels  map[string]map[string][]string // sample name → label → values
}

var (
	sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)`)
	labelRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

func parseExposition(t *testing.T, text string) *exposition {
	t.Helper()
	e := &exposition{text: text, types: map[string]string{}, help: map[string]bool{},
		samples: map[string]bool{}, labels: map[string]map[string][]string{}}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			e.types[f[2]] = f[3]
		case strings.HasPrefix(line, "# HELP "):
			e.help[strings.Fields(line)[2]] = true
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			m := sampleRE.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("scrape line %q is not a sample", line)
			}
			e.samples[m[1]] = true
			ls := e.labels[m[1]]
			if ls == nil {
				ls = map[string][]string{}
				e.labels[m[1]] = ls
			}
			for _, l := range labelRE.FindAllStringSubmatch(m[3], -1) {
				if !slices.Contains(ls[l[1]], l[2]) {
					ls[l[1]] = append(ls[l[1]], l[2])
				}
			}
		}
	}
	return e
}

// has reports whether name is a sample in the scrape, directly or as a
// histogram or summary family (its _bucket, _sum, _count samples).
func (e *exposition) has(name string) bool {
	if e.samples[name] {
		return true
	}
	return e.types[name] == "histogram" && e.samples[name+"_bucket"] ||
		e.types[name] == "summary" && e.samples[name+"_count"]
}

func scrape(t *testing.T, g *gateway) *exposition {
	t.Helper()
	resp, err := http.Get(g.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return parseExposition(t, string(b))
}

const opsPushConfig = `
limits:
  max_viewers_per_camera: 2
cameras:
  - id: front
    source: push
    token: s3cret
`

// busyGateway starts a gateway with a push camera and the demo camera, has
// the push camera send frames to a WebSocket and an MJPEG viewer, lets one
// viewer leave, and returns the gateway's scrape: every histogram then has
// observations and every labelled counter a series.
func busyGateway(t *testing.T) (*gateway, *exposition) {
	t.Helper()
	g := startGateway(t, opsPushConfig, "--demo")
	ws := viewerWS(t, g, "front")
	mj := openMJPEG(t, g.url("/cam/front/stream.mjpeg"))
	up := uplink(t, g, "front", "s3cret")
	for _, f := range testFrames(t, 3) {
		send(t, up, websocket.MessageBinary, f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := nextJPEG(ctx, ws); err != nil {
		t.Fatalf("viewer: %v", err)
	}
	if _, err := mj.next(); err != nil {
		t.Fatalf("MJPEG viewer: %v", err)
	}
	gone := viewerWS(t, g, "demo")
	if err := gone.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("close viewer: %v", err)
	}
	waitFor(t, 5*time.Second, "frames sent to both viewers, and one viewer gone", func() bool {
		return g.metric(t, `camrelay_frames_sent_total{camera="front",transport="ws"}`) >= 1 &&
			g.metric(t, `camrelay_frames_sent_total{camera="front",transport="mjpeg"}`) >= 1 &&
			g.metric(t, `camrelay_frames_received_total{camera="demo"}`) >= 2 &&
			g.metric(t, `camrelay_viewer_disconnects_total{camera="demo",reason="closed",transport="ws"}`) >= 1
	})
	return g, scrape(t, g)
}

// TestMetricsPromtoolCheck runs `promtool check metrics` (the Prometheus
// naming and exposition linter) on a live scrape of the demo gateway.
func TestMetricsPromtoolCheck(t *testing.T) {
	promtool := opsTool(t, "promtool", "prometheus")
	g := startArgs(t, "camrelay", "--demo", "--listen", "127.0.0.1:0")
	waitFor(t, 5*time.Second, "demo frames", func() bool {
		return g.metric(t, `camrelay_frames_received_total{camera="demo"}`) >= 2
	})
	e := scrape(t, g)
	out, err := tryCmd("", nil, strings.NewReader(e.text), promtool, "check", "metrics")
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestMetricsLiveCoverTheIssue checks that a busy gateway exposes every
// metric docs/METRICS.md promises, with its type, a HELP line, and only
// bounded labels.
func TestMetricsLiveCoverTheIssue(t *testing.T) {
	_, e := busyGateway(t)
	want := map[string]string{
		"camrelay_frames_received_total":      "counter",
		"camrelay_received_bytes_total":       "counter",
		"camrelay_frames_dropped_total":       "counter",
		"camrelay_camera_up":                  "gauge",
		"camrelay_uplink_connects_total":      "counter",
		"camrelay_last_frame_age_seconds":     "gauge",
		"camrelay_frame_size_bytes":           "histogram",
		"camrelay_frame_interval_seconds":     "histogram",
		"camrelay_capture_to_gateway_seconds": "histogram",
		"camrelay_viewers":                    "gauge",
		"camrelay_viewers_joined_total":       "counter",
		"camrelay_frames_sent_total":          "counter",
		"camrelay_frames_skipped_total":       "counter",
		"camrelay_sent_bytes_total":           "counter",
		"camrelay_fanout_delay_seconds":       "histogram",
		"camrelay_viewer_disconnects_total":   "counter",
		"camrelay_auth_failures_total":        "counter",
		"camrelay_limit_hits_total":           "counter",
		"camrelay_build_info":                 "gauge",
		"process_resident_memory_bytes":       "gauge",
		"go_goroutines":                       "gauge",
	}
	for name, typ := range want {
		got, ok := e.types[name]
		if !ok {
			if hint, pending := awaitingWiring[name]; pending {
				t.Logf("%s is not in the scrape: run.go does not wire it yet (%s)", name, hint)
				continue
			}
			t.Errorf("%s is missing from /metrics", name)
			continue
		}
		if got != typ {
			t.Errorf("%s is a %s, want a %s", name, got, typ)
		}
	}
	// Bounded labels: every camrelay label is one of these names, and the
	// open-ended ones take only configured or coded values.
	allowed := map[string][]string{
		"camera":    {"front", "demo"},
		"transport": {"ws", "mjpeg", "snapshot"},
		"reason":    nil, "endpoint": nil, "type": nil, "le": nil,
		"version": nil, "commit": nil, "date": nil, "goversion": nil,
	}
	coded := regexp.MustCompile(`^[a-z_]+$`)
	for name, ls := range e.labels {
		if !strings.HasPrefix(name, "camrelay_") {
			continue
		}
		fam := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if !e.help[fam] && !e.help[name] {
			t.Errorf("%s has no HELP", name)
		}
		for l, vals := range ls {
			vs, ok := allowed[l]
			if !ok {
				t.Errorf("%s has label %q: not one of the bounded labels of docs/METRICS.md", name, l)
				continue
			}
			for _, v := range vals {
				if vs != nil && !slices.Contains(vs, v) {
					t.Errorf("%s{%s=%q}: not a configured or coded value", name, l, v)
				}
				if (l == "reason" || l == "endpoint" || l == "type") && !coded.MatchString(v) {
					t.Errorf("%s{%s=%q}: must be a coded constant", name, l, v)
				}
			}
		}
	}
	if info := e.labels["camrelay_build_info"]; len(info["version"]) != 1 || len(info["commit"]) != 1 || len(info["goversion"]) != 1 {
		t.Errorf("camrelay_build_info labels %v, want one version, commit and goversion", info)
	}
}

// --- PromQL ------------------------------------------------------------------

// metricRef is a metric named in a PromQL expression, with the label
// matchers of its selector ("" when it has none).
type metricRef struct{ name, matchers string }

var (
	promqlAggregations = map[string]bool{
		"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
		"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
		"limitk": true, "limit_ratio": true,
	}
	promqlClauses = map[string]bool{
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	}
	promqlKeywords = map[string]bool{
		"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
		"atan2": true,
	}
	labelValuesRE = regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)
)

// promqlMetrics returns the metrics that a PromQL expression selects, in
// order. It is a scanner, not a parser: it skips strings, ranges, Grafana
// variables, numbers and durations, function and aggregation names, and the
// label lists of by/without/on/ignoring/group_left/group_right. Grafana's
// label_values(SELECTOR, LABEL) is read as its selector.
func promqlMetrics(expr string) []metricRef {
	if m := labelValuesRE.FindStringSubmatch(expr); m != nil {
		expr = m[1]
	}
	s := expr
	skipString := func(i int) int { // s[i] is the opening quote; returns the index after the closing one
		q := s[i]
		for i++; i < len(s); i++ {
			if s[i] == '\\' && q != '`' {
				i++
				continue
			}
			if s[i] == q {
				return i + 1
			}
		}
		return len(s)
	}
	skipGroup := func(i int, open, close byte) int { // s[i] == open; returns the index after its close
		depth := 0
		for i < len(s) {
			switch c := s[i]; {
			case c == '"' || c == '\'' || c == '`':
				i = skipString(i)
				continue
			case c == open:
				depth++
			case c == close:
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(s)
	}
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	nextNonSpace := func(i int) int {
		for i < len(s) && strings.IndexByte(" \t\r\n", s[i]) >= 0 {
			i++
		}
		return i
	}
	var refs []metricRef
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(i)
		case c == '[':
			i = skipGroup(i, '[', ']')
		case c == '{': // a selector without a metric name
			i = skipGroup(i, '{', '}')
		case c == '$': // a Grafana variable: $name, ${name}, $__rate_interval
			i++
			if i < len(s) && s[i] == '{' {
				i = skipGroup(i, '{', '}')
			}
			for i < len(s) && isIdent(s[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.': // numbers, durations
			for i < len(s) && (isIdent(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := strings.ToLower(s[i:j])
			k := nextNonSpace(j)
			switch {
			case promqlClauses[word]:
				i = k
				if k < len(s) && s[k] == '(' {
					i = skipGroup(k, '(', ')')
				}
			case promqlAggregations[word] || promqlKeywords[word]:
				i = j
			case k < len(s) && s[k] == '(': // a function
				i = j
			default:
				ref := metricRef{name: s[i:j]}
				i = j
				if k < len(s) && s[k] == '{' {
					end := skipGroup(k, '{', '}')
					ref.matchers = s[k+1 : end-1]
					i = end
				}
				refs = append(refs, ref)
			}
		default:
			i++
		}
	}
	return refs
}

func TestDashboardPromQLScanner(t *testing.T) {
	tests := []struct {
		name, expr string
		want       []metricRef
	}{
		{"plain", `camrelay_camera_up`, []metricRef{{"camrelay_camera_up", ""}}},
		{"selector and range", `rate(camrelay_frames_received_total{camera=~"$camera"}[$__rate_interval])`,
			[]metricRef{{"camrelay_frames_received_total", `camera=~"$camera"`}}},
		{"aggregation clause", `sum by (camera, le) (rate(x_bucket{a="}{"}[5m]))`,
			[]metricRef{{"x_bucket", `a="}{"`}}},
		{"quantile", `histogram_quantile(0.95, sum by (le) (rate(h_bucket[1m]))) > 0.5`, []metricRef{{"h_bucket", ""}}},
		{"binary ops", `8 * sum(rate(a_total[1m])) / on (instance) group_left (version) b_info and c offset 5m`,
			[]metricRef{{"a_total", ""}, {"b_info", ""}, {"c", ""}}},
		{"without and bool", `sum without (transport) (v) > bool 1e3`, []metricRef{{"v", ""}}},
		{"label_values", `label_values(camrelay_camera_up{instance=~"$instance"}, camera)`,
			[]metricRef{{"camrelay_camera_up", `instance=~"$instance"`}}},
		{"strings and variables", `label_replace(m, "dst", "$1", "src", "(.*)") * ${factor}`, []metricRef{{"m", ""}}},
		{"bare selector", `{__name__="x"}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := promqlMetrics(tc.expr); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("promqlMetrics(%q) = %q, want %q", tc.expr, got, tc.want)
			}
		})
	}
}

// --- Grafana -----------------------------------------------------------------

type grafanaPanel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource map[string]any           `json:"datasource"`
	GridPos    struct{ X, Y, W, H int } `json:"gridPos"`
	Targets    []struct {
		Expr       string         `json:"expr"`
		RefID      string         `json:"refId"`
		Datasource map[string]any `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaDashboard struct {
	UID        string         `json:"uid"`
	Title      string         `json:"title"`
	Panels     []grafanaPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

func loadDashboard(t *testing.T) *grafanaDashboard {
	t.Helper()
	b, err := os.ReadFile(deployPath(t, "grafana", "camrelay.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("deploy/grafana/camrelay.json: %v", err)
	}
	return &d
}

// dashboardExprs returns every PromQL expression of the dashboard, keyed by
// where it is, for messages.
func dashboardExprs(d *grafanaDashboard) map[string]string {
	out := map[string]string{}
	var walk func(ps []grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out[fmt.Sprintf("panel %q %s", p.Title, tg.RefID)] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q := v.Query
		if m, ok := q.(map[string]any); ok {
			q = m["query"]
		}
		s, _ := q.(string)
		out["variable $"+v.Name] = s
	}
	return out
}

// TestDashboardMetricsExistInLiveScrape checks that every metric that the
// dashboard's queries use is served by a busy gateway, and that each panel
// query of a per-camera metric honours the camera variable.
func TestDashboardMetricsExistInLiveScrape(t *testing.T) {
	d := loadDashboard(t)
	_, e := busyGateway(t)
	used := map[string]bool{}
	for where, expr := range dashboardExprs(d) {
		refs := promqlMetrics(expr)
		if len(refs) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, r := range refs {
			used[r.name] = true
			if !e.has(r.name) {
				if hint, pending := awaitingWiring[r.name]; pending {
					t.Logf("%s: %s is not served yet: run.go does not wire it (%s)", where, r.name, hint)
					continue
				}
				t.Errorf("%s: %s is not in a live scrape of the gateway", where, r.name)
				continue
			}
			perCamera := e.labels[r.name]["camera"] != nil || e.labels[r.name+"_bucket"]["camera"] != nil
			if perCamera && strings.HasPrefix(where, "panel") && !strings.Contains(r.matchers, `camera=~"$camera"`) {
				t.Errorf("%s: %s{%s} ignores the camera variable", where, r.name, r.matchers)
			}
		}
	}
	if len(used) < 15 {
		t.Errorf("the dashboard's queries use %d metrics (%v); expected the issue's whole list", len(used), used)
	}
}

// TestDashboardStructure checks what Grafana needs to import or provision
// the dashboard, and that a panel answers each question an operator asks.
func TestDashboardStructure(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q title %q: both are needed for provisioning and links", d.UID, d.Title)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["DS_PROMETHEUS"] != "datasource" || vars["camera"] != "query" {
		t.Errorf("template variables %v: want DS_PROMETHEUS (datasource) and camera (query)", vars)
	}
	ids := map[int]string{}
	type cell struct{ x, y int }
	taken := map[cell]string{}
	var titles []string
	var walk func(ps []grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if prev, dup := ids[p.ID]; dup {
				t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
			}
			ids[p.ID] = p.Title
			g := p.GridPos
			if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
				t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
			}
		overlap:
			for x := g.X; x < g.X+g.W; x++ {
				for y := g.Y; y < g.Y+g.H; y++ {
					if other, ok := taken[cell{x, y}]; ok {
						t.Errorf("panels %q and %q overlap at %d,%d", other, p.Title, x, y)
						break overlap
					}
					taken[cell{x, y}] = p.Title
				}
			}
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			titles = append(titles, p.Title)
			if uid, _ := p.Datasource["uid"].(string); uid != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q: datasource %v, want uid ${DS_PROMETHEUS}", p.Title, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if refs[tg.RefID] || tg.RefID == "" {
					t.Errorf("panel %q: refId %q missing or repeated", p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
				if uid, _ := tg.Datasource["uid"].(string); uid != "${DS_PROMETHEUS}" {
					t.Errorf("panel %q %s: datasource %v, want uid ${DS_PROMETHEUS}", p.Title, tg.RefID, tg.Datasource)
				}
			}
		}
	}
	walk(d.Panels)
	var all strings.Builder
	for _, e := range dashboardExprs(d) {
		all.WriteString(e + "\n")
	}
	for question, needle := range map[string]string{
		"is each camera up":         "camrelay_camera_up",
		"fps in":                    "rate(camrelay_frames_received_total",
		"fps out":                   "rate(camrelay_frames_sent_total",
		"viewers":                   "camrelay_viewers{",
		"drops":                     "camrelay_frames_dropped_total",
		"fan-out delay quantiles":   "histogram_quantile(0.95, sum by (camera, le) (rate(camrelay_fanout_delay_seconds_bucket",
		"capture latency quantiles": "histogram_quantile(0.95, sum by (camera, le) (rate(camrelay_capture_to_gateway_seconds_bucket",
		"bandwidth in":              "camrelay_received_bytes_total",
		"bandwidth out":             "camrelay_sent_bytes_total",
		"frame sizes":               "camrelay_frame_size_bytes_bucket",
		"auth failures":             "camrelay_auth_failures_total",
		"limit hits":                "camrelay_limit_hits_total",
	} {
		if !strings.Contains(all.String(), needle) {
			t.Errorf("no panel answers %q (no query with %s)", question, needle)
		}
	}
	t.Logf("%d panels: %s", len(titles), strings.Join(titles, "; "))
}

// --- Prometheus --------------------------------------------------------------

// TestPromtoolConfigRulesAndAlertTests runs promtool on the scrape config,
// the alert rules and the rules' unit tests.
func TestPromtoolConfigRulesAndAlertTests(t *testing.T) {
	promtool := opsTool(t, "promtool", "prometheus")
	dir := deployPath(t, "prometheus")
	runCmd(t, dir, nil, promtool, "check", "config", "prometheus.yml")
	if out := runCmd(t, dir, nil, promtool, "check", "rules", "camrelay.rules.yml"); !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check rules:\n%s", out)
	}
	if out := runCmd(t, dir, nil, promtool, "test", "rules", "camrelay.rules.test.yml"); !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules:\n%s", out)
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// TestPromRulesCoverTheIssueAndUseLiveMetrics checks that the alerts the
// issue asks for exist, that each alert is unit-tested, and that each uses
// only metrics a live gateway serves.
func TestPromRulesCoverTheIssueAndUseLiveMetrics(t *testing.T) {
	b, err := os.ReadFile(deployPath(t, "prometheus", "camrelay.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(deployPath(t, "prometheus", "camrelay.rules.test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	_, e := busyGateway(t)
	alerts := map[string]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = r.For
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: needs a severity label, a summary and a description", r.Alert)
			}
			if !strings.Contains(string(tests), "alertname: "+r.Alert+"\n") {
				t.Errorf("alert %s has no test in camrelay.rules.test.yml", r.Alert)
			}
			for _, ref := range promqlMetrics(r.Expr) {
				if ref.name == "up" { // Prometheus's own, per target
					continue
				}
				if !e.has(ref.name) {
					t.Errorf("alert %s: %s is not in a live scrape of the gateway", r.Alert, ref.name)
				}
			}
		}
	}
	for alert, wantFor := range map[string]string{
		"CamrelayCameraDown":         "1m",
		"CamrelayFrameRateCollapsed": "",
		"CamrelayFramesDropped":      "",
		"CamrelayViewersAtLimit":     "",
		"CamrelayFanoutLatencyHigh":  "",
	} {
		gotFor, ok := alerts[alert]
		if !ok {
			t.Errorf("alert %s is missing", alert)
		} else if wantFor != "" && gotFor != wantFor {
			t.Errorf("alert %s: for %q, want %q", alert, gotFor, wantFor)
		}
	}
}

// --- the release binary ------------------------------------------------------

// The stamps of distBinary.
const (
	opsVersion = "v1.2.3-ops"
	opsCommit  = "0123456789abcdef"
	opsDate    = "2026-01-02T03:04:05Z"
)

var distBuild struct {
	once sync.Once
	bin  []byte
	err  error
}

// distBinary builds cmd/camrelay for this machine once per test run, the
// way scripts/dist.sh does (its ldflags with opsVersion, opsCommit and
// opsDate; CGO_ENABLED=0; -trimpath), and returns a copy of it in the
// test's temporary directory.
func distBinary(t *testing.T) string {
	t.Helper()
	root := repoRoot(t)
	distBuild.once.Do(func() {
		script, err := os.ReadFile(filepath.Join(root, "scripts", "dist.sh"))
		if err != nil {
			distBuild.err = err
			return
		}
		m := regexp.MustCompile(`(?m)^ldflags="([^"]*)"`).FindSubmatch(script)
		if m == nil {
			distBuild.err = fmt.Errorf(`scripts/dist.sh has no ldflags="..." line`)
			return
		}
		ldflags := strings.NewReplacer("$VERSION", opsVersion, "$COMMIT", opsCommit, "$DATE", opsDate).Replace(string(m[1]))
		dir, err := os.MkdirTemp("", "camrelay-ops-build")
		if err != nil {
			distBuild.err = err
			return
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "camrelay")
		out, err := tryCmd(root, []string{"CGO_ENABLED=0"}, nil, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, "./cmd/camrelay")
		if err != nil {
			distBuild.err = fmt.Errorf("go build -ldflags %q: %v\n%s", ldflags, err, out)
			return
		}
		distBuild.bin, distBuild.err = os.ReadFile(bin)
	})
	if distBuild.err != nil {
		t.Fatal(distBuild.err)
	}
	bin := filepath.Join(t.TempDir(), "camrelay")
	if err := os.WriteFile(bin, distBuild.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestVersionStampedByLdflags builds the binary as `make dist` does and
// checks that --version prints what the linker flags set.
func TestVersionStampedByLdflags(t *testing.T) {
	out := runCmd(t, "", nil, distBinary(t), "--version")
	if want := "camrelay " + opsVersion + " (commit " + opsCommit + ", built " + opsDate + ")\n"; out != want {
		t.Errorf("--version printed %q, want %q", out, want)
	}
}

// --- systemd -----------------------------------------------------------------

// unitFile is a parsed systemd unit: "Section.Key" → values in order.
type unitFile map[string][]string

func parseUnit(t *testing.T, text string) unitFile {
	t.Helper()
	u := unitFile{}
	section := ""
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("camrelay.service:%d: %q is not key=value", n+1, line)
			}
			u[section+"."+k] = append(u[section+"."+k], v)
		}
	}
	return u
}

// TestSystemdUnitVerifiesAndIsHardened runs systemd-analyze verify on the
// unit, pointed at a freshly built binary (verify insists that ExecStart
// exists), checks its sandbox score, and checks the hardening the issue
// asks for.
func TestSystemdUnitVerifiesAndIsHardened(t *testing.T) {
	analyze := opsTool(t, "systemd-analyze", "systemd")
	text, err := os.ReadFile(deployPath(t, "systemd", "camrelay.service"))
	if err != nil {
		t.Fatal(err)
	}
	u := parseUnit(t, string(text))
	for key, want := range map[string]string{
		"Service.ExecStart":               "/usr/local/bin/camrelay --config /etc/camrelay/camrelay.yaml",
		"Service.Restart":                 "on-failure",
		"Service.DynamicUser":             "yes",
		"Service.SupplementaryGroups":     "dialout",
		"Service.ProtectSystem":           "strict",
		"Service.ProtectHome":             "yes",
		"Service.PrivateTmp":              "yes",
		"Service.NoNewPrivileges":         "yes",
		"Service.CapabilityBoundingSet":   "",
		"Service.RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"Service.SystemCallFilter":        "@system-service",
		"Service.StateDirectory":          "camrelay",
		"Service.ConfigurationDirectory":  "camrelay",
		"Service.EnvironmentFile":         "-/etc/camrelay/camrelay.env",
		"Install.WantedBy":                "multi-user.target",
	} {
		if !slices.Contains(u[key], want) {
			t.Errorf("%s = %q, want %q among them", key, u[key], want)
		}
	}

	bin := distBinary(t)
	// ExecStart's flags must be the gateway's: --version returns after the
	// flags are parsed and before the config is read.
	args := strings.Fields(u["Service.ExecStart"][0])[1:]
	runCmd(t, "", nil, bin, append(args, "--version")...)

	dir := t.TempDir()
	unit := filepath.Join(dir, "camrelay.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(text, []byte("/usr/local/bin/camrelay"), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	// A unit with a mistake first, so that a verify that checks nothing in
	// this environment fails the test instead of passing it.
	broken := filepath.Join(dir, "broken.service")
	if err := os.WriteFile(broken, []byte("[Service]\nExecStart="+bin+"\nProtectSystem=stricter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := tryCmd(dir, nil, nil, analyze, "verify", broken); !strings.Contains(out, "stricter") {
		t.Fatalf("systemd-analyze verify does not report a bad value here, so it cannot vouch for the unit:\n%s", out)
	}
	out, err := tryCmd(dir, nil, nil, analyze, "verify", unit)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify camrelay.service: %v\n%s", err, out)
	}
	// Exposure runs from 0 (locked down) to 10 (wide open); systemd calls
	// under 2 "OK". --threshold is in tenths.
	out, err = tryCmd(dir, nil, nil, analyze, "security", "--offline=true", "--threshold=20", unit)
	if err != nil {
		t.Errorf("systemd-analyze security: exposure over 2.0 (%v)\n%s", err, out)
	}
	if i := strings.Index(out, "Overall exposure level"); i >= 0 {
		t.Logf("%s", strings.TrimSpace(out[i:]))
	}
}

// --- the example config ------------------------------------------------------

// yamlKeys returns the key paths of a YAML document, with list items as
// [] ("cameras[].id").
func yamlKeys(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, prefix+"[]")
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if k == "<<" || strings.HasPrefix(k, "x-") {
					continue
				}
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				keys[p] = true
				walk(n.Content[i+1], p)
			}
		}
	}
	walk(&n, "")
	return keys
}

// TestOpsExampleConfigLoadsWithEveryKey: deploy/camrelay.example.yaml is
// valid and names every key of the reference in internal/config/README.md.
func TestOpsExampleConfigLoadsWithEveryKey(t *testing.T) {
	path := deployPath(t, "camrelay.example.yaml")
	env := map[string]string{"FRONT_TOKEN": "front-token"}
	cfg, err := config.Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	example, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "internal", "config", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## The file\\s*```yaml\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("internal/config/README.md has no yaml block under \"## The file\"")
	}
	have := yamlKeys(t, example)
	var missing []string
	for k := range yamlKeys(t, m[1]) {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("deploy/camrelay.example.yaml lacks keys that internal/config/README.md documents: %s", strings.Join(missing, ", "))
	}
}

// --- container ---------------------------------------------------------------

// dockerInstr is one Dockerfile instruction, continuation lines joined.
type dockerInstr struct {
	stage int // index of the FROM it follows
	cmd   string
	args  string
}

func parseDockerfile(text string) []dockerInstr {
	var out []dockerInstr
	stage := -1
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue // comments may sit between continuation lines too
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, dockerInstr{stage, cmd, strings.TrimSpace(args)})
	}
	return out
}

// dockerignore matches paths against a .dockerignore file, for the patterns
// this repository uses: plain paths, *, ?, and **.
type dockerignore []*regexp.Regexp

func parseDockerignore(t *testing.T, text string) dockerignore {
	t.Helper()
	var d dockerignore
	for _, line := range strings.Split(text, "\n") {
		p := strings.TrimSpace(line)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		if strings.HasPrefix(p, "!") {
			t.Fatalf("dockerignore pattern %q: exceptions are not emulated by this test; extend parseDockerignore", p)
		}
		p = path.Clean(strings.TrimPrefix(p, "/"))
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(p[i:], "**"):
				re.WriteString(".*")
				i++
			case p[i] == '*':
				re.WriteString("[^/]*")
			case p[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		}
		re.WriteString("$")
		d = append(d, regexp.MustCompile(re.String()))
	}
	return d
}

// ignored reports whether rel (slash-separated) or a directory above it is
// excluded, as Docker does.
func (d dockerignore) ignored(rel string) bool {
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		for _, re := range d {
			if re.MatchString(p) {
				return true
			}
		}
	}
	return false
}

// copyContext copies the repository into dst as Docker would send it as the
// build context.
func copyContext(t *testing.T, root, dst string, ign dockerignore) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if ign.ignored(rel) {
			if de.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		switch {
		case de.IsDir():
			return os.MkdirAll(target, 0o755)
		case de.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			info, err := de.Info()
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		}
		return nil // sockets, symlinks: not part of a Go build
	})
	if err != nil {
		t.Fatalf("copy build context: %v", err)
	}
}

// TestDockerBuildIsStaticAndReproducible runs the Dockerfile's go build
// command as its build stage would (its ARGs and ENV, in a copy of the
// build context filtered by Dockerfile.dockerignore), twice at different
// paths, and checks that the binaries are identical, fully static, and
// stamped with the version. No container engine is needed.
func TestDockerBuildIsStaticAndReproducible(t *testing.T) {
	root := repoRoot(t)
	text, err := os.ReadFile(deployPath(t, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ins := parseDockerfile(string(text))
	last := ins[len(ins)-1].stage

	var froms, env []string
	var run, output, copyFrom, user, expose, health, entrypoint, cmd string
	for _, in := range ins {
		switch in.cmd {
		case "FROM":
			froms = append(froms, in.args)
		case "ARG":
			if in.stage == 0 {
				k, v, _ := strings.Cut(in.args, "=")
				env = append(env, k+"="+v)
			}
		case "ENV":
			if in.stage == 0 {
				env = append(env, strings.Fields(in.args)...)
			}
		case "RUN":
			if in.stage == 0 && strings.Contains(in.args, "go build") {
				run = in.args
				if m := regexp.MustCompile(`-o (\S+)`).FindStringSubmatch(run); m != nil {
					output = m[1]
				}
			}
		case "COPY":
			if in.stage == last && strings.HasPrefix(in.args, "--from=") {
				copyFrom = in.args
			}
		case "USER":
			user = in.args
		case "EXPOSE":
			expose = in.args
		case "HEALTHCHECK":
			health = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "CMD":
			cmd = in.args
		}
	}
	if len(froms) != 2 || !strings.Contains(froms[0], "golang:1.26") ||
		!(strings.Contains(froms[1], "distroless/static") || froms[1] == "scratch") {
		t.Errorf("stages %q: want golang:1.26 to build, distroless static or scratch to run", froms)
	}
	if run == "" || output == "" {
		t.Fatalf("the build stage has no RUN ... go build ... -o FILE")
	}
	for _, want := range []string{"-trimpath", "-X main.version=", "-X main.commit=", "-X main.date="} {
		if !strings.Contains(run, want) {
			t.Errorf("go build command lacks %s: %s", want, run)
		}
	}
	if !slices.Contains(env, "CGO_ENABLED=0") {
		t.Errorf("build stage env %q lacks CGO_ENABLED=0", env)
	}
	if !strings.Contains(copyFrom, output) {
		t.Errorf("final stage copies %q, but the build writes %s", copyFrom, output)
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("USER %q: the image must run as non-root", user)
	}
	if expose != "8080" {
		t.Errorf("EXPOSE %q, want 8080", expose)
	}
	if !strings.Contains(health, `CMD ["/camrelay", "--healthcheck"]`) {
		t.Errorf("HEALTHCHECK %q, want exec form CMD [\"/camrelay\", \"--healthcheck\"]", health)
	}

	ignText, err := os.ReadFile(deployPath(t, "Dockerfile.dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	ign := parseDockerignore(t, string(ignText))
	for _, must := range []string{"go.mod", "go.sum", "cmd/camrelay/main.go", "web/embed.go"} {
		if ign.ignored(must) {
			t.Errorf("Dockerfile.dockerignore leaves %s out of the build context", must)
		}
	}
	if !ign.ignored(".git/config") {
		t.Errorf("Dockerfile.dockerignore sends .git with the build context")
	}

	// Build args as a release would pass them.
	env = append(env, "VERSION=v9.8.7-docker", "COMMIT=feedface", "DATE=2026-02-03T04:05:06Z",
		"TARGETOS=linux", "TARGETARCH="+runtime.GOARCH, "TARGETVARIANT=")
	tmp := t.TempDir()
	build := func(ctxDir string) []byte {
		t.Helper()
		copyContext(t, root, ctxDir, ign)
		out := filepath.Join(ctxDir+"-out", filepath.Base(output))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		runCmd(t, ctxDir, env, "/bin/sh", "-c", strings.ReplaceAll(run, output, out))
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := build(filepath.Join(tmp, "src"))
	b := build(filepath.Join(tmp, "elsewhere", "deeper", "src"))
	if sha256.Sum256(a) != sha256.Sum256(b) {
		t.Errorf("two builds of the same source at different paths differ (%d and %d bytes): the build is not reproducible", len(a), len(b))
	}

	bin := filepath.Join(tmp, "camrelay")
	if err := os.WriteFile(bin, a, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v program header: it is dynamically linked and would not run on distroless static or scratch", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary needs shared libraries %v", libs)
	}
	out := runCmd(t, "", nil, bin, "--version")
	if want := "camrelay v9.8.7-docker (commit feedface, built 2026-02-03T04:05:06Z)\n"; out != want {
		t.Errorf("--version printed %q, want %q", out, want)
	}
	// The image's entrypoint and default command are the gateway's flags.
	var ep, def []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || len(ep) != 1 || ep[0] != "/camrelay" {
		t.Errorf("ENTRYPOINT %s, want [\"/camrelay\"] (exec form)", entrypoint)
	}
	if err := json.Unmarshal([]byte(cmd), &def); err != nil {
		t.Errorf("CMD %s: want exec form: %v", cmd, err)
	}
	runCmd(t, "", nil, bin, append(def, "--version")...)
}

// --- compose -----------------------------------------------------------------

type composeFile struct {
	Services map[string]struct {
		Image string `yaml:"image"`
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Command     []string          `yaml:"command"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   []string          `yaml:"depends_on"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// TestComposeServicesPortsAndMounts checks deploy/compose.yaml against the
// files it mounts and the services they name: every bind mount exists,
// Prometheus scrapes the camrelay service on its port with the rules beside
// its config, and Grafana's provisioning finds the datasource and the
// dashboard where compose puts them.
func TestComposeServicesPortsAndMounts(t *testing.T) {
	dir := deployPath(t)
	b, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, s := range []string{"camrelay", "prometheus", "grafana"} {
		if _, ok := c.Services[s]; !ok {
			t.Fatalf("compose.yaml has no %s service", s)
		}
	}
	// mounts maps each service's container paths to host paths.
	mounts := map[string]map[string]string{}
	for name, s := range c.Services {
		mounts[name] = map[string]string{}
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 {
				t.Errorf("%s: volume %q has no target", name, v)
				continue
			}
			src, dst := parts[0], parts[1]
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				host := filepath.Join(dir, src)
				if _, err := os.Stat(host); err != nil {
					t.Errorf("%s mounts %s, which does not exist: %v", name, src, err)
				}
				mounts[name][dst] = host
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s uses volume %q, not declared under volumes", name, src)
			}
		}
		for _, d := range s.DependsOn {
			if _, ok := c.Services[d]; !ok {
				t.Errorf("%s depends on %q, which is not a service", name, d)
			}
		}
	}
	port := func(service, container string) {
		t.Helper()
		for _, p := range c.Services[service].Ports {
			if strings.HasSuffix(p, ":"+container) {
				return
			}
		}
		t.Errorf("%s does not publish port %s (ports %q)", service, container, c.Services[service].Ports)
	}
	port("camrelay", "8080")
	port("prometheus", "9090")
	port("grafana", "3000")

	// camrelay: built from this repository's Dockerfile, with the demo
	// camera, and flags the gateway knows.
	cr := c.Services["camrelay"]
	if cr.Build == nil {
		t.Fatal("camrelay has no build section")
	}
	if got := filepath.Join(dir, cr.Build.Context); got != repoRoot(t) {
		t.Errorf("camrelay build context %s, want the repository root", got)
	}
	if _, err := os.Stat(filepath.Join(dir, cr.Build.Context, cr.Build.Dockerfile)); err != nil {
		t.Errorf("camrelay dockerfile: %v", err)
	}
	if !slices.Contains(cr.Command, "--demo") {
		t.Errorf("camrelay command %q: want --demo", cr.Command)
	}
	runCmd(t, "", nil, distBinary(t), append(slices.Clone(cr.Command), "--version")...)

	// Prometheus: its config and rules where its command says, scraping
	// the camrelay service.
	var configPath string
	for _, a := range c.Services["prometheus"].Command {
		if v, ok := strings.CutPrefix(a, "--config.file="); ok {
			configPath = v
		}
	}
	hostConfig, ok := mounts["prometheus"][configPath]
	if !ok {
		t.Fatalf("prometheus --config.file=%s is not mounted", configPath)
	}
	pb, err := os.ReadFile(hostConfig)
	if err != nil {
		t.Fatal(err)
	}
	var pc struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(pb, &pc); err != nil {
		t.Fatal(err)
	}
	for _, r := range pc.RuleFiles {
		if _, ok := mounts["prometheus"][path.Join(path.Dir(configPath), r)]; !ok {
			t.Errorf("prometheus rule file %s is not mounted next to %s", r, configPath)
		}
	}
	scraped := false
	for _, sc := range pc.ScrapeConfigs {
		if sc.JobName != "camrelay" {
			continue
		}
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				scraped = true
				host, p, err := net.SplitHostPort(target)
				if _, ok := c.Services[host]; err != nil || !ok || p != "8080" {
					t.Errorf("job camrelay scrapes %s, want the camrelay service on 8080", target)
				}
			}
		}
	}
	if !scraped {
		t.Error("prometheus.yml has no camrelay job with a target")
	}

	// Grafana: provisioning in its standard place; the datasource URL is
	// the prometheus service; the dashboard provider's path is where the
	// dashboard JSON is mounted.
	gm := mounts["grafana"]
	dsDir, ok1 := gm["/etc/grafana/provisioning/datasources"]
	dbDir, ok2 := gm["/etc/grafana/provisioning/dashboards"]
	if !ok1 || !ok2 {
		t.Fatalf("grafana mounts %v: want /etc/grafana/provisioning/{datasources,dashboards}", gm)
	}
	var ds struct {
		Datasources []struct {
			Type, URL, UID string
		} `yaml:"datasources"`
	}
	readYAMLDir(t, dsDir, &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("grafana datasources %+v: want one prometheus at http://prometheus:9090", ds.Datasources)
	}
	var dp struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAMLDir(t, dbDir, &dp)
	if len(dp.Providers) != 1 {
		t.Fatalf("grafana dashboard providers %+v: want one", dp.Providers)
	}
	dashHost, ok := gm[path.Join(dp.Providers[0].Options.Path, "camrelay.json")]
	if !ok || dashHost != deployPath(t, "grafana", "camrelay.json") {
		t.Errorf("grafana provider reads %s, but deploy/grafana/camrelay.json is mounted at %v", dp.Providers[0].Options.Path, gm)
	}
	if home := c.Services["grafana"].Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" {
		if _, ok := gm[home]; !ok {
			t.Errorf("grafana home dashboard %s is not mounted", home)
		}
	}
}

// readYAMLDir decodes the one *.yaml file of a provisioning directory.
func readYAMLDir(t *testing.T, dir string, v any) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) != 1 {
		t.Fatalf("%s: want one .yaml file, have %v (%v)", dir, files, err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", files[0], err)
	}
}

// --- logs --------------------------------------------------------------------

// TestOpsJSONLogLifecycle runs the gateway with --log-format json through an
// uplink's life (refused, connected, a bad frame, closed) and checks that
// every line is JSON, that each event is one line carrying the camera and
// source, and that no token reaches the log.
func TestOpsJSONLogLifecycle(t *testing.T) {
	g := startGateway(t, opsPushConfig, "--log-format", "json")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bad, _, err := websocket.Dial(ctx, g.ws("/cam/front/ingest"), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer wrong-token"}},
	})
	if err == nil {
		bad.CloseNow()
		t.Fatal("an uplink with a wrong token was accepted")
	}
	up := uplink(t, g, "front", "s3cret")
	send(t, up, websocket.MessageBinary, []byte("this is not a JPEG"))
	waitFor(t, 5*time.Second, "the dropped frame counted", func() bool {
		return g.metric(t, `camrelay_frames_dropped_total{camera="front",reason="not_jpeg"}`) >= 1
	})
	if err := up.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("close uplink: %v", err)
	}

	type line map[string]any
	var lines []line
	events := func(msg string) []line {
		var out []line
		for _, l := range lines {
			if l["msg"] == msg {
				out = append(out, l)
			}
		}
		return out
	}
	waitFor(t, 5*time.Second, "the uplink closed line", func() bool {
		lines = nil
		for _, s := range strings.Split(strings.TrimSpace(g.logs.String()), "\n") {
			var l line
			if err := json.Unmarshal([]byte(s), &l); err != nil {
				t.Fatalf("log line is not JSON: %q", s)
			}
			lines = append(lines, l)
		}
		return len(events("uplink closed")) > 0
	})
	for _, l := range lines {
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := l[k]; !ok {
				t.Errorf("log line %v has no %q", l, k)
			}
		}
	}
	if n := len(events("camrelay listening")); n != 1 {
		t.Errorf("%d \"camrelay listening\" lines, want 1", n)
	}
	for _, msg := range []string{
		"uplink refused: missing or wrong token",
		"uplink connected",
		"frames from the camera dropped",
		"uplink closed",
	} {
		ev := events(msg)
		if len(ev) != 1 {
			t.Errorf("%d %q lines, want exactly 1:\n%s", len(ev), msg, g.logs)
			continue
		}
		if ev[0]["camera"] != "front" || ev[0]["source"] != "push" {
			t.Errorf("%q line %v: want camera=front source=push", msg, ev[0])
		}
	}
	if dropped := events("frames from the camera dropped"); len(dropped) == 1 {
		if n, _ := dropped[0]["not_jpeg"].(float64); n != 1 || dropped[0]["level"] != "WARN" {
			t.Errorf("drop warning %v: want level WARN and not_jpeg=1", dropped[0])
		}
	}
	for _, secret := range []string{"s3cret", "wrong-token"} {
		if strings.Contains(g.logs.String(), secret) {
			t.Errorf("a token (%q) reached the log:\n%s", secret, g.logs)
		}
	}
}

func TestHealthcheckFlag(t *testing.T) {
	g := startArgs(t, "camrelay", "--demo", "--listen", "127.0.0.1:0")
	env := func(string) string { return "" }
	if err := run(context.Background(), []string{"camrelay", "--healthcheck", "--listen", g.addr}, env, io.Discard, io.Discard); err != nil {
		t.Errorf("--healthcheck against a running gateway: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := ln.Addr().String()
	ln.Close()
	if err := run(context.Background(), []string{"camrelay", "--healthcheck", "--listen", free}, env, io.Discard, io.Discard); err == nil {
		t.Errorf("--healthcheck against %s, where nothing listens: no error", free)
	}
}
