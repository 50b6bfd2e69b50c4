// Package profiles serves Go's runtime profiles (net/http/pprof) on a
// listener of their own, never on the public one, since they show the
// process's internals. The gateway's admin listener (`tickerd serve
// --admin-addr`) and the bench's in-process server use it.
package profiles

import (
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Register adds /debug/pprof/ and its pages to mux.
func Register(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

// Serve serves /debug/pprof/ on addr (bind it to loopback) until stop is
// called. It returns the address it listens on, for addr's port 0.
func Serve(addr string) (stop func(), bound string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	mux := http.NewServeMux()
	Register(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close() }, ln.Addr().String(), nil
}
