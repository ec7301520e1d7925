package auth

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// CookieName is the cookie that carries the viewer token after a page was
// opened with ?token=, so that the page's own scripts, styles and sockets
// are let in without the token in every URL.
const CookieName = "camrelay_token"

// Result is the outcome of checking a request's credentials.
type Result int

const (
	// OK: a valid credential, or none needed.
	OK Result = iota
	// Missing: no credential at all; not a failure (a browser's first try).
	Missing
	// Wrong: a credential that does not match.
	Wrong
)

func (r Result) String() string {
	return [...]string{"ok", "missing", "wrong"}[r]
}

// User is one viewer with a password, for HTTP Basic. Exactly one of
// Password and PasswordHash (bcrypt) is set.
type User struct {
	Name, Password, PasswordHash string
}

// Viewers decides who may watch. With no users and no token it lets
// everyone in. Safe for concurrent use.
type Viewers struct {
	users map[string]user
	token Token

	// ok remembers credentials that passed bcrypt recently, by their
	// SHA-256: Home Assistant and VLC open a connection per view and the
	// page a request per file, and bcrypt costs tens of milliseconds each.
	mu sync.Mutex
	ok map[[sha256.Size]byte]struct{}
}

type user struct {
	plain  Token  // set for a plain password
	bcrypt []byte // set for a password_hash
}

// okCacheSize bounds the remembered credentials; past it the memory is
// dropped and refilled, which costs one bcrypt per user.
const okCacheSize = 256

// dummyHash is compared against for an unknown user name, so that the
// answer takes as long as for a known one (at the cost HashPassword uses)
// and does not reveal the names. Made on first use: a program that never
// sees a wrong name never pays for it.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("camrelay"), bcrypt.DefaultCost)
	return h
})

// NewViewers returns the viewer check for users and token.
func NewViewers(users []User, token Token) (*Viewers, error) {
	v := &Viewers{users: map[string]user{}, token: token, ok: map[[sha256.Size]byte]struct{}{}}
	for _, u := range users {
		if u.Name == "" || strings.Contains(u.Name, ":") {
			return nil, fmt.Errorf("viewer %q: a name must be non-empty and without ':'", u.Name)
		}
		if _, dup := v.users[u.Name]; dup {
			return nil, fmt.Errorf("viewer %q: listed twice", u.Name)
		}
		switch {
		case u.Password != "" && u.PasswordHash != "":
			return nil, fmt.Errorf("viewer %q: both password and password_hash are set (keep one)", u.Name)
		case u.PasswordHash != "":
			if err := CheckPasswordHash(u.PasswordHash); err != nil {
				return nil, fmt.Errorf("viewer %q: %w", u.Name, err)
			}
			v.users[u.Name] = user{bcrypt: []byte(u.PasswordHash)}
		case u.Password != "":
			v.users[u.Name] = user{plain: NewToken(u.Password)}
		default:
			return nil, fmt.Errorf("viewer %q: needs a password or password_hash", u.Name)
		}
	}
	return v, nil
}

// Enabled reports whether viewers must present a credential.
func (v *Viewers) Enabled() bool { return v != nil && (len(v.users) > 0 || v.token.IsSet()) }

// HasUsers reports whether Basic credentials can succeed (the 401 then asks
// for them, so that browsers and VLC prompt).
func (v *Viewers) HasUsers() bool { return v != nil && len(v.users) > 0 }

// Check looks for a credential in r, in this order: Authorization (Basic or
// Bearer), ?token=, the token cookie. The first one found decides; how it
// came is returned too ("basic", "bearer", "query", "cookie").
func (v *Viewers) Check(r *http.Request) (Result, string) {
	if !v.Enabled() {
		return OK, ""
	}
	if a := r.Header.Get("Authorization"); a != "" {
		if name, pass, ok := r.BasicAuth(); ok {
			return v.password(name, pass), "basic"
		}
		if tok, ok := Bearer(r.Header); ok {
			return v.tokenResult(tok), "bearer"
		}
		return Wrong, "authorization"
	}
	if tok := r.URL.Query().Get("token"); tok != "" {
		return v.tokenResult(tok), "query"
	}
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		return v.tokenResult(c.Value), "cookie"
	}
	return Missing, ""
}

func (v *Viewers) tokenResult(tok string) Result {
	if v.token.Match(tok) {
		return OK
	}
	return Wrong
}

func (v *Viewers) password(name, pass string) Result {
	u, known := v.users[name]
	if !known {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(pass))
		return Wrong
	}
	if u.bcrypt == nil {
		if u.plain.Match(pass) {
			return OK
		}
		return Wrong
	}
	key := sha256.Sum256([]byte(name + "\x00" + pass + "\x00" + string(u.bcrypt)))
	v.mu.Lock()
	_, seen := v.ok[key]
	v.mu.Unlock()
	if seen {
		return OK
	}
	if bcrypt.CompareHashAndPassword(u.bcrypt, []byte(pass)) != nil {
		return Wrong
	}
	v.mu.Lock()
	if len(v.ok) >= okCacheSize {
		clear(v.ok)
	}
	v.ok[key] = struct{}{}
	v.mu.Unlock()
	return OK
}

// Bearer returns the token of "Authorization: Bearer T".
func Bearer(h http.Header) (string, bool) {
	scheme, tok, ok := strings.Cut(h.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
