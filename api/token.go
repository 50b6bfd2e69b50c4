package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/wire"
)

// VerifierOptions configure the verification of subscriber and publisher
// tokens (JWT). Secret, JWKS or both must be set.
type VerifierOptions struct {
	// Secret is the HS256 shared secret, at least 32 bytes (RFC 7518
	// section 3.2: as long as the hash). It verifies tokens that name no
	// key ("kid"), with HS256 only.
	Secret string
	// JWKS is a file path or an http(s) URL of a JSON Web Key Set: RSA
	// keys verify RS256 tokens, EC P-256 keys ES256 (or what a key's own
	// "alg" says, when it fits the key), Ed25519 keys EdDSA; a token picks
	// its key by "kid". It is read again every Refresh, and when a token
	// names a kid it does not hold, at most once per MinRefresh.
	JWKS string
	// Audience and Issuer, when set, must be a token's "aud" (one of)
	// and "iss".
	Audience, Issuer string
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 0: a
	// token is refused from the second of its exp, as live streams end
	// then; keep the clocks in time (NTP).
	Leeway time.Duration
	// Refresh is how often the JWKS is read again. Default 5m.
	Refresh time.Duration
	// MinRefresh is the least time between two reads of the JWKS, so that
	// tokens naming unknown keys cannot make the gateway fetch it at
	// will. Default 10s.
	MinRefresh time.Duration
	// Client fetches a JWKS URL. Default: one with a 10 s timeout.
	Client *http.Client
	// Logger is told of failed refreshes. Default slog.Default().
	Logger *slog.Logger
}

// Defaults of VerifierOptions.
const (
	DefaultJWKSRefresh    = 5 * time.Minute
	DefaultJWKSMinRefresh = 10 * time.Second
	minSecret             = 32
)

// Configured reports whether any token verification is configured.
func (o VerifierOptions) Configured() bool { return o.Secret != "" || o.JWKS != "" }

// Claims are what a verified token says of its bearer.
type Claims struct {
	Subject string
	// Expiry is the token's exp, which every token has.
	Expiry time.Time
	// Topics are the patterns the bearer may subscribe to; Publish the
	// patterns it may publish to. Both are validated and de-duplicated.
	Topics, Publish []string
}

// jwtClaims is a token's payload as it is sent.
type jwtClaims struct {
	jwt.RegisteredClaims
	Topics  []string `json:"topics"`
	Publish []string `json:"publish"`
}

// key verifies the tokens that pick it, with one algorithm only: its
// parser takes no other, and its keyfunc refuses any other.
type key struct {
	alg    string
	pub    any
	parser *jwt.Parser
}

// Verifier verifies tokens: HS256 with a shared secret, and RS256, ES256
// or EdDSA with the keys of a JWKS it keeps fresh. The signature is
// checked before any claim, by golang-jwt/jwt; an HMAC in constant time.
// It is a transport.Authenticator. Create it with NewVerifier; Run keeps
// its JWKS fresh.
type Verifier struct {
	opts   VerifierOptions
	parse  []jwt.ParserOption
	secret *key
	keys   atomic.Pointer[keySet]

	fetchMu   sync.Mutex // one JWKS read at a time
	lastFetch time.Time  // guarded by fetchMu
}

// NewVerifier checks opts and reads the JWKS once: a gateway whose keys
// cannot be read does not start.
func NewVerifier(ctx context.Context, opts VerifierOptions) (*Verifier, error) {
	if !opts.Configured() {
		return nil, errors.New("neither a JWT secret nor a JWKS is given")
	}
	if opts.Secret != "" && len(opts.Secret) < minSecret {
		return nil, fmt.Errorf("the JWT secret is %d bytes; HS256 needs at least %d", len(opts.Secret), minSecret)
	}
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultJWKSRefresh
	}
	if opts.MinRefresh <= 0 {
		opts.MinRefresh = DefaultJWKSMinRefresh
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	v := &Verifier{opts: opts}
	v.parse = []jwt.ParserOption{jwt.WithExpirationRequired(), jwt.WithLeeway(opts.Leeway)}
	if opts.Audience != "" {
		v.parse = append(v.parse, jwt.WithAudience(opts.Audience))
	}
	if opts.Issuer != "" {
		v.parse = append(v.parse, jwt.WithIssuer(opts.Issuer))
	}
	if opts.Secret != "" {
		v.secret = v.newKey(jwt.SigningMethodHS256.Alg(), []byte(opts.Secret))
	}
	v.keys.Store(&keySet{})
	if opts.JWKS != "" {
		set, err := v.fetch(ctx)
		if err != nil {
			return nil, err
		}
		v.keys.Store(set)
		v.lastFetch = time.Now()
	}
	return v, nil
}

