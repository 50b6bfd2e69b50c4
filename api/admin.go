package api

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tickerd/tickerd/internal/profiles"
	"github.com/tickerd/tickerd/transport/wire"
)

// Admin returns the admin listener's handler (`tickerd serve
// --admin-addr`): /metrics, /healthz, /readyz and Go's profiles under
// /debug/pprof/. They show the process's internals, so they are kept off
// the public port, /healthz and /readyz apart, which a load balancer
// probes there too. Of opts it takes Ready and Gatherer.
func Admin(opts Options) http.Handler {
	opts = opts.withDefaults()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathHealthz, healthz)
	mux.Handle("GET "+pathReadyz, readyz(opts.Ready))
	mux.Handle("GET "+pathMetrics, promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))
	profiles.Register(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		wire.WriteError(w, wire.ErrNotFound.With("no such endpoint: "+r.URL.Path+" (the admin listener serves /metrics, /healthz, /readyz, /debug/pprof/)"))
	})
	return mux
}
