package auth

import "sync"

// Conns caps the connections open at once from one client address. An
// address is remembered only while it has connections, so memory follows
// the connections the server holds anyway. Safe for concurrent use.
type Conns struct {
	max int

	mu sync.Mutex
	n  map[string]int
}

// NewConns returns a cap of max connections per address; max <= 0 means
// no cap.
func NewConns(max int) *Conns { return &Conns{max: max, n: map[string]int{}} }

// Acquire takes a connection slot for addr. It returns false when addr is
// at the cap; otherwise release gives the slot back (call it once).
func (c *Conns) Acquire(addr string) (release func(), ok bool) {
	if c == nil || c.max <= 0 {
		return func() {}, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[addr] >= c.max {
		return nil, false
	}
	c.n[addr]++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.n[addr]--; c.n[addr] <= 0 {
				delete(c.n, addr)
			}
		})
	}, true
}

// Open is the number of connections open from addr.
func (c *Conns) Open(addr string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[addr]
}
