package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// csp is the policy the gateway serves the page under; the pages carry it in
// a meta element too, so a browser enforces it even without the header.
const csp = "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; style-src 'self'"

var pages = []string{"index.html", "camera.html"}

func staticFile(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(files, "static/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPagesNeedNoInlineCode checks what the Content-Security-Policy forbids:
// inline scripts, inline event handlers, style attributes and elements, and
// anything from another origin.
func TestPagesNeedNoInlineCode(t *testing.T) {
	checks := []struct {
		what string
		re   *regexp.Regexp
	}{
		{"an inline event handler", regexp.MustCompile(`(?i)<[^>]*\son[a-z]+\s*=`)},
		{"a style attribute", regexp.MustCompile(`(?i)<[^>]*\sstyle\s*=`)},
		{"a style element", regexp.MustCompile(`(?i)<style\b`)},
		{"a javascript: URL", regexp.MustCompile(`(?i)javascript:`)},
		{"an external resource", regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"(?:https?:)?//`)},
	}
	script := regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	for _, name := range pages {
		html := staticFile(t, name)
		for _, m := range script.FindAllStringSubmatch(html, -1) {
			if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
				t.Errorf("%s has an inline script: %.80s", name, m[0])
			}
		}
		for _, c := range checks {
			if m := c.re.FindString(html); m != "" {
				t.Errorf("%s has %s: %s", name, c.what, m)
			}
		}
		if !strings.Contains(html, `content="`+csp+`"`) {
			t.Errorf("%s lacks the Content-Security-Policy meta element", name)
		}
		if !strings.Contains(html, `<meta name="viewport"`) || !strings.Contains(html, `<html lang="en">`) {
			t.Errorf("%s lacks the viewport meta element or the document language", name)
		}
	}
}

// TestReferencedAssetsExist follows every /static/ reference of the pages
// and every import of the modules.
func TestReferencedAssetsExist(t *testing.T) {
	ref := regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`)
	imp := regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*?from\s+"([^"]+)"|\bimport\("([^"]+)"\)`)
	seen := map[string]bool{}
	var queue []string
	for _, name := range pages {
		for _, m := range ref.FindAllStringSubmatch(staticFile(t, name), -1) {
			queue = append(queue, m[1])
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		name := strings.TrimPrefix(p, "/static/")
		b, err := fs.ReadFile(files, "static/"+name)
		if err != nil {
			t.Errorf("%s is referenced but missing", p)
			continue
		}
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, m := range imp.FindAllStringSubmatch(string(b), -1) {
			spec := m[1] + m[2]
			if !strings.HasPrefix(spec, "/static/") {
				t.Errorf("%s imports %q: use an absolute /static/ path", p, spec)
				continue
			}
			queue = append(queue, spec)
		}
	}
	for _, must := range []string{"/static/style.css", "/static/index.js", "/static/camera.js", "/static/clock.js", "/static/player.js"} {
		if !seen[must] {
			t.Errorf("%s is not reachable from the pages", must)
		}
	}
}

// TestStaticServesModules checks the types a browser insists on for module
// scripts and style sheets, and the no-cache header.
func TestStaticServesModules(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("/static/", Static()))
	defer srv.Close()
	for path, want := range map[string]string{
		"/static/camera.js":   "text/javascript",
		"/static/style.css":   "text/css",
		"/static/favicon.svg": "image/svg+xml",
		"/static/camera.html": "text/html",
		"/static/nonexistent": "",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if want == "" {
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", path, resp.StatusCode)
			}
			continue
		}
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, want) {
			t.Errorf("%s: %d %q, want 200 %s", path, resp.StatusCode, ct, want)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("%s: Cache-Control %q", path, cc)
		}
	}
	srv.Client().CloseIdleConnections()
}

func TestPage(t *testing.T) {
	for _, name := range pages {
		b, err := Page(name)
		if err != nil || !strings.HasPrefix(string(b), "<!doctype html>") {
			t.Errorf("Page(%q) = %.20q, %v", name, b, err)
		}
	}
	if _, err := Page("missing.html"); err == nil {
		t.Error("Page of a missing file gave no error")
	}
}
