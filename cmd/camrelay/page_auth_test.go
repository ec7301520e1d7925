package main

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
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

// TestPageSignedInAtTheBrowsersPromptPlays answers the browser's own
// sign-in prompt (what a person types after the 401), then checks that the
// browser sends those credentials on the page's files, fetches and
// WebSockets by itself.
func TestPageSignedInAtTheBrowsersPromptPlays(t *testing.T) {
	g := startPageGateway(t, pageAuthConfig)
	// Registered before the browser's cleanup, so it runs after the browser
	// is gone and no event can start another answer.
	var prompts sync.WaitGroup
	t.Cleanup(prompts.Wait)
	b := newPageBrowser(t)
	var asked atomic.Int64
	if err := chromedp.Listen(b.ctx, func(ev any) {
		// Answers go out from their own goroutines: the listener runs on
		// the browser's event loop, which a call from here would block.
		switch ev := ev.(type) {
		case *fetch.EventAuthRequired:
			asked.Add(1)
			prompts.Go(func() {
				_, _ = chromedp.Call(b.ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: ev.RequestID,
					AuthChallengeResponse: &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseProvideCredentials,
						Username: "viewer", Password: "page-pass"}})
			})
		case *fetch.EventRequestPaused:
			prompts.Go(func() {
				_, _ = chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			})
		}
	}); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &yes}); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Navigate(g.url("/")))
	liveTiles(t, b)
	b.do(chromedp.Navigate(g.url("/cam/demo")))
	pageWait(t, 15*time.Second, "frames painted on the camera page", func() (bool, string) {
		s := b.stats()
		return s.Painted > 0, fmt.Sprintf("%+v", s)
	})
	if asked.Load() == 0 {
		t.Error("the browser was never asked to sign in")
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
