package transport

import (
	"context"
	"time"
)

// Principal is who a session or request acts for, as the gateway's
// authentication found it. The zero Principal is an anonymous subscriber.
type Principal struct {
	// Subject names the bearer (a token's "sub"); empty when anonymous.
	Subject string
	// Grants are the patterns the bearer was granted beyond the public
	// ones (a token's "topics" claim).
	Grants []string
	// Expires is when the token runs out (its "exp"): a session carrying
	// it ends then with wire.ErrTokenExpired, unless renewed. Zero: never.
	Expires time.Time
	// Token reports that a valid token was presented: a refusal is then
	// forbidden rather than unauthorized.
	Token bool
	// Publish are the patterns the bearer may publish to (a token's
	// "publish" claim); the publish endpoint reads them, the hub does not.
	Publish []string
}

// Authenticator verifies a token a client presents on an open connection
// (the WebSocket auth command), as the gateway's authentication middleware
// does a request's. It returns the token's principal, or an error of the
// contract's table: wire.ErrUnauthorized for a token that is not valid,
// wire.ErrTokenExpired for one past its exp. It may block briefly (to
// fetch a key it does not know yet), never past ctx.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// Authorizer decides whether a principal may subscribe to patterns. It is
// the seam for access rules: the hub asks it for every subscription, on
// every transport (the URL's topics and every subscribe command), and for
// every snapshot. It returns nil to allow, or an error of the contract's
// table (wire.ErrUnauthorized, wire.ErrForbidden), which reaches the
// subscriber as that error. It must not block on I/O: it runs before
// anything streams.
type Authorizer interface {
	Authorize(ctx context.Context, p Principal, patterns []string) error
}

// AuthorizerFunc is a function that is an Authorizer.
type AuthorizerFunc func(ctx context.Context, p Principal, patterns []string) error

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, p Principal, patterns []string) error {
	return f(ctx, p, patterns)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p: authentication middleware sets it,
// and the transports read it with PrincipalFrom when a subscriber connects.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal ctx carries; anonymous when none.
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}
