package auth

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestATokenMatchesOnlyItselfWhetherGivenPlainOrHashed(t *testing.T) {
	const secret = "s3cr3t-uplink-token"
	hashed, err := ParseTokenHash(HashToken(secret))
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]Token{"plain": NewToken(secret), "hashed": hashed} {
		if !tok.Match(secret) {
			t.Errorf("%s: the secret does not match", name)
		}
		for _, wrong := range []string{"", "s3cr3t", secret + " ", strings.ToUpper(secret)} {
			if tok.Match(wrong) {
				t.Errorf("%s: %q matches", name, wrong)
			}
		}
	}
	if (Token{}).Match("") {
		t.Error("the unset token matches the empty string")
	}
}

func TestBadTokenHashesAreRefusedWithAHint(t *testing.T) {
	for _, h := range []string{"", "abc", "sha256:", "sha256:zz", "md5:" + strings.Repeat("0", 64), HashToken("x")[:70]} {
		if _, err := ParseTokenHash(h); err == nil || !strings.Contains(err.Error(), "sha256") {
			t.Errorf("ParseTokenHash(%q) = %v, want an error naming sha256", h, err)
		}
	}
	if _, err := TokenFrom("a", HashToken("a")); err == nil {
		t.Error("a token and its hash together are accepted")
	}
}

func TestViewersCheckEveryWayACredentialArrives(t *testing.T) {
	hash, err := HashPassword("hunter22")
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewViewers([]User{{Name: "ha", Password: "plainpw"}, {Name: "vlc", PasswordHash: hash}}, NewToken("viewtok"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  func(r *http.Request)
		want Result
		via  string
	}{
		{"nothing", func(*http.Request) {}, Missing, ""},
		{"basic plain password", func(r *http.Request) { r.SetBasicAuth("ha", "plainpw") }, OK, "basic"},
		{"basic bcrypt password", func(r *http.Request) { r.SetBasicAuth("vlc", "hunter22") }, OK, "basic"},
		{"basic wrong password", func(r *http.Request) { r.SetBasicAuth("vlc", "hunter2") }, Wrong, "basic"},
		{"basic unknown user", func(r *http.Request) { r.SetBasicAuth("eve", "plainpw") }, Wrong, "basic"},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer viewtok") }, OK, "bearer"},
		{"bearer wrong", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, Wrong, "bearer"},
		{"unknown scheme", func(r *http.Request) { r.Header.Set("Authorization", "Digest x") }, Wrong, "authorization"},
		{"query", func(r *http.Request) { r.URL.RawQuery = "token=viewtok" }, OK, "query"},
		{"query wrong", func(r *http.Request) { r.URL.RawQuery = "token=x" }, Wrong, "query"},
		{"cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: CookieName, Value: "viewtok"}) }, OK, "cookie"},
		{"password as token", func(r *http.Request) { r.URL.RawQuery = "token=plainpw" }, Wrong, "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/cam/x/stream.mjpeg", nil)
			tt.req(r)
			// Twice: the second answer may come from the bcrypt memory.
			for range 2 {
				if got, via := v.Check(r); got != tt.want || via != tt.via {
					t.Fatalf("Check = %v via %q, want %v via %q", got, via, tt.want, tt.via)
				}
			}
		})
	}
}

func TestViewersOffLetsEveryoneIn(t *testing.T) {
	v, err := NewViewers(nil, Token{})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer whatever")
	if v.Enabled() {
		t.Error("enabled without users or token")
	}
	if got, _ := v.Check(r); got != OK {
		t.Errorf("Check = %v, want ok", got)
	}
}

