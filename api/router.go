package api

import (
	"context"
	"net/http"
	"path"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/wire"
)

// Publisher stores updates in the stream, in order (stream.Stream.Store).
// It returns the highest sequence stored, how many updates were stored (on
// error, the first n), and how many of those were duplicates of updates
// stored before (by ID), not stored again.
type Publisher interface {
	Store(ctx context.Context, us []message.Update) (last uint64, n, dup int, err error)
}

// New returns the gateway's HTTP handler.
func New(hub *transport.Hub, pub Publisher, opts Options) http.Handler {
	opts = opts.withDefaults()
	r := chi.NewRouter()
	r.Use(overBudget)
	r.Use(middleware.Recoverer)
	r.Use(logRequests(opts.Logger))
	r.Use(limitURL(opts.MaxURL))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		wire.WriteError(w, wire.ErrNotFound.With("no such endpoint: "+r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		wire.WriteError(w, wire.ErrMethodNotAllowed.With(r.Method+" is not allowed on "+r.URL.Path))
	})

	r.Get(pathHealthz, healthz)
	r.Get(pathReadyz, readyz(opts.Ready))

	org := newOrigins(opts.AllowedOrigins)
	r.Route("/v1", func(r chi.Router) {
		r.Use(org.credentials)
		// What a browser reads cross-origin; publishing is for servers.
		cross := []string{"snapshot", "topics"}
		r.Group(func(r chi.Router) {
			// After CORS, so that a browser can read a 429.
			// Tokens are read after the limits, which cost less.
			r.Use(org.cors(), opts.Clients.limit, authenticate(opts.Authenticator))
			for _, e := range opts.Transports {
				if e.CrossOrigin {
					r.Method(http.MethodGet, strings.TrimPrefix(e.Path, "/v1"), e.Handler)
					cross = append(cross, path.Base(e.Path))
				}
			}
			r.Method(http.MethodGet, "/snapshot", snapshot(hub))
			r.Method(http.MethodGet, "/topics", topics(hub))
			// Preflights end in the CORS middleware; the route must exist
			// for it to run.
			r.Options("/{endpoint:"+strings.Join(cross, "|")+"}", func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			})
		})
		r.Group(func(r chi.Router) {
			r.Use(opts.Clients.limit, authenticate(opts.Authenticator))
			for _, e := range opts.Transports {
				if !e.CrossOrigin {
					r.Method(http.MethodGet, strings.TrimPrefix(e.Path, "/v1"), e.Handler)
				}
			}
		})
		r.With(requireBearer(opts.PublishToken, opts.Authenticator), limitBody(opts.MaxBody)).
			Method(http.MethodPost, "/publish", publish(pub, hub, opts.PublishTimeout))
	})
	if opts.Static != nil {
		r.Method(http.MethodGet, "/*", opts.Static)
		r.Method(http.MethodHead, "/*", opts.Static)
	}
	return r
}
