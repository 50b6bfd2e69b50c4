package api

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestParseProxies(t *testing.T) {
	ps, err := ParseProxies(" 10.0.0.0/8, 127.0.0.1 ,fd00::/8,,::ffff:192.0.2.1, 192.168.1.7/16")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "127.0.0.1/32", "fd00::/8", "192.0.2.1/32", "192.168.0.0/16"}
	if len(ps) != len(want) {
		t.Fatalf("got %v, want %v", ps, want)
	}
	for i, p := range ps {
		if p.String() != want[i] {
			t.Errorf("proxy %d: %s, want %s", i, p, want[i])
		}
	}
	if ps, err := ParseProxies(""); err != nil || len(ps) != 0 {
		t.Errorf("empty: %v %v", ps, err)
	}
	for _, bad := range []string{"nginx", "10.0.0.0/33", "10.0.0.0/8,1.2.3"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestClientIP(t *testing.T) {
	proxies, _ := ParseProxies("10.0.0.0/8,2001:db8:ffff::/48")
	for _, tc := range []struct {
		name, peer string
		proxies    bool
		header     http.Header
		want       string
	}{
		{name: "no proxies trusted: headers ignored", peer: "10.1.1.1:5000", header: http.Header{"X-Forwarded-For": {"198.51.100.9"}}, want: "10.1.1.1"},
		{name: "untrusted peer: headers ignored", peer: "192.0.2.5:5000", proxies: true, header: http.Header{"X-Forwarded-For": {"198.51.100.9"}, "Forwarded": {"for=198.51.100.10"}}, want: "192.0.2.5"},
		{name: "trusted peer, one hop", peer: "10.1.1.1:5000", proxies: true, header: http.Header{"X-Forwarded-For": {"198.51.100.9"}}, want: "198.51.100.9"},
		{name: "forged left of the real client", peer: "10.1.1.1:5000", proxies: true, header: http.Header{"X-Forwarded-For": {"203.0.113.1, 198.51.100.9"}}, want: "198.51.100.9"},
		{name: "chain of trusted proxies", peer: "10.1.1.1:5000", proxies: true, header: http.Header{"X-Forwarded-For": {"203.0.113.1, 198.51.100.9", "10.2.2.2,10.3.3.3"}}, want: "198.51.100.9"},
		{name: "every hop trusted: the first", peer: "10.1.1.1:5000", proxies: true, header: http.Header{"X-Forwarded-For": {"10.9.9.9, 10.2.2.2"}}, want: "10.9.9.9"},
		{name: "hop with a port", peer: "10.1.1.1:5000", proxies: true, header: http.Header{"X-Forwarded-For": {"198.51.100.9:4711"}}, want: "198.51.100.9"},
		{name: "no header: the proxy", peer: "10.1.1.1:5000", proxies: true, want: "10.1.1.1"},
		{name: "garbage hop: the proxy", peer: "10.1.1.1:5000", proxies: true, header: http.Header{"X-Forwarded-For": {"198.51.100.9, unknown"}}, want: "10.1.1.1"},
		{name: "Forwarded", peer: "10.1.1.1:5000", proxies: true, header: http.Header{"Forwarded": {`for=203.0.113.1, For="[2001:db8:cafe::17]:4711";proto=https, for=10.2.2.2;by=10.0.0.1`}}, want: "2001:db8:cafe::17"},
		{name: "Forwarded unknown", peer: "10.1.1.1:5000", proxies: true, header: http.Header{"Forwarded": {"for=unknown"}}, want: "10.1.1.1"},
		{name: "X-Forwarded-For wins over Forwarded", peer: "10.1.1.1:5000", proxies: true, header: http.Header{"Forwarded": {"for=203.0.113.1"}, "X-Forwarded-For": {"198.51.100.9"}}, want: "198.51.100.9"},
		{name: "IPv6 peer trusted", peer: "[2001:db8:ffff::1]:443", proxies: true, header: http.Header{"X-Forwarded-For": {"::ffff:198.51.100.9"}}, want: "198.51.100.9"},
		{name: "IPv4-mapped peer", peer: "[::ffff:192.0.2.5]:80", want: "192.0.2.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.peer, Header: tc.header}
			var ps []netip.Prefix
			if tc.proxies {
				ps = proxies
			}
			if got := clientIP(r, ps); got.String() != tc.want {
				t.Errorf("clientIP = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestClientKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.5":               "192.0.2.5/32",
		"2001:db8:cafe:1:2:3:4:5": "2001:db8:cafe:1::/64",
		"2001:db8:cafe:1:ffff::9": "2001:db8:cafe:1::/64",
		"2001:db8:cafe:2::1":      "2001:db8:cafe:2::/64",
		"fe80::1%eth0":            "fe80::/64",
		"::ffff:192.0.2.5":        "192.0.2.5/32",
	} {
		a := netip.MustParseAddr(addr)
		if got := clientKey(a).String(); got != want {
			t.Errorf("clientKey(%s) = %s, want %s", addr, got, want)
		}
	}
}