func TestBadViewerListsAreRefused(t *testing.T) {
	for name, users := range map[string][]User{
		"no name":      {{Password: "x"}},
		"colon":        {{Name: "a:b", Password: "x"}},
		"twice":        {{Name: "a", Password: "x"}, {Name: "a", Password: "y"}},
		"no password":  {{Name: "a"}},
		"both":         {{Name: "a", Password: "x", PasswordHash: "$2a$10$x"}},
		"bad hash":     {{Name: "a", PasswordHash: "sha256:00"}},
		"unhashed md5": {{Name: "a", PasswordHash: "5f4dcc3b5aa765d61d8327deb882cf99"}},
	} {
		if _, err := NewViewers(users, Token{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestGuardRefusesAnAddressAfterMaxFailuresAndForgivesOverTime(t *testing.T) {
	now := time.Unix(1000, 0)
	g := NewGuard(GuardOptions{MaxFailures: 3, Forgive: 10 * time.Second, Now: func() time.Time { return now }})
	for i := range 3 {
		if _, blocked := g.Blocked("10.0.0.1"); blocked {
			t.Fatalf("blocked after %d failures", i)
		}
		g.Failed("10.0.0.1")
	}
	retry, blocked := g.Blocked("10.0.0.1")
	if !blocked || retry <= 0 || retry > 10*time.Second {
		t.Fatalf("after 3 failures: blocked %v, retry %v; want blocked, retry within 10 s", blocked, retry)
	}
	if _, blocked := g.Blocked("10.0.0.2"); blocked {
		t.Error("another address is blocked too")
	}
	now = now.Add(retry)
	if _, blocked := g.Blocked("10.0.0.1"); blocked {
		t.Error("still blocked after Retry-After")
	}
	g.Failed("10.0.0.1") // one more guess, and it is refused again
	if _, blocked := g.Blocked("10.0.0.1"); !blocked {
		t.Error("not blocked after a failure on the forgiven try")
	}
}

func TestGuardMemoryIsBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	g := NewGuard(GuardOptions{MaxFailures: 2, Forgive: time.Second, MaxAddrs: 100, Now: func() time.Time { return now }})
	for i := range 10_000 {
		g.Failed("10.0." + string(rune('a'+i%26)) + "." + itoa(i))
		if g.Len() > 100 {
			t.Fatalf("%d addresses remembered, cap 100", g.Len())
		}
	}
	// The newest attacker is still remembered.
	g.Failed("10.9.9.9")
	g.Failed("10.9.9.9")
	if _, blocked := g.Blocked("10.9.9.9"); !blocked {
		t.Error("an address that just failed twice is not blocked")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestConnsCapsEachAddress(t *testing.T) {
	c := NewConns(2)
	r1, ok1 := c.Acquire("a")
	_, ok2 := c.Acquire("a")
	_, ok3 := c.Acquire("a")
	_, okB := c.Acquire("b")
	if !ok1 || !ok2 || ok3 || !okB {
		t.Fatalf("acquire: %v %v %v %v, want true true false true", ok1, ok2, ok3, okB)
	}
	r1()
	r1() // a second release is harmless
	if c.Open("a") != 1 {
		t.Fatalf("open after release: %d, want 1", c.Open("a"))
	}
	if _, ok := c.Acquire("a"); !ok {
		t.Error("a released slot cannot be taken again")
	}
}

func TestClientAddrBelievesForwardedForOnlyFromTrustedProxies(t *testing.T) {
	p, err := ParseProxies([]string{"127.0.0.1", "10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct", "192.0.2.7:5000", nil, "192.0.2.7"},
		{"direct, header ignored", "192.0.2.7:5000", []string{"1.2.3.4"}, "192.0.2.7"},
		{"through proxy", "127.0.0.1:5000", []string{"198.51.100.9"}, "198.51.100.9"},
		{"spoofed left end", "127.0.0.1:5000", []string{"1.1.1.1, 198.51.100.9"}, "198.51.100.9"},
		{"two proxies", "127.0.0.1:5000", []string{"198.51.100.9, 10.1.2.3"}, "198.51.100.9"},
		{"two headers", "127.0.0.1:5000", []string{"198.51.100.9", "10.1.2.3"}, "198.51.100.9"},
		{"proxy without header", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"garbage", "127.0.0.1:5000", []string{"nonsense, 10.1.2.3"}, "10.1.2.3"},
		{"v4-mapped", "[::ffff:127.0.0.1]:5000", []string{"198.51.100.9"}, "198.51.100.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := p.ClientAddr(r); got != tt.want {
				t.Errorf("ClientAddr = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := ParseProxies([]string{"example.com"}); err == nil {
		t.Error("a host name is accepted as a proxy")
	}
}

func TestHTTPSBelievesForwardedProtoOnlyFromTrustedProxies(t *testing.T) {
	p, _ := ParseProxies([]string{"127.0.0.1"})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Forwarded-Proto", "https")
	r.RemoteAddr = "192.0.2.1:1"
	if p.HTTPS(r) {
		t.Error("an untrusted peer's X-Forwarded-Proto is believed")
	}
	r.RemoteAddr = "127.0.0.1:1"
	if !p.HTTPS(r) {
		t.Error("the trusted proxy's X-Forwarded-Proto is not believed")
	}
}

func TestLimitKeyGroupsIPv6By64(t *testing.T) {
	if a, b := LimitKey("2001:db8:1:2::1"), LimitKey("2001:db8:1:2:ffff::9"); a != b {
		t.Errorf("%s and %s differ", a, b)
	}
	if LimitKey("192.0.2.1") != "192.0.2.1" {
		t.Error("IPv4 changed")
	}
}
