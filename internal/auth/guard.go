package auth

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// GuardOptions configure a Guard. Zero values mean the defaults stated.
type GuardOptions struct {
	// MaxFailures is how many failures in a row an address may make before
	// it is refused. Zero means 10.
	MaxFailures int
	// Forgive is how often one failure is forgiven, so an address that was
	// refused may try again after this long. Zero means 10 s.
	Forgive time.Duration
	// MaxAddrs caps the addresses remembered. Zero means 10,000.
	MaxAddrs int
	// Now is the clock; nil means time.Now. For tests.
	Now func() time.Time
}

// Guard counts credential failures per client address and refuses an
// address that failed too often, until its failures are forgiven. Each
// address has a token bucket (golang.org/x/time/rate) of MaxFailures: a
// failure takes a token, an empty bucket means refused, and a token comes
// back every Forgive. Memory is bounded by MaxAddrs: when the table is
// full, addresses whose buckets are full again are forgotten first, then
// the fullest tenth (the least suspicious). Safe for concurrent use.
type Guard struct {
	opts GuardOptions

	mu    sync.Mutex
	addrs map[string]*rate.Limiter
}

// NewGuard returns a Guard with opts.
func NewGuard(opts GuardOptions) *Guard {
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 10
	}
	if opts.Forgive <= 0 {
		opts.Forgive = 10 * time.Second
	}
	if opts.MaxAddrs <= 0 {
		opts.MaxAddrs = 10_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Guard{opts: opts, addrs: map[string]*rate.Limiter{}}
}

// Blocked reports whether addr is refused now, and when it may retry.
func (g *Guard) Blocked(addr string) (retryAfter time.Duration, blocked bool) {
	now := g.opts.Now()
	g.mu.Lock()
	lim := g.addrs[addr]
	var tokens float64
	if lim != nil {
		tokens = lim.TokensAt(now)
	}
	g.mu.Unlock()
	if lim == nil || tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) * float64(g.opts.Forgive)), true
}

// Failed counts one failure of addr.
func (g *Guard) Failed(addr string) {
	now := g.opts.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	lim := g.addrs[addr]
	if lim == nil {
		if len(g.addrs) >= g.opts.MaxAddrs {
			g.evict(now)
		}
		lim = rate.NewLimiter(rate.Every(g.opts.Forgive), g.opts.MaxFailures)
		g.addrs[addr] = lim
	}
	lim.AllowN(now, 1) // an empty bucket stays empty: the address stays refused
}

// Len is the number of addresses remembered.
func (g *Guard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.addrs)
}

// evict forgets every address whose failures are all forgiven; if none is,
// it forgets the addresses closest to being forgiven, a tenth of the table,
// so that a flood of new addresses costs one sweep per tenth. Called with
// mu held.
func (g *Guard) evict(now time.Time) {
	full := float64(g.opts.MaxFailures)
	for a, lim := range g.addrs {
		if lim.TokensAt(now) >= full {
			delete(g.addrs, a)
		}
	}
	drop := len(g.addrs) - g.opts.MaxAddrs + max(1, g.opts.MaxAddrs/10)
	if drop <= 0 {
		return
	}
	// The fullest buckets are the least suspicious addresses: they go first.
	type entry struct {
		addr   string
		tokens float64
	}
	all := make([]entry, 0, len(g.addrs))
	for a, lim := range g.addrs {
		all = append(all, entry{a, lim.TokensAt(now)})
	}
	slices.SortFunc(all, func(x, y entry) int { return cmp.Compare(y.tokens, x.tokens) })
	for _, e := range all[:min(drop, len(all))] {
		delete(g.addrs, e.addr)
	}
}
