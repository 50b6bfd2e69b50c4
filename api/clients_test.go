package api

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tickerd/tickerd/transport/wire"
)

func TestClientsCapConnections(t *testing.T) {
	proxies, _ := ParseProxies("10.0.0.0/8")
	c := NewClients(ClientLimits{MaxConns: 2, ConnRate: -1, TrustedProxies: proxies})
	a := netip.MustParseAddr("192.0.2.1")
	var releases []func()
	for range 2 {
		r, err := c.AdmitConn(a)
		if err != nil || r == nil {
			t.Fatalf("admit: %v", err)
		}
		releases = append(releases, r)
	}
	if _, err := c.AdmitConn(a); !errors.Is(err, wire.ErrRateLimited) {
		t.Fatalf("third connection: %v, want rate_limited", err)
	}
	if r, err := c.AdmitConn(netip.MustParseAddr("192.0.2.2")); err != nil || r == nil {
		t.Fatalf("another client: %v", err)
	}
	releases[0]()
	if _, err := c.AdmitConn(a); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	// A trusted proxy's connections are not counted: its clients are.
	for range 10 {
		if r, err := c.AdmitConn(netip.MustParseAddr("10.1.2.3")); r != nil || err != nil {
			t.Fatalf("proxy counted: %v", err)
		}
	}
	// One IPv6 /64 is one client.
	for i, s := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:2::3"} {
		_, err := c.AdmitConn(netip.MustParseAddr(s))
		if (i < 2) != (err == nil) {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if _, err := c.AdmitConn(netip.MustParseAddr("2001:db8:1:3::1")); err != nil {
		t.Fatalf("the next /64: %v", err)
	}
	// Off: nothing counted.
	off := NewClients(ClientLimits{MaxConns: -1, ConnRate: -1})
	if r, err := off.AdmitConn(a); r != nil || err != nil || off.size() != 0 {
		t.Fatalf("cap off: counted (%v) %v", r != nil, err)
	}
}

func TestClientsRate(t *testing.T) {
	c := NewClients(ClientLimits{MaxConns: -1, ConnRate: 10})
	key := clientKey(netip.MustParseAddr("192.0.2.1"))
	now := time.Now()
	for i := range 10 { // the burst: a second's worth
		if err := c.allow(key, now); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if err := c.allow(key, now); !errors.Is(err, wire.ErrRateLimited) {
		t.Fatalf("past the burst: %v", err)
	}
	if err := c.allow(clientKey(netip.MustParseAddr("192.0.2.2")), now); err != nil {
		t.Fatalf("another client: %v", err)
	}
	if err := c.allow(key, now.Add(100*time.Millisecond)); err != nil {
		t.Fatalf("a tenth of a second later: %v", err)
	}
	// The bucket is as deep as the connection cap, when that is more.
	if c := NewClients(ClientLimits{MaxConns: 30, ConnRate: 10}); c.burst != 30 {
		t.Errorf("burst %d, want 30", c.burst)
	}
	// Under one a second, Retry-After says how long a token takes.
	if c := NewClients(ClientLimits{ConnRate: 0.25}); c.retryAfter != "4" {
		t.Errorf("Retry-After %q, want 4", c.retryAfter)
	}
}

// However many clients come, the table holds those with connections open
// and a bounded number of idle ones; a client holding connections keeps
// its count, and one that used up its rate stays limited while fewer than
// the bound come.
func TestClientsTableBounded(t *testing.T) {
	c := NewClients(ClientLimits{MaxConns: 2, ConnRate: 1})
	now := time.Now()
	holder := netip.MustParseAddr("198.51.100.1")
	for range 2 {
		if _, err := c.acquire(clientKey(holder), now); err != nil {
			t.Fatal(err)
		}
	}
	greedy := clientKey(netip.MustParseAddr("198.51.100.2"))
	for c.allow(greedy, now) == nil {
	}

	addr := func(i int) netip.Prefix {
		return clientKey(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	bounded := func(i int) {
		t.Helper()
		if n := c.size(); n > maxIdleClients+2 {
			t.Fatalf("%d clients held after %d came", n, i)
		}
	}
	// Clients that come and go with their buckets full are forgotten at
	// the sweeps; the greedy client's empty bucket is remembered.
	for i := range 3 * maxIdleClients {
		release, err := c.acquire(addr(i), now)
		if err != nil {
			t.Fatal(err)
		}
		release()
		bounded(i)
	}
	if err := c.allow(greedy, now); err == nil {
		t.Error("the greedy client's rate was forgotten")
	}

	// A flood of clients that each spend from their bucket within one
	// refill: the idle ones' rates are forgotten, memory stays bounded.
	for i := range 3 * maxIdleClients {
		_ = c.allow(addr(i), now)
		bounded(i)
	}
	if _, err := c.acquire(clientKey(holder), now); err == nil {
		t.Error("the holder's connections were forgotten")
	}
}
