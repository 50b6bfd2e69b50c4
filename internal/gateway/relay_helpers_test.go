package gateway

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/time/rate"
)

// relay is a TCP relay in front of a gateway, on loopback: a real path the
// test can throttle (the gateway's socket backs up as it would on a slow
// link) or freeze (it stops forwarding both ways and closes nothing, as a
// NAT that lost its mapping).
type relay struct {
	addr   string
	down   *rate.Limiter // gateway to client; nil: unmetered
	frozen atomic.Bool
	thaw   chan struct{} // closed when the test ends: frozen is for good
	sent   atomic.Int64  // bytes passed to clients
}

// startRelay relays to target; downRate > 0 meters what reaches clients to
// that many bytes a second.
func startRelay(t *testing.T, target string, downRate int) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{addr: ln.Addr().String(), thaw: make(chan struct{})}
	if downRate > 0 {
		r.down = rate.NewLimiter(rate.Limit(downRate), 1024)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		close(r.thaw)
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); r.pipe(c, s, nil); c.Close(); s.Close() }()
			go func() { defer wg.Done(); r.pipe(s, c, r.down); c.Close(); s.Close() }()
		}
	}()
	return r
}

// freeze stops the relay forwarding, for good, closing nothing.
func (r *relay) freeze() { r.frozen.Store(true) }

// pipe copies from src to dst in chunks of at most 1 KiB, each waiting for
// lim when there is one; once frozen it stops reading and holds on.
func (r *relay) pipe(src, dst net.Conn, lim *rate.Limiter) {
	buf := make([]byte, 1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if lim != nil {
				if lim.WaitN(context.Background(), n) != nil {
					return
				}
			}
			if r.frozen.Load() {
				<-r.thaw
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			if lim != nil {
				r.sent.Add(int64(n))
			}
		}
		if err != nil {
			return
		}
	}
}
