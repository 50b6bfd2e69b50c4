package api

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/cors"

	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/wire"
)

var errPublishToken = wire.ErrUnauthorized.With("publishing needs Authorization: Bearer <publish token>")

// requireBearer refuses requests without "Authorization: Bearer <token>",
// token being the static publish token (compared in constant time) or,
// when a is set, a JWT it verifies: the JWT's principal then goes in the
// request's context, for the publish handler to hold the body to its
// publish claim.
func requireBearer(token string, a transport.Authenticator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got := bearerToken(r)
			if token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1 {
				next.ServeHTTP(w, r)
				return
			}
			if a == nil || got == "" {
				wire.WriteError(w, errPublishToken)
				return
			}
			p, err := a.Authenticate(r.Context(), got)
			if err != nil {
				wire.WriteError(w, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(transport.WithPrincipal(r.Context(), p)))
		})
	}
}

// limitBody bounds the request body; the handler sees a
// *http.MaxBytesError when a body is larger.
func limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				wire.WriteError(w, wire.ErrTooLarge)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// logRequests logs each request when it ends, at debug level for success
// so a busy gateway's log holds what matters.
func logRequests(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			start := time.Now()
			next.ServeHTTP(ww, r)
			level := slog.LevelDebug
			if ww.Status() >= 500 {
				level = slog.LevelWarn
			}
			log.Log(r.Context(), level, "http", "method", r.Method, "path", r.URL.Path,
				"status", ww.Status(), "bytes", ww.BytesWritten(), "dur", time.Since(start))
		})
	}
}

// allowOrigins answers CORS preflights and marks responses readable by the
// allowed origins (any, when none are listed). Cookies are never involved.
func allowOrigins(origins []string) func(http.Handler) http.Handler {
	if len(origins) == 0 {
		origins = []string{"*"}
	}
	return cors.Handler(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodOptions},
		AllowedHeaders: []string{"Last-Event-ID", "Cache-Control", "Content-Type", "Authorization"},
		MaxAge:         600,
	})
}
