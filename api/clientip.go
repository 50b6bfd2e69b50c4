package api

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ParseProxies reads --trusted-proxies: comma-separated CIDRs
// ("10.0.0.0/8,fd00::/8"), a bare address standing for itself.
func ParseProxies(s string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q is neither a CIDR nor an address", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

// trusted reports whether a is one of the proxies.
func trusted(proxies []netip.Prefix, a netip.Addr) bool {
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// PeerAddr reads a connection's remote "host:port" (net.Conn.RemoteAddr,
// http.Request.RemoteAddr), IPv4 unmapped; the zero Addr when it is no IP
// address (a pipe).
func PeerAddr(hostport string) netip.Addr {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// clientIP is who a request comes from. From a trusted proxy it is the
// client that proxy names: the rightmost X-Forwarded-For address that is
// not itself a trusted proxy (every proxy appends the address it took the
// request from, so what lies left of that came from the client and may be
// forged), or failing an X-Forwarded-For, the same read from Forwarded's
// for= (RFC 7239). From anyone else it is the peer, whatever the headers
// say.
func clientIP(r *http.Request, proxies []netip.Prefix) netip.Addr {
	peer := PeerAddr(r.RemoteAddr)
	if len(proxies) == 0 || !trusted(proxies, peer) {
		return peer
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			// A proxy we trust named no address ("unknown", an
			// obfuscated name): the client is unknown, count it as the
			// peer.
			return peer
		}
		if !trusted(proxies, a) || i == 0 {
			return a
		}
	}
	return peer
}

// forwardedFor lists the hops a request passed, client first: the
// X-Forwarded-For addresses when there are any, else Forwarded's for=.
// A proxy in front should set one of them and not pass the other on from
// the client (docs/protocol.md, "Limits").
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, f := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(f))
		}
	}
	if len(hops) > 0 {
		return hops
	}
	for _, v := range h.Values("Forwarded") {
		for _, elem := range strings.Split(v, ",") {
			hop := ""
			for _, pair := range strings.Split(elem, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(pair), "=")
				if strings.EqualFold(k, "for") {
					hop = strings.Trim(val, `"`)
				}
			}
			hops = append(hops, hop)
		}
	}
	return hops
}

// parseHop reads one hop: an address, with or without a port, an IPv6 one
// in brackets when it has a port (Forwarded writes "[2001:db8::1]:4711").
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// clientKey is what the per-client caps count by: the address, or for
// IPv6 its /64, which one host or household usually holds whole and could
// otherwise walk through address by address.
func clientKey(a netip.Addr) netip.Prefix {
	a, bits := a.Unmap(), 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}
