package api

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"

	"github.com/tickerd/tickerd/transport/wire"
)

// Conn is what the gateway's listener (internal/gateway) knows of a
// connection and the router's limits ask: the HTTP server puts it in each
// request's context with WithConn. Without one (a plain httptest server)
// no connection is over budget and the per-client caps count requests.
type Conn interface {
	// OverBudget reports that the connection was accepted past the
	// connection budget: it may reach the health endpoints only, and is
	// closed after one answer.
	OverBudget() bool
	// PeerCounted reports that the connection counts against its peer's
	// per-client cap already (Clients.AdmitConn).
	PeerCounted() bool
	// OnHijackedClose arranges for f to run once the connection closes, if
	// a handler has taken it over (hijacked), and reports whether it has.
	// A connection closed already runs f at once.
	OnHijackedClose(f func()) bool
}

type connKey struct{}

// WithConn is http.Server's ConnContext: it puts c in its requests'
// context when c is a Conn, or a TLS connection over one.
func WithConn(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if lc, ok := c.(Conn); ok {
		return context.WithValue(ctx, connKey{}, lc)
	}
	return ctx
}

func connFrom(ctx context.Context) Conn {
	c, _ := ctx.Value(connKey{}).(Conn)
	return c
}

// The operations endpoints: /healthz and /readyz answer on the public
// port past the connection budget, and on the admin listener (Admin) with
// /metrics.
const (
	pathHealthz = "/healthz"
	pathReadyz  = "/readyz"
	pathMetrics = "/metrics"
)

// IsOperations reports whether path is one of the public port's
// operations endpoints (/healthz, /readyz), which answer past the
// connection budget.
func IsOperations(path string) bool {
	switch path {
	case pathHealthz, pathReadyz:
		return true
	}
	return false
}

// overBudget closes a connection accepted past the budget after one
// answer, so that it never idles as a keep-alive. The listener lets such
// a connection in only for an operations endpoint; should another request
// come on it, it gets 503 overloaded. It runs before the request log, as
// a flood of refusals is worth one warning, not a line each.
func overBudget(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := connFrom(r.Context()); c == nil || !c.OverBudget() {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Connection", "close")
		if IsOperations(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		wire.WriteError(w, wire.ErrOverloaded)
	})
}

// limitURL answers a URL (path and query, as sent) longer than n bytes
// with 414 uri_too_long, before anything reads its query.
func limitURL(n int) func(http.Handler) http.Handler {
	tooLong := wire.ErrURITooLong.With(fmt.Sprintf("the URL is longer than %d bytes: ask for fewer topics", n))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.RequestURI) > n {
				wire.WriteError(w, tooLong)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
