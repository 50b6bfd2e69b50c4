package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
)

// Publisher stores updates in the stream, in order (stream.Stream). It
// returns the sequence of the last, and on error how many were stored.
type Publisher interface {
	PublishBatch(ctx context.Context, us []message.Update) (last uint64, n int, err error)
}

// New returns the gateway's HTTP handler.
func New(hub *transport.Hub, pub Publisher, opts Options) http.Handler {
	opts = opts.withDefaults()
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(logRequests(opts.Logger))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		transport.WriteError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.URL.Path)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		transport.WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
	})

	r.Get("/healthz", healthz)
	r.Get("/readyz", readyz(opts.Ready))
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{}))

	r.Route("/v1", func(r chi.Router) {
		if opts.WebSocket != nil {
			r.Method(http.MethodGet, "/ws", opts.WebSocket)
		}
		// What a browser reads cross-origin; publishing is for servers.
		r.Group(func(r chi.Router) {
			r.Use(allowOrigins(opts.AllowedOrigins))
			if opts.SSE != nil {
				r.Method(http.MethodGet, "/sse", opts.SSE)
			}
			if opts.Poll != nil {
				r.Method(http.MethodGet, "/poll", opts.Poll)
			}
			r.Method(http.MethodGet, "/snapshot", snapshot(hub))
			r.Method(http.MethodGet, "/topics", topics(hub))
			// Preflights end in the CORS middleware; the route must exist
			// for it to run.
			r.Options("/{endpoint:sse|poll|snapshot|topics}", func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			})
		})
		r.With(requireBearer(opts.PublishToken), limitBody(opts.MaxBody)).
			Method(http.MethodPost, "/publish", publish(pub, hub, opts.PublishTimeout))
	})
	if opts.Static != nil {
		r.Method(http.MethodGet, "/*", opts.Static)
		r.Method(http.MethodHead, "/*", opts.Static)
	}
	return r
}
