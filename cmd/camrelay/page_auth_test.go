package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pageAuthConfig is pageConfig with viewer auth: a user for Basic and the
// viewer token.
const pageAuthConfig = pageConfig + `
viewers:
  token: page-view-token
  users:
    - {name: viewer, password: page-pass}
`

// liveTiles waits until the index shows the demo camera live.
func liveTiles(t *testing.T, b *pageBrowser) {
	t.Helper()
	pageWait(t, 15*time.Second, "the demo tile live", func() (bool, string) {
		st, err := pageTryEval[string](b, `(document.querySelector('#grid > li[data-camera="demo"] .badge') || {dataset: {}}).dataset.state || ""`)
		return err == nil && st == "live", st
	})
}

func TestPageSignedInWithBasicPlaysAndReadsTheAPI(t *testing.T) {
	g := startPageGateway(t, pageAuthConfig)
	b := newPageBrowser(t)
	// The browser keeps the credentials of the URL for the origin, and
	// sends them with the page's files, its fetches and its WebSockets.
	b.do(chromedp.Navigate("http://viewer:page-pass@" + g.addr + "/"))
	liveTiles(t, b)
	b.do(chromedp.Navigate(g.url("/cam/demo")))
	pageWait(t, 15*time.Second, "frames painted on the camera page", func() (bool, string) {
		s := b.stats()
		return s.Painted > 0, fmt.Sprintf("%+v", s)
	})
	if strings.Contains(g.logs.String(), "page-pass") {
		t.Errorf("the log shows the password:\n%s", g.logs)
	}
}

func TestPageOpenedWithTheViewerTokenPlaysAndKeepsIt(t *testing.T) {
	g := startPageGateway(t, pageAuthConfig)
	b := newPageBrowser(t)
	b.do(chromedp.Navigate(g.url("/?token=page-view-token")))
	liveTiles(t, b)
	href := pageEval[string](b, `document.querySelector('#grid > li[data-camera="demo"] a').getAttribute("href")`)
	if href != "/cam/demo?token=page-view-token" {
		t.Errorf("tile link %q, want it to carry the token", href)
	}
	b.do(chromedp.Navigate(g.url(href)))
	pageWait(t, 15*time.Second, "frames painted on the camera page", func() (bool, string) {
		s := b.stats()
		return s.Painted > 0, fmt.Sprintf("%+v", s)
	})
}
