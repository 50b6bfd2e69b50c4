package api

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tickerd/tickerd/transport/wire"
)

// ClientLimits bound what one client may take of a gateway: one IP
// address, or for IPv6 one /64. Zero fields take the defaults; a negative
// cap is off.
type ClientLimits struct {
	// MaxConns caps the connections one client holds at once: its TCP
	// connections to the gateway, or through a trusted proxy its requests
	// in flight, a WebSocket or SSE stream counted until it ends. Past it
	// a new connection or request gets 429 rate_limited. Default 256: a
	// browser holds one stream however many of its tabs show the ticker
	// (they share it), so this lets an office of a couple of hundred
	// browsers behind one NAT address in, while one machine still takes no
	// more than that of the gateway's connection budget.
	MaxConns int
	// ConnRate caps the requests per second one client makes to the
	// subscription endpoints, the snapshot and the topic list, in a token
	// bucket as deep as MaxConns (or one second's worth, if more), so that
	// such an office reconnects at once after a gateway restarts. Past it,
	// 429 rate_limited. Default 50: a browser opens its stream once and
	// reconnects seldom; one that long-polls asks about once per batch of
	// updates.
	ConnRate float64
	// TrustedProxies are the proxies (nginx, HAProxy, a load balancer)
	// whose X-Forwarded-For or Forwarded header names the client. Empty
	// trusts none: the client is the connection's peer, whatever the
	// headers say.
	TrustedProxies []netip.Prefix
}

// Defaults of ClientLimits, which the serve command's flags show too.
const (
	DefaultMaxConnsPerIP = 256
	DefaultConnRatePerIP = 50
)

func (l ClientLimits) withDefaults() ClientLimits {
	if l.MaxConns == 0 {
		l.MaxConns = DefaultMaxConnsPerIP
	}
	if l.ConnRate == 0 {
		l.ConnRate = DefaultConnRatePerIP
	}
	return l
}

// maxIdleClients bounds the clients remembered for their rate alone, with
// no connection open: past it the table forgets those whose bucket has
// refilled, then, if as many came within one refill, every idle one.
const maxIdleClients = 1 << 16

// Clients holds the per-client caps and the table that counts each
// client's connections and requests. The listener counts TCP connections
// in it (AdmitConn), the router requests (limit). Its memory is bounded:
// a client is in it while it holds a connection, and afterwards at most
// until its bucket refills or maxIdleClients others come.
type Clients struct {
	limits     ClientLimits
	burst      int
	tooMany    error
	tooFast    error
	retryAfter string // for tooFast, when a token takes over a second

	mu      sync.Mutex
	m       map[netip.Prefix]*client
	sweepAt int
}

type client struct {
	conns int
	rate  *rate.Limiter // nil when the rate is off
}

// NewClients makes the table for limits.
func NewClients(limits ClientLimits) *Clients {
	l := limits.withDefaults()
	c := &Clients{limits: l, m: map[netip.Prefix]*client{}, sweepAt: maxIdleClients}
	c.burst = max(int(math.Ceil(min(l.ConnRate, 1<<20))), l.MaxConns, 1)
	c.tooMany = wire.ErrRateLimited.With(fmt.Sprintf("this client holds %d connections, as many as it may", l.MaxConns))
	c.tooFast = wire.ErrRateLimited.With(fmt.Sprintf("this client connects more often than %g times a second", l.ConnRate))
	if l.ConnRate > 0 && l.ConnRate < 1 {
		c.retryAfter = strconv.Itoa(int(math.Ceil(1 / l.ConnRate)))
	}
	return c
}

// AdmitConn counts a new TCP connection from peer against its cap. It
// returns the release to call when the connection closes, or nil when it
// does not count it: the peer is a trusted proxy (its requests are
// counted by client instead) or the cap is off. At the cap it returns the
// error to answer with.
func (c *Clients) AdmitConn(peer netip.Addr) (release func(), err error) {
	if c.limits.MaxConns < 0 || !peer.IsValid() || trusted(c.limits.TrustedProxies, peer) {
		return nil, nil
	}
	return c.acquire(clientKey(peer), time.Now())
}

// acquire takes one of key's connections.
func (c *Clients) acquire(key netip.Prefix, now time.Time) (release func(), err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entry(key, now)
	if e.conns >= c.limits.MaxConns {
		return nil, c.tooMany
	}
	e.conns++
	return func() { c.release(key) }, nil
}

func (c *Clients) release(key netip.Prefix) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[key]
	if e.conns--; e.conns == 0 && e.rate == nil {
		delete(c.m, key)
	}
}

// allow takes a token of key's bucket.
func (c *Clients) allow(key netip.Prefix, now time.Time) error {
	if c.limits.ConnRate < 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.entry(key, now).rate.AllowN(now, 1) {
		return c.tooFast
	}
	return nil
}

// entry finds or makes key's entry. c.mu is held.
func (c *Clients) entry(key netip.Prefix, now time.Time) *client {
	if e := c.m[key]; e != nil {
		return e
	}
	if len(c.m) >= c.sweepAt {
		c.sweep(now)
	}
	e := &client{}
	if c.limits.ConnRate > 0 {
		e.rate = rate.NewLimiter(rate.Limit(c.limits.ConnRate), c.burst)
	}
	c.m[key] = e
	return e
}

// sweep forgets idle clients. It runs once per maxIdleClients/2 new ones,
// so its cost is a constant per client however many there are.
func (c *Clients) sweep(now time.Time) {
	idle := 0
	for k, e := range c.m {
		switch {
		case e.conns > 0:
		case e.rate == nil || e.rate.TokensAt(now) >= float64(c.burst):
			delete(c.m, k) // a new entry would be the same
		default:
			idle++
		}
	}
	if idle > maxIdleClients/2 {
		// That many clients within one refill: forgetting their rate is
		// lenient, but memory stays bounded.
		for k, e := range c.m {
			if e.conns == 0 {
				delete(c.m, k)
			}
		}
	}
	c.sweepAt = len(c.m) + maxIdleClients/2
}

// size is how many clients the table holds.
func (c *Clients) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// limit applies the per-client caps to a request: the rate always, the
// concurrency unless the listener counts the request's connection
// already. A request whose handler takes its connection over (WebSocket,
// SSE) holds its place until that connection closes.
func (c *Clients) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := clientIP(r, c.limits.TrustedProxies)
		if !ip.IsValid() {
			next.ServeHTTP(w, r)
			return
		}
		key, now := clientKey(ip), time.Now()
		if err := c.allow(key, now); err != nil {
			if c.retryAfter != "" {
				w.Header().Set("Retry-After", c.retryAfter)
			}
			wire.WriteError(w, err)
			return
		}
		conn := connFrom(r.Context())
		if c.limits.MaxConns < 0 || (conn != nil && conn.PeerCounted()) {
			next.ServeHTTP(w, r)
			return
		}
		release, err := c.acquire(key, now)
		if err != nil {
			wire.WriteError(w, err)
			return
		}
		hijacked := false
		defer func() {
			if !hijacked {
				release()
			}
		}()
		next.ServeHTTP(w, r)
		hijacked = conn != nil && conn.OnHijackedClose(release)
	})
}