func (v *Verifier) newKey(alg string, pub any) *key {
	opts := append([]jwt.ParserOption{jwt.WithValidMethods([]string{alg})}, v.parse...)
	return &key{alg: alg, pub: pub, parser: jwt.NewParser(opts...)}
}

// Run reads the JWKS again every Refresh until ctx ends; a failed read
// keeps the keys held and is logged.
func (v *Verifier) Run(ctx context.Context) {
	if v.opts.JWKS == "" {
		return
	}
	t := time.NewTicker(v.opts.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			v.refresh(ctx, 0)
		}
	}
}

// refresh reads the JWKS unless it was read within minGap, and keeps the
// keys held when the read fails.
func (v *Verifier) refresh(ctx context.Context, minGap time.Duration) {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	if time.Since(v.lastFetch) < minGap {
		return
	}
	v.lastFetch = time.Now()
	set, err := v.fetch(ctx)
	if err != nil {
		v.opts.Logger.Warn("JWKS refresh failed; keeping the keys held", "jwks", v.opts.JWKS, "err", err)
		return
	}
	v.keys.Store(set)
}

// Authenticate verifies token and returns its principal.
func (v *Verifier) Authenticate(ctx context.Context, token string) (transport.Principal, error) {
	c, err := v.Verify(ctx, token)
	if err != nil {
		return transport.Principal{}, err
	}
	return transport.Principal{Subject: c.Subject, Grants: c.Topics, Expires: c.Expiry, Token: true, Publish: c.Publish}, nil
}

// Verify checks token's signature with the key it names, then its claims.
// Its error is wire.ErrTokenExpired for a token past its exp, and
// wire.ErrUnauthorized, saying why, for any other fault.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	if len(token) > wire.MaxToken {
		return Claims{}, wire.ErrUnauthorized.With(fmt.Sprintf("the token is longer than %d bytes", wire.MaxToken))
	}
	kid, err := keyID(token)
	if err != nil {
		return Claims{}, err
	}
	k, err := v.keyFor(ctx, kid)
	if err != nil {
		return Claims{}, err
	}
	var jc jwtClaims
	_, err = k.parser.ParseWithClaims(token, &jc, func(t *jwt.Token) (any, error) {
		if t.Method.Alg() != k.alg { // the parser refuses it already; never trust one check
			return nil, fmt.Errorf("the key takes %s, not %s", k.alg, t.Method.Alg())
		}
		return k.pub, nil
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, wire.ErrTokenExpired
	case err != nil:
		return Claims{}, wire.ErrUnauthorized.With("invalid token: " + err.Error())
	}
	c := Claims{Subject: jc.Subject, Expiry: jc.ExpiresAt.Time}
	if c.Topics, err = message.CleanPatterns(jc.Topics); err != nil {
		return Claims{}, wire.ErrUnauthorized.With(`invalid token: "topics": ` + err.Error())
	}
	if c.Publish, err = message.CleanPatterns(jc.Publish); err != nil {
		return Claims{}, wire.ErrUnauthorized.With(`invalid token: "publish": ` + err.Error())
	}
	return c, nil
}

// keyID reads the "kid" of a token's header, before anything is
// verified, to pick the key that verifies it.
func keyID(token string) (string, error) {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return "", wire.ErrUnauthorized.With("invalid token: not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	var h struct {
		KID string `json:"kid"`
	}
	if err != nil || json.Unmarshal(b, &h) != nil {
		return "", wire.ErrUnauthorized.With("invalid token: its header cannot be read")
	}
	return h.KID, nil
}

// keyFor picks the key of kid: the secret for a token that names none
// (or, with no secret, a JWKS's only key); a JWKS key by its kid, reading
// the JWKS again for one it does not hold, at most once per MinRefresh
// (keys rotate); the secret again when there is no JWKS.
func (v *Verifier) keyFor(ctx context.Context, kid string) (*key, error) {
	set := v.keys.Load()
	switch {
	case kid == "" && v.secret != nil:
		return v.secret, nil
	case kid == "" && set.only != nil:
		return set.only, nil
	case kid == "":
		return nil, wire.ErrUnauthorized.With(`invalid token: it names no key ("kid")`)
	case v.opts.JWKS == "":
		return v.secret, nil
	}
	if k := set.byKID[kid]; k != nil {
		return k, nil
	}
	v.refresh(ctx, v.opts.MinRefresh)
	if k := v.keys.Load().byKID[kid]; k != nil {
		return k, nil
	}
	return nil, wire.ErrUnauthorized.With("invalid token: unknown key " + quoteShort(kid))
}

func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
