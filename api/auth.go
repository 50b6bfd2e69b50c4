package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/wire"
)

// TokenCookie is the cookie that may carry a subscriber's token, for
// deployments where the page and the gateway share a site.
const TokenCookie = "tickerd_token"

// authenticate verifies the token a request carries, if any, and puts its
// principal in the request's context for the handlers (and so the hub) to
// authorize by. A token that is not valid is refused at once, 401
// unauthorized or token_expired, whatever the request asks for: a client
// must not send garbage. With no Authenticator, tokens are not read.
func authenticate(a transport.Authenticator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if a == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, err := requestToken(r)
			if err == nil && token != "" {
				var p transport.Principal
				if p, err = a.Authenticate(r.Context(), token); err == nil {
					r = r.WithContext(transport.WithPrincipal(r.Context(), p))
				}
			}
			if err != nil {
				wire.WriteError(w, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// requestToken is the token a request carries: in Authorization: Bearer,
// else the token query parameter (EventSource and a browser's WebSocket
// cannot set headers), else the tickerd_token cookie; "" when none. The
// query is read raw, so a bad escape in it is refused rather than read as
// no token.
func requestToken(r *http.Request) (string, error) {
	if t := bearerToken(r); t != "" {
		return t, nil
	}
	if t, err := wire.QueryParam(r.URL.RawQuery, "token"); err != nil || t != "" {
		return t, err
	}
	if c, err := r.Cookie(TokenCookie); err == nil {
		return c.Value, nil
	}
	return "", nil
}

// bearerToken is the token of "Authorization: Bearer <token>"; "" when
// there is none. The scheme is case-insensitive (RFC 9110, section 11.1).
func bearerToken(r *http.Request) string {
	scheme, t, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(t)
}

// Access is the gateway's access rule, a transport.Authorizer: a pattern
// may be read when a public pattern or one the principal's token grants
// covers it (message.Covers). A wider pattern is refused, never narrowed
// to what is granted. Refused without a token: 401 unauthorized; with a
// valid token that does not grant it: 403 forbidden.
type Access struct {
	// Public are the patterns anyone may read, token or not.
	Public []string
}

// Authorize allows p to subscribe to patterns, or says why not.
func (a Access) Authorize(_ context.Context, p transport.Principal, patterns []string) error {
	if p.Token && !p.Expires.IsZero() && !time.Now().Before(p.Expires) {
		return wire.ErrTokenExpired
	}
	for _, pat := range patterns {
		if message.CoveredBy(a.Public, pat) || message.CoveredBy(p.Grants, pat) {
			continue
		}
		if !p.Token {
			return wire.ErrUnauthorized.With(fmt.Sprintf("%q is not public: present a token that grants it", pat))
		}
		return wire.ErrForbidden.With(fmt.Sprintf("the token does not grant %q", pat))
	}
	return nil
}

// mayPublish checks that the publisher may publish to every topic of
// updates: one with the static publish token may publish anything; one
// with a JWT, only topics its publish claim covers.
func mayPublish(p transport.Principal, updates []message.Update) error {
	if !p.Token {
		return nil // the static publish token
	}
	if len(p.Publish) == 0 {
		return wire.ErrForbidden.With(`the token grants no publishing (it has no "publish" claim)`)
	}
	for _, u := range updates {
		if !message.CoveredBy(p.Publish, u.Topic) {
			return wire.ErrForbidden.With(fmt.Sprintf("the token does not grant publishing to %q: nothing was published", u.Topic))
		}
	}
	return nil
}
