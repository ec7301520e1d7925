package auth

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies whose X-Forwarded-For is believed. The
// zero value believes none: then a client's address is the TCP peer, and a
// client cannot dodge the per-address limits by sending the header itself.
type Proxies struct {
	nets []netip.Prefix
}

// ParseProxies reads addresses ("127.0.0.1", "::1") and networks
// ("10.0.0.0/8").
func ParseProxies(list []string) (Proxies, error) {
	var p Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if pfx, err := netip.ParsePrefix(s); err == nil {
			p.nets = append(p.nets, pfx.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return Proxies{}, fmt.Errorf("trusted proxy %q: not an IP address or CIDR network", s)
		}
		p.nets = append(p.nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return p, nil
}

func (p Proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// HTTPS reports whether the client reached us over TLS: directly, or through
// a trusted proxy that says so in X-Forwarded-Proto.
func (p Proxies) HTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	peer, err := netip.ParseAddr(host)
	return err == nil && p.trusted(peer) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// ClientAddr is the address that the per-address limits count r under: the
// TCP peer, or, when the peer is a trusted proxy, the nearest address in
// X-Forwarded-For (read right to left) that is not a trusted proxy. Only
// the right end of the header is believed: a client may put anything at its
// left end.
func (p Proxies) ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !p.trusted(peer) {
		return peer.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client.String() // garbage: stop at the last good hop
			}
			client = a.Unmap()
			if !p.trusted(client) {
				return client.String()
			}
		}
	}
	return client.String()
}

// LimitKey is the key that the per-address limits count addr under: an IPv4
// address as is, an IPv6 address by its /64, the block one home or host
// usually gets, so that hopping within it does not reset the count.
func LimitKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Is4() {
		return addr
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
