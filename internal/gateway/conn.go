package gateway

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tickerd/tickerd/transport/wire"
)

// conn is a connection the edge admitted. It stays counted until it
// closes, taken over by a WebSocket or SSE handler or not.
type conn struct {
	net.Conn
	e        *edge
	deadline time.Time // past the budget: every read ends by then
	release  func()    // its place in its client's cap; nil if it has none
	pending  []byte    // what triage read, for the server to read first
	hijacked atomic.Bool

	mu      sync.Mutex
	closed  bool
	onClose func()
}

func (c *conn) OverBudget() bool  { return !c.deadline.IsZero() }
func (c *conn) PeerCounted() bool { return c.release != nil }

func (c *conn) OnHijackedClose(f func()) bool {
	if !c.hijacked.Load() {
		return false
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		f()
		return true
	}
	c.onClose = f
	c.mu.Unlock()
	return true
}

func (c *conn) Read(b []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(b, c.pending)
		if c.pending = c.pending[n:]; len(c.pending) == 0 {
			c.pending = nil
		}
		return n, nil
	}
	return c.Conn.Read(b)
}

// Close closes the connection and, the first time, gives its places back.
func (c *conn) Close() error {
	err := c.Conn.Close()
	c.mu.Lock()
	first, f := !c.closed, c.onClose
	c.closed, c.onClose = true, nil
	c.mu.Unlock()
	if !first {
		return err
	}
	if c.OverBudget() {
		c.e.reserve.Add(-1)
	} else {
		c.e.open.Add(-1)
	}
	if c.release != nil {
		c.release()
	}
	if f != nil {
		f()
	}
	return err
}

// SyscallConn is the socket's, so that a handler that took the connection
// over may write to it without blocking (transport/ws does).
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

// SetReadDeadline keeps a connection past the budget to its deadline,
// which net/http would otherwise extend to ReadHeaderTimeout.
func (c *conn) SetReadDeadline(t time.Time) error {
	if c.OverBudget() && (t.IsZero() || t.After(c.deadline)) {
		t = c.deadline
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// trackHijack is http.Server's ConnState: it marks a connection a handler
// has taken over, which then keeps its client's place until it closes.
func trackHijack(nc net.Conn, s http.ConnState) {
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if c, ok := nc.(*conn); ok && s == http.StateHijacked {
		c.hijacked.Store(true)
	}
}

// turnAway writes resp to a connection just accepted and closes it,
// without waiting: one write, which its empty send buffer takes whole,
// then a read of whatever else the client has sent, so that the close
// sends a FIN after the answer rather than a reset that could destroy it.
func turnAway(nc net.Conn, resp []byte) {
	defer nc.Close()
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Write(func(fd uintptr) bool {
		_, _ = syscall.Write(int(fd), resp)
		return true
	})
	_ = rc.Read(func(fd uintptr) bool {
		var buf [4096]byte
		for range 16 {
			if n, err := syscall.Read(int(fd), buf[:]); n <= 0 || err != nil {
				break
			}
		}
		return true
	})
}

// canned is err's HTTP answer as wire.WriteError writes it, for a
// connection with no HTTP server behind it.
func canned(err error) []byte {
	rec := &recorder{header: http.Header{}}
	wire.WriteError(rec, err)
	rec.header.Set("Connection", "close")
	rec.header.Set("Content-Length", strconv.Itoa(rec.body.Len()))
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", rec.status, http.StatusText(rec.status))
	_ = rec.header.Write(&b)
	b.WriteString("\r\n")
	b.Write(rec.body.Bytes())
	return b.Bytes()
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
