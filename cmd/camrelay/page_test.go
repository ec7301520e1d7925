package main

// The page's tests: the real gateway, started in-process with runWith, and a
// real headless Chromium driven by chromedp. They check what a viewer sees:
// tiles, painted frames, the measured rate, recovery after a gateway restart,
// the offline state, snapshots, the admin controls, the console and the JS
// heap. The heap test takes a minute; -short skips it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/heapprofiler"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
)

// pageChromium is Debian's chromium; `make test` installs it.
const pageChromium = "/usr/bin/chromium"

// pageConfig has a push camera whose frames the test sends, and the demo
// camera at 20 fps.
const pageConfig = `
listen: "127.0.0.1:0"
limits: {offline_after: 2s}
cameras:
  - {id: front, name: Front door, source: push, token: secret}
  - {id: demo, name: Demo, source: demo, fps: 20, width: 640, height: 480}
`

const (
	pageOfflineAfter = 2 * time.Second // limits.offline_after above
	pageDemoFPS      = 20
)

// ---------- the gateway ----------

// pageGateway is the whole program run in-process; it can be stopped and
// started again on the same address.
type pageGateway struct {
	t      *testing.T
	args   []string
	addr   string
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

// startPageGateway writes cfg to a file and runs the gateway on it.
func startPageGateway(t *testing.T, cfg string) *pageGateway {
	t.Helper()
	path := filepath.Join(t.TempDir(), "camrelay.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &pageGateway{t: t, args: []string{"camrelay", "--config", path, "--listen", "127.0.0.1:0"}, logs: &syncBuffer{}}
	g.start()
	t.Cleanup(g.stop)
	return g
}

// start runs the gateway; after a stop, on the address it had.
func (g *pageGateway) start() {
	t := g.t
	t.Helper()
	args := g.args
	if g.addr != "" {
		args = append(args[:len(args):len(args)], "--listen", g.addr) // the last flag wins
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel, g.done = cancel, make(chan error, 1)
	addrc := make(chan string, 1)
	go func() {
		g.done <- runWith(ctx, args, func(string) string { return "" }, io.Discard, g.logs,
			func(a net.Addr) { addrc <- a.String() })
	}()
	select {
	case g.addr = <-addrc:
	case err := <-g.done:
		g.cancel = nil
		t.Fatalf("gateway did not start: %v\n%s", err, g.logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("gateway did not start within 10 s\n%s", g.logs)
	}
}

// stop cancels the gateway and waits for it to exit.
func (g *pageGateway) stop() {
	t := g.t
	t.Helper()
	if g.cancel == nil {
		return
	}
	g.cancel()
	g.cancel = nil
	select {
	case err := <-g.done:
		if err != nil {
			t.Errorf("gateway exited with %v\n%s", err, g.logs)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("gateway did not exit within 10 s of being stopped\n%s", g.logs)
	}
}

func (g *pageGateway) url(path string) string { return "http://" + g.addr + path }

// fpsIn is the frame rate of a camera as the gateway measures it, for
// failure messages: it tells a slow page from a slow source.
func (g *pageGateway) fpsIn(camera string) string {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get(g.url("/api/cameras"))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var cams []struct {
		ID    string  `json:"id"`
		FPSIn float64 `json:"fps_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&cams); err != nil {
		return err.Error()
	}
	for _, c := range cams {
		if c.ID == camera {
			return strconv.FormatFloat(c.FPSIn, 'f', 1, 64)
		}
	}
	return "no camera " + camera
}

// ---------- the browser ----------

// pageBrowser is one headless Chromium with one tab. It records console
// errors and uncaught exceptions; the test fails if there are any.
type pageBrowser struct {
	t     *testing.T
	ctx   context.Context
	mu    sync.Mutex
	errs  []string
	notes []string
}

func newPageBrowser(t *testing.T) *pageBrowser {
	t.Helper()
	if _, err := os.Stat(pageChromium); err != nil {
		t.Fatalf("the page tests need Chromium at %s (%v): run `make test`, which installs it", pageChromium, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(pageChromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true), // the screenshot shows the page, not a scrollbar
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	b := &pageBrowser{t: t, ctx: ctx}
	t.Cleanup(func() {
		cancel()
		acancel()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, n := range b.notes {
			t.Log(n)
		}
		for _, e := range b.errs {
			t.Errorf("browser console: %s", e)
		}
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		t.Fatalf("start %s: %v", pageChromium, err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		// Runs in the tab's read loop: record and return.
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					if len(a.Value) > 0 {
						parts = append(parts, string(a.Value))
					} else {
						parts = append(parts, a.Description)
					}
				}
				b.record("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
			}
		case *cdplog.EventEntryAdded:
			e := ev.Entry
			if e.Level == cdplog.EntryLevelError && e.Source == cdplog.EntrySourceSecurity {
				// A Content-Security-Policy violation, for one.
				b.record(fmt.Sprintf("%s: %s (%s)", e.Source, e.Text, e.URL))
			} else if e.Level == cdplog.EntryLevelError || e.Level == cdplog.EntryLevelWarning {
				b.note(fmt.Sprintf("browser log, %s %s: %s", e.Source, e.Level, e.Text))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.record(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.EmulateViewport(1280, 800))
	return b
}

// note keeps a browser log line that is no failure (a refused connection
// while the gateway restarts, an HTTP error the page shows) for -v.
func (b *pageBrowser) note(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.notes = append(b.notes, s)
}

func (b *pageBrowser) record(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, s)
}

// do runs actions with a timeout that spares the browser.
func (b *pageBrowser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// pageEval evaluates a JavaScript expression (awaiting a promise) in the tab.
func pageEval[T any](b *pageBrowser, expr string) T {
	b.t.Helper()
	v, err := pageTryEval[T](b, expr)
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func pageTryEval[T any](b *pageBrowser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// pageWait polls cond every 50 ms until it holds or within passes; cond
// returns a description of what it saw for the failure message.
func pageWait(t *testing.T, within time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	for {
		ok, saw := cond()
		if ok {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last saw: %s", within, what, saw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// playerStats is what the camera page's player counts (window.camrelay.player).
type playerStats struct {
	State      string  `json:"state"`
	Received   int     `json:"received"`
	Decoded    int     `json:"decoded"`
	Painted    int     `json:"painted"`
	Skipped    int     `json:"skipped"`
	FPSPainted float64 `json:"fpsPainted"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
}

const playerStatsJS = `(() => {
	const p = window.camrelay && window.camrelay.player;
	if (!p) return {state: "no player"};
	return {state: p.state, received: p.received, decoded: p.decoded, painted: p.painted,
		skipped: p.skipped, fpsPainted: p.fpsPainted, width: p.width, height: p.height};
})()`

func (b *pageBrowser) stats() playerStats {
	b.t.Helper()
	s, err := pageTryEval[playerStats](b, playerStatsJS)
	if err != nil {
		return playerStats{State: err.Error()}
	}
	return s
}

// canvasPrint is a fingerprint of the pixels on the camera view's canvas.
const canvasPrintJS = `(() => {
	const c = document.getElementById("video");
	const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
	let h = 0;
	for (let i = 0; i < d.length; i += 61) h = (Math.imul(h, 31) + d[i]) | 0;
	return h;
})()`

// ---------- tests ----------

func TestPageIndexShowsOneLiveTilePerCamera(t *testing.T) {
	g := startPageGateway(t, pageConfig)
	b := newPageBrowser(t)
	b.do(chromedp.Navigate(g.url("/")))

	type tile struct {
		ID, Name, State, FPS, Href string
	}
	var tiles []tile
	pageWait(t, 10*time.Second, "a tile per camera, the demo's live", func() (bool, string) {
		var err error
		tiles, err = pageTryEval[[]tile](b, `[...document.querySelectorAll("#grid > li")].map(li => ({
			ID: li.dataset.camera, Name: li.querySelector(".tile-name").textContent,
			State: li.querySelector(".badge").dataset.state, FPS: li.querySelector(".tile-fps").textContent,
			Href: li.querySelector("a").getAttribute("href")}))`)
		if err != nil {
			return false, err.Error()
		}
		live := len(tiles) == 2 && tiles[1].State == "live" && strings.HasSuffix(tiles[1].FPS, " fps") && tiles[1].FPS != "0 fps"
		return live, fmt.Sprintf("%+v", tiles)
	})
	want := []tile{{ID: "front", Name: "Front door", Href: "/cam/front"}, {ID: "demo", Name: "Demo", Href: "/cam/demo"}}
	for i, w := range want {
		if tiles[i].ID != w.ID || tiles[i].Name != w.Name || tiles[i].Href != w.Href {
			t.Errorf("tile %d = %+v, want id %q name %q link %q", i, tiles[i], w.ID, w.Name, w.Href)
		}
	}
	if tiles[0].State != "offline" {
		t.Errorf("the push camera with no uplink shows %q, want offline", tiles[0].State)
	}

	// Enter on a focused tile opens its camera.
	b.do(chromedp.Focus(chromedp.CSS(`a[href="/cam/demo"]`)), chromedp.KeyEvent("\r"))
	pageWait(t, 10*time.Second, "the demo camera's page", func() (bool, string) {
		s := b.stats()
		return s.Painted > 0, fmt.Sprintf("%+v", s)
	})
	if loc := pageEval[string](b, "location.pathname"); loc != "/cam/demo" {
		t.Errorf("Enter on the demo tile opened %s", loc)
	}
}

func TestPageCameraViewPaintsAtTheSourceRate(t *testing.T) {
	g := startPageGateway(t, pageConfig)
	b := newPageBrowser(t)
	// The screenshot in docs/ is of the dark theme.
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Navigate(g.url("/cam/demo")))
	pageWait(t, 10*time.Second, "the first painted frame", func() (bool, string) {
		s := b.stats()
		return s.Painted > 0 && s.State == "live", fmt.Sprintf("%+v", s)
	})
	if s := b.stats(); s.Width != 640 || s.Height != 480 {
		t.Errorf("painted %dx%d, want 640x480", s.Width, s.Height)
	}
	if title := pageEval[string](b, "document.title"); !strings.HasPrefix(title, "Demo") {
		t.Errorf("title %q, want the camera's name first", title)
	}

	// The pixels change as frames come.
	prints := map[int64]bool{}
	pageWait(t, 5*time.Second, "5 different pictures on the canvas", func() (bool, string) {
		prints[pageEval[int64](b, canvasPrintJS)] = true
		return len(prints) >= 5, fmt.Sprintf("%d different", len(prints))
	})

	// The overlay, by its key, reads the source's rate within 20%.
	b.do(chromedp.KeyEvent("o"))
	if hidden := pageEval[bool](b, `document.getElementById("overlay").hidden`); hidden {
		t.Fatal("key o did not show the overlay")
	}
	readFPS := func(stat string) (float64, string) {
		text := pageEval[string](b, `document.querySelector('[data-stat="`+stat+`"]').textContent`)
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return math.NaN(), text
		}
		return v, text
	}
	// The rate spans 2 s: read it once 3 s of frames have filled the window.
	pageWait(t, 10*time.Second, "3 s of painted frames", func() (bool, string) {
		s := b.stats()
		return s.Painted >= 3*pageDemoFPS, fmt.Sprintf("%+v", s)
	})
	var fps float64
	pageWait(t, 15*time.Second, "the overlay's fps within 20% of 20", func() (bool, string) {
		var text string
		fps, text = readFPS("fps-painted")
		rx, _ := readFPS("fps-received")
		ok := math.Abs(fps-pageDemoFPS) <= 0.2*pageDemoFPS && math.Abs(rx-pageDemoFPS) <= 0.2*pageDemoFPS
		return ok, fmt.Sprintf("painted %q received %.1f; %+v; the gateway measures %s fps in", text, rx, b.stats(), g.fpsIn("demo"))
	})
	t.Logf("overlay: %.1f fps painted", fps)
	lat := pageEval[string](b, `document.querySelector('[data-stat="latency"]').textContent`)
	if !regexp.MustCompile(`^-?\d+ ms$`).MatchString(lat) {
		t.Errorf("latency reads %q, want a number of ms", lat)
	}
	if res := pageEval[string](b, `document.querySelector('[data-stat="resolution"]').textContent`); res != "640×480" {
		t.Errorf("resolution reads %q", res)
	}

	// The camera view with the overlay, 1280x800: the README's picture,
	// docs/screenshot.png, when `make screenshot` asks for it (a plain test
	// run leaves the source tree alone).
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if len(png) == 0 {
		t.Error("the screenshot is empty")
	}
	if os.Getenv("CAMRELAY_SCREENSHOT") != "" {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "screenshot.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The snapshot button downloads the JPEG on screen as demo-YYYYMMDD-HHMMSS.jpg.
	dir := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir,
	}); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Click(chromedp.ID("snapshot-btn")))
	name := regexp.MustCompile(`^demo-\d{8}-\d{6}\.jpg$`)
	var got []byte
	pageWait(t, 10*time.Second, "the snapshot file", func() (bool, string) {
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
			if name.MatchString(e.Name()) {
				got, _ = os.ReadFile(filepath.Join(dir, e.Name()))
				return len(got) > 4, ""
			}
		}
		return false, fmt.Sprint(names)
	})
	if !bytes.HasPrefix(got, []byte{0xFF, 0xD8}) || !bytes.HasSuffix(got, []byte{0xFF, 0xD9}) {
		t.Errorf("snapshot is not a whole JPEG (%d bytes)", len(got))
	} else if _, err := jpeg.Decode(bytes.NewReader(got)); err != nil {
		t.Errorf("snapshot does not decode: %v", err)
	}
}

func TestPageResumesAfterTheGatewayRestarts(t *testing.T) {
	g := startPageGateway(t, pageConfig)
	b := newPageBrowser(t)
	b.do(chromedp.Navigate(g.url("/cam/demo")))
	pageWait(t, 10*time.Second, "10 painted frames", func() (bool, string) {
		s := b.stats()
		return s.Painted >= 10, fmt.Sprintf("%+v", s)
	})
	pageEval[bool](b, "window.sameDocument = true")

	g.stop()
	pageWait(t, 10*time.Second, "the reconnecting state", func() (bool, string) {
		badge := pageEval[string](b, `document.getElementById("badge").textContent`)
		return strings.HasPrefix(badge, "Reconnecting in ") && strings.HasSuffix(badge, " s"), badge
	})
	before := b.stats().Painted

	g.start()
	took := pageWait(t, 20*time.Second, "frames again after the restart", func() (bool, string) {
		s := b.stats()
		return s.State == "live" && s.Painted >= before+10, fmt.Sprintf("%+v (had %d)", s, before)
	})
	t.Logf("video resumed %v after the gateway restarted", took.Round(time.Millisecond))
	if !pageEval[bool](b, "window.sameDocument === true") {
		t.Error("the page reloaded")
	}
}

func TestPageShowsTheCameraOfflineAfterItsSilence(t *testing.T) {
	g := startPageGateway(t, pageConfig)
	up := pageUplink(t, g, "front", "secret")

	// The camera sends 10 frames a second until told to stop.
	stop := make(chan struct{})
	lastSent := make(chan time.Time, 1)
	sendErr := make(chan error, 1)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		var last time.Time
		for i := 0; ; i++ {
			select {
			case <-stop:
				lastSent <- last
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := up.Write(ctx, websocket.MessageBinary, pageJPEG(i))
			cancel()
			if err != nil {
				sendErr <- err
				lastSent <- last
				return
			}
			last = time.Now()
		}
	}()
	var stopOnce sync.Once
	stopSending := func() time.Time { stopOnce.Do(func() { close(stop) }); return <-lastSent }
	t.Cleanup(func() {
		stopOnce.Do(func() { close(stop) })
	})

	b := newPageBrowser(t)
	b.do(chromedp.Navigate(g.url("/cam/front")))
	pageWait(t, 10*time.Second, "the push camera live with frames", func() (bool, string) {
		s := b.stats()
		return s.State == "live" && s.Painted >= 5, fmt.Sprintf("%+v", s)
	})
	if title := pageEval[string](b, `document.getElementById("title").textContent`); title != "Front door" {
		t.Errorf("title reads %q", title)
	}
	print := pageEval[int64](b, canvasPrintJS)

	last := stopSending()
	select {
	case err := <-sendErr:
		t.Fatalf("uplink write: %v", err)
	default:
	}
	pageWait(t, pageOfflineAfter+3*time.Second, "the offline state", func() (bool, string) {
		// One evaluation per poll, so the time measured is the page's.
		got := pageEval[struct {
			Msg     string
			Offline bool
		}](b, `({Msg: document.getElementById("msg").hidden ? "" : document.getElementById("msg").textContent,
			Offline: document.getElementById("stage").classList.contains("is-offline")})`)
		return got.Offline && strings.HasPrefix(got.Msg, "Offline since "), fmt.Sprintf("%+v", got)
	})
	took := time.Since(last)
	t.Logf("offline shown %v after the last frame (offline_after %v)", took.Round(time.Millisecond), pageOfflineAfter)
	if took > pageOfflineAfter+time.Second {
		t.Errorf("offline shown %v after the last frame, want within %v", took, pageOfflineAfter+time.Second)
	}
	if !regexp.MustCompile(`^Offline since \d\d:\d\d:\d\d`).MatchString(pageEval[string](b, `document.getElementById("msg").textContent`)) {
		t.Error("the offline message has no HH:MM:SS")
	}
	// The last frame stays, greyed.
	if got := pageEval[int64](b, canvasPrintJS); got != print {
		// A frame may have landed between the print and the stop; the
		// picture must still be one of the camera's, not a blank canvas.
		if blank := pageEval[bool](b, `(() => { const c = document.getElementById("video");
			const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
			for (let i = 0; i < d.length; i += 4) if (d[i] || d[i+1] || d[i+2]) return false; return true; })()`); blank {
			t.Error("the canvas went blank when the camera went offline")
		}
	}
	if f := pageEval[string](b, `getComputedStyle(document.getElementById("video")).filter`); !strings.Contains(f, "grayscale") {
		t.Errorf("offline canvas filter %q, want grayscale", f)
	}
}

func TestPageControlsSendOneSettingWithTheAdminToken(t *testing.T) {
	g := startPageGateway(t, pageConfig)
	b := newPageBrowser(t)

	type sent struct {
		method, url, auth, ctype, body string
		status                         int64
	}
	var mu sync.Mutex
	reqs := map[network.RequestID]*sent{}
	var order []network.RequestID
	var socketSent, socketAcks []string // control messages and acks on the viewer socket
	if err := chromedp.Listen(b.ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if !strings.HasSuffix(ev.Request.URL, "/control") {
				return
			}
			s := &sent{method: ev.Request.Method, url: ev.Request.URL}
			for k, v := range ev.Request.Headers {
				switch strings.ToLower(k) {
				case "authorization":
					s.auth = fmt.Sprint(v)
				case "content-type":
					s.ctype = fmt.Sprint(v)
				}
			}
			for _, e := range ev.Request.PostDataEntries {
				s.body += string(e.Bytes)
			}
			reqs[ev.RequestID] = s
			order = append(order, ev.RequestID)
		case *network.EventResponseReceived:
			if s := reqs[ev.RequestID]; s != nil {
				s.status = ev.Response.Status
			}
		case *network.EventWebSocketFrameSent:
			if strings.Contains(string(ev.Response.PayloadData), `"type":"control"`) {
				socketSent = append(socketSent, string(ev.Response.PayloadData))
			}
		case *network.EventWebSocketFrameReceived:
			if strings.Contains(string(ev.Response.PayloadData), `"type":"ack"`) {
				socketAcks = append(socketAcks, string(ev.Response.PayloadData))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	lastSent := func() (sent, bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(order) == 0 {
			return sent{}, false
		}
		return *reqs[order[len(order)-1]], true
	}
	// lastOnSocket returns the last control message sent on the viewer
	// socket without its type, id and token, the token, and how many acks
	// came back.
	lastOnSocket := func() (settings, token string, acks int) {
		mu.Lock()
		defer mu.Unlock()
		if len(socketSent) == 0 {
			return "", "", len(socketAcks)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(socketSent[len(socketSent)-1]), &m); err != nil {
			t.Fatalf("control message on the socket is not JSON: %v", err)
		}
		token, _ = m["token"].(string)
		delete(m, "type")
		delete(m, "id")
		delete(m, "token")
		b, _ := json.Marshal(m)
		return string(b), token, len(socketAcks)
	}

	b.do(chromedp.Navigate(g.url("/cam/front")), chromedp.Click(chromedp.ID("settings-btn")))
	hidden := func(id string) bool { return pageEval[bool](b, `document.getElementById("`+id+`").hidden`) }
	if hidden("settings") {
		t.Fatal("the settings button did not open the panel")
	}
	if !hidden("controls") {
		t.Fatal("controls are shown with no admin token")
	}
	b.do(chromedp.SendKeys(chromedp.ID("token"), "tok-123"), chromedp.Click(chromedp.CSS(`#token-form button[type=submit]`)))
	if hidden("controls") {
		t.Fatal("controls stay hidden after the token was saved")
	}
	if got := pageEval[string](b, `localStorage.getItem("camrelay.adminToken")`); got != "tok-123" {
		t.Errorf("stored token %q", got)
	}
	pageWait(t, 10*time.Second, "the viewer socket open", func() (bool, string) {
		return pageEval[bool](b, `window.camrelay.player.socketOpen()`), ""
	})

	change := func(js string) {
		pageEval[bool](b, `(() => { const el = `+js+`; el.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`)
	}
	cases := []struct {
		name, js, body string
	}{
		{"framesize", `(() => { const s = document.getElementById("c-framesize"); s.value = "QVGA"; return s; })()`, `{"framesize":"QVGA"}`},
		{"quality", `(() => { const s = document.getElementById("c-quality"); s.value = "20"; return s; })()`, `{"quality":20}`},
		{"vflip", `(() => { const s = document.getElementById("c-vflip"); s.checked = true; return s; })()`, `{"vflip":true}`},
		{"led", `(() => { const s = document.getElementById("c-led"); s.value = "128"; return s; })()`, `{"led":128}`},
	}
	// While the viewer socket is open, each change goes over it with the
	// token in the message; the gateway's ack (here 403: this gateway has
	// no admin token) is shown like a POST's answer.
	for i, c := range cases {
		change(c.js)
		pageWait(t, 10*time.Second, c.name+" sent on the socket and acked", func() (bool, string) {
			settings, token, acks := lastOnSocket()
			return settings == c.body && token == "tok-123" && acks > i, fmt.Sprintf("%s token %q, %d acks", settings, token, acks)
		})
		pageWait(t, 5*time.Second, c.name+" answer shown", func() (bool, string) {
			text := pageEval[string](b, `document.getElementById("control-result").textContent`)
			return strings.Contains(text, c.name) && strings.Contains(text, ": 403") && strings.Contains(text, "admin_token"), text
		})
	}
	if _, ok := lastSent(); ok {
		t.Error("a control went as POST while the viewer socket was open")
	}

	// Without the socket, the same change goes as POST with the token in
	// the Authorization header.
	pageEval[bool](b, `(() => { window.camrelay.player.stop(); return true; })()`)
	for _, c := range cases[1:2] {
		change(c.js)
		var s sent
		pageWait(t, 10*time.Second, c.name+" sent and answered", func() (bool, string) {
			var ok bool
			s, ok = lastSent()
			return ok && s.body == c.body && s.status != 0, fmt.Sprintf("%+v", s)
		})
		if s.method != "POST" || !strings.HasSuffix(s.url, "/cam/front/control") || s.auth != "Bearer tok-123" || !strings.HasPrefix(s.ctype, "application/json") {
			t.Errorf("%s: sent %+v", c.name, s)
		}
		// The live region shows the gateway's answer, whatever it is.
		want := strconv.FormatInt(s.status, 10)
		pageWait(t, 5*time.Second, c.name+" answer shown", func() (bool, string) {
			text := pageEval[string](b, `document.getElementById("control-result").textContent`)
			return strings.Contains(text, c.name) && strings.Contains(text, ": "+want) && !strings.Contains(text, "socket"), text
		})
	}

	b.do(chromedp.Click(chromedp.ID("forget")))
	if !hidden("controls") {
		t.Error("controls still shown after Forget")
	}
	if got := pageEval[*string](b, `localStorage.getItem("camrelay.adminToken")`); got != nil {
		t.Errorf("token still stored after Forget: %q", *got)
	}
}

func TestPageClockMath(t *testing.T) {
	g := startPageGateway(t, pageConfig)
	b := newPageBrowser(t)
	b.do(chromedp.Navigate(g.url("/static/favicon.svg")))
	cases := []struct {
		name, expr, want string
	}{
		{"offset and rtt of a symmetric exchange",
			`m.clockSample(1000, 1510, 1512, 1022)`, `{"offset":500,"rtt":20,"at":1022}`},
		{"offset of a client ahead of the gateway",
			`m.clockSample(5000, 4006, 4006, 5012).offset`, `-1000`},
		{"the lowest round trip wins",
			`m.bestSample([{offset: 9, rtt: 30}, {offset: 4, rtt: 2}, {offset: 7, rtt: 8}])`, `{"offset":4,"rtt":2}`},
		{"no samples, no estimate", `m.bestSample([])`, `null`},
		{"the sliding set keeps the newest",
			`m.addSample([1, 2, 3].map(n => ({n})), {n: 4}, 3).map(s => s.n)`, `[2,3,4]`},
		{"latency adds the offset",
			`m.latency(10050, 100, 10120)`, `30`},
		{"no latency without a receive time", `m.latency(10050, 100, 0)`, `null`},
		{"no latency without an offset", `m.latency(10050, NaN, 10120)`, `null`},
		{"backoff grows to the cap",
			`[0, 1, 2, 3, 4, 5, 9, 40].map(a => m.backoffDelay(a, 500, 10000, () => 0.999999))`,
			`[499,999,1999,3999,7999,9999,9999,9999]`},
		{"backoff has full jitter", `m.backoffDelay(3, 500, 10000, () => 0)`, `0`},
		{"rate over the window",
			`m.rate([{t: 0, n: 0}, {t: 1000, n: 10}, {t: 2000, n: 30}, {t: 3000, n: 50}], 2000)`, `20`},
		{"no rate from one point", `m.rate([{t: 0, n: 5}], 2000)`, `0`},
		{"points are capped", `m.pushPoint([{t:1,n:1},{t:2,n:2}], 3, 3, 2).map(p => p.t)`, `[2,3]`},
		{"snapshot name",
			`m.snapshotName("front", new Date(2024, 0, 2, 3, 4, 5))`, `"front-20240102-030405.jpg"`},
		{"snapshot name of an odd id", `m.snapshotName("a/b", new Date(2024, 11, 31, 23, 59, 58))`, `"a_b-20241231-235958.jpg"`},
		{"clock time", `m.clockTime(new Date(2024, 0, 2, 3, 4, 5))`, `"03:04:05"`},
		{"kbit/s", `m.kbits(125000)`, `1000`},
		{"countdown", `[1, 999, 1000, 2500].map(m.secondsLeft)`, `[1,1,1,3]`},
		{"camera id from the path",
			`["/cam/front", "/cam/front/", "/cam/a%20b", "/", "/cam/x/ws"].map(m.cameraIDFromPath)`, `["front","front","a b",null,null]`},
		{"ws URL", `m.wsURL({protocol: "https:", host: "h:1"}, "/cam/x/ws")`, `"wss://h:1/cam/x/ws"`},
		{"ws URL carries the page's viewer token", `m.wsURL({protocol: "http:", host: "h", search: "?token=a%2Fb"}, "/api/ws?src=x")`, `"ws://h/api/ws?src=x&token=a%2Fb"`},
		{"no token, path unchanged", `m.withToken({search: "?x=1"}, "/api/cameras")`, `"/api/cameras"`},
		{"API URL on the origin, never with credentials", `m.apiURL({origin: "http://h:1", search: "?token=t"}, "/api/cameras")`, `"http://h:1/api/cameras?token=t"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := pageTryEval[string](b, `import("/static/clock.js").then(m => JSON.stringify(`+c.expr+`))`)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s = %s, want %s", c.expr, got, c.want)
			}
		})
	}
}

// TestPageJSHeapStaysFlat plays the demo camera for a minute and checks that
// the page's JS heap, after a forced garbage collection, has not grown more
// than 10% between 10 s and 60 s.
func TestPageJSHeapStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of video; runs without -short (make test)")
	}
	const (
		warm  = 10 * time.Second
		total = 60 * time.Second
	)
	g := startPageGateway(t, pageConfig)
	b := newPageBrowser(t)
	if _, err := chromedp.Call(b.ctx, performance.Enable, performance.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Navigate(g.url("/cam/demo")), chromedp.KeyEvent("o")) // the overlay works too
	pageWait(t, 10*time.Second, "the first painted frame", func() (bool, string) {
		s := b.stats()
		return s.Painted > 0, fmt.Sprintf("%+v", s)
	})
	// V8 keeps a number-to-string cache among its roots. It starts small and
	// grows once, to 64 KiB, when number-to-text conversions (the overlay
	// makes a few a second) first collide in it; that can land anywhere in
	// the minute and is a tenth of this page's whole heap. Growing it now
	// measures the page, not the engine's one-time expansion.
	pageEval[int](b, `(() => { let n = 0; for (let i = 0; i < 100000; i++) n += String(i).length; return n; })()`)
	start := time.Now()

	heap := func() float64 {
		t.Helper()
		for range 2 { // a second pass collects what the first one finalised
			if _, err := chromedp.Call(b.ctx, heapprofiler.CollectGarbage, struct{}{}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := chromedp.Call(b.ctx, performance.GetMetrics, struct{}{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Metrics {
			if m.Name == "JSHeapUsedSize" {
				return m.Value
			}
		}
		t.Fatal("no JSHeapUsedSize metric")
		return 0
	}
	// playUntil lets the video run until d after start, checking that it
	// keeps playing.
	playUntil := func(d time.Duration) playerStats {
		t.Helper()
		var s playerStats
		for {
			s = b.stats()
			if s.State != "live" {
				t.Fatalf("the player left the live state at %v: %+v", time.Since(start).Round(time.Second), s)
			}
			left := time.Until(start.Add(d))
			if left <= 0 {
				return s
			}
			<-time.After(min(left, 5*time.Second))
		}
	}

	s10 := playUntil(warm)
	h10 := heap()
	s60 := playUntil(total)
	h60 := heap()
	painted, received := s60.Painted-s10.Painted, s60.Received-s10.Received
	span := (total - warm).Seconds()
	t.Logf("JS heap %.0f KiB at %v, %.0f KiB at %v (%+.1f%%); in between %d frames received (%.1f fps), %d painted, %d skipped",
		h10/1024, warm, h60/1024, total, 100*(h60-h10)/h10, received, float64(received)/span, painted, s60.Skipped-s10.Skipped)
	if h60 > 1.10*h10 {
		t.Errorf("JS heap grew from %.0f to %.0f bytes (more than 10%%) over %v of video", h10, h60, total-warm)
	}
	// The page keeps up with what it gets: newest-wins may drop a few, not
	// a tenth. (How many it gets depends on the gateway's demo source, which
	// a loaded test machine can slow; the rate test checks the page's rate.)
	if received < int(0.5*pageDemoFPS*span) || painted < received*9/10 {
		t.Errorf("in %v: received %d frames, painted %d; want at least %d received and 90%% painted",
			total-warm, received, painted, int(0.5*pageDemoFPS*span))
	}
}

// ---------- the push camera ----------

// pageUplink dials a push camera's ingest endpoint as the firmware does.
func pageUplink(t *testing.T, g *pageGateway, camera, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+g.addr+"/cam/"+camera+"/ingest", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		t.Fatalf("uplink dial: %v", err)
	}
	// Read (and answer control frames) in the background until the close.
	rctx := c.CloseRead(context.Background())
	t.Cleanup(func() {
		c.Close(websocket.StatusNormalClosure, "")
		<-rctx.Done()
	})
	return c
}

// pageJPEG is a small JPEG whose colours change with i.
func pageJPEG(i int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := range 120 {
		for x := range 160 {
			img.Set(x, y, color.RGBA{uint8(x + 4*i), uint8(2*y + 8*i), uint8(x ^ y ^ i), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 75}); err != nil {
		panic(err)
	}
	return b.Bytes()
}
