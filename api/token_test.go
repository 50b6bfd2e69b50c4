package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/wire"
)

const secret = "api-test-secret-0123456789abcdef"

func mint(t *testing.T, c jwt.MapClaims, m jwt.SigningMethod, key any, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifier(t *testing.T, o api.VerifierOptions) *api.Verifier {
	t.Helper()
	o.Logger = quiet
	v, err := api.NewVerifier(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return wire.Lookup(err).Code
}

func TestVerifierClaims(t *testing.T) {
	v := verifier(t, api.VerifierOptions{Secret: secret, Audience: "tickerd", Issuer: "https://site.example"})
	now := time.Now()
	good := jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix(), "aud": []string{"other", "tickerd"},
		"iss": "https://site.example", "topics": []string{"stocks.*", "stocks.*"}, "publish": []string{"x.>"}}
	c, err := v.Verify(context.Background(), mint(t, good, jwt.SigningMethodHS256, []byte(secret), ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.Expiry.Unix() != now.Add(time.Hour).Unix() ||
		strings.Join(c.Topics, ",") != "stocks.*" || strings.Join(c.Publish, ",") != "x.>" {
		t.Errorf("claims %+v", c)
	}
	with := func(k string, val any) jwt.MapClaims {
		m := jwt.MapClaims{}
		for k, v := range good {
			m[k] = v
		}
		if val == nil {
			delete(m, k)
		} else {
			m[k] = val
		}
		return m
	}
	for name, tt := range map[string]struct {
		claims jwt.MapClaims
		code   string
	}{
		"expired":           {with("exp", now.Add(-time.Second).Unix()), "token_expired"},
		"no exp":            {with("exp", nil), "unauthorized"},
		"nbf in the future": {with("nbf", now.Add(time.Minute).Unix()), "unauthorized"},
		"wrong aud":         {with("aud", "other"), "unauthorized"},
		"no aud":            {with("aud", nil), "unauthorized"},
		"wrong iss":         {with("iss", "https://evil.example"), "unauthorized"},
		"topics not a list": {with("topics", "stocks.*"), "unauthorized"},
		"bad pattern":       {with("topics", []string{"a.>.b"}), "unauthorized"},
		"bad publish":       {with("publish", []string{"a b"}), "unauthorized"},
	} {
		_, err := v.Verify(context.Background(), mint(t, tt.claims, jwt.SigningMethodHS256, []byte(secret), ""))
		if code(err) != tt.code {
			t.Errorf("%s: %v (%s), want %s", name, err, code(err), tt.code)
		}
	}
	// HS384 with the same secret: the secret takes HS256 only.
	if _, err := v.Verify(context.Background(), mint(t, good, jwt.SigningMethodHS384, []byte(secret), "")); code(err) != "unauthorized" {
		t.Errorf("HS384: %v", err)
	}
	if _, err := v.Verify(context.Background(), strings.Repeat("a", wire.MaxToken+1)); code(err) != "unauthorized" {
		t.Errorf("a huge token: %v", err)
	}
}

func TestVerifierOptionsRefused(t *testing.T) {
	for name, o := range map[string]api.VerifierOptions{
		"nothing":      {},
		"short secret": {Secret: "0123456789"},
		"no file":      {JWKS: "/nonexistent/jwks.json"},
	} {
		if _, err := api.NewVerifier(context.Background(), o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// keyServer serves a JWKS and counts its reads.
func keyServer(t *testing.T, body func() []byte) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write(body())
	}))
	t.Cleanup(s.Close)
	return s, &hits
}

// Each JWKS key verifies one algorithm: its own alg if it fits, else the
// one its type implies; keys that fit nothing are skipped.
func TestJWKSPinning(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &rk.PublicKey, KeyID: "rs", Use: "sig"},
		{Key: &rk.PublicKey, KeyID: "ps", Algorithm: "PS256"},
		{Key: &rk.PublicKey, KeyID: "rs-as-hs", Algorithm: "HS256"},
		{Key: &rk.PublicKey, KeyID: "enc", Use: "enc"},
		{Key: &small.PublicKey, KeyID: "small"},
		{Key: ek, KeyID: "es"}, // a private key: its public half is taken
		{Key: []byte(secret), KeyID: "oct"},
	}}
	b, _ := json.Marshal(set)
	s, _ := keyServer(t, func() []byte { return b })
	v := verifier(t, api.VerifierOptions{JWKS: s.URL})
	c := jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}
	for _, tt := range []struct {
		m    jwt.SigningMethod
		key  any
		kid  string
		want string
	}{
		{jwt.SigningMethodRS256, rk, "rs", ""},
		{jwt.SigningMethodPS256, rk, "rs", "unauthorized"},
		{jwt.SigningMethodPS256, rk, "ps", ""},
		{jwt.SigningMethodRS256, rk, "ps", "unauthorized"},
		{jwt.SigningMethodRS256, rk, "rs-as-hs", "unauthorized"},
		{jwt.SigningMethodRS256, rk, "enc", "unauthorized"},
		{jwt.SigningMethodRS256, small, "small", "unauthorized"},
		{jwt.SigningMethodES256, ek, "es", ""},
		{jwt.SigningMethodHS256, []byte(secret), "oct", "unauthorized"},
		{jwt.SigningMethodRS256, rk, "", "unauthorized"}, // no kid, several keys, no secret
	} {
		_, err := v.Verify(context.Background(), mint(t, c, tt.m, tt.key, tt.kid))
		if code(err) != tt.want {
			t.Errorf("%s kid %q: %v, want %q", tt.m.Alg(), tt.kid, err, tt.want)
		}
	}
}

// Tokens naming unknown keys make the verifier read the JWKS at most once
// per MinRefresh, however many come.
func TestJWKSRefreshIsRateLimited(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &rk.PublicKey, KeyID: "k1"}}})
	s, hits := keyServer(t, func() []byte { return b })
	v := verifier(t, api.VerifierOptions{JWKS: s.URL, MinRefresh: time.Hour})
	c := jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()}
	for i := range 100 {
		_, err := v.Verify(context.Background(), mint(t, c, jwt.SigningMethodRS256, rk, "unknown-"+string(rune('a'+i%26))))
		if code(err) != "unauthorized" {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the JWKS was read %d times, want once (at start)", n)
	}
	// The only key of a set verifies a token without kid.
	if _, err := v.Verify(context.Background(), mint(t, c, jwt.SigningMethodRS256, rk, "")); err != nil {
		t.Errorf("no kid, one key: %v", err)
	}
}

func TestAccess(t *testing.T) {
	a := api.Access{Public: []string{"news.*"}}
	anon := transport.Principal{}
	tok := transport.Principal{Token: true, Grants: []string{"stocks.>"}, Expires: time.Now().Add(time.Hour)}
	for _, tt := range []struct {
		p        transport.Principal
		patterns []string
		want     error
	}{
		{anon, []string{"news.a"}, nil},
		{anon, []string{"news.>"}, wire.ErrUnauthorized},
		{anon, []string{"news.a", "stocks.a"}, wire.ErrUnauthorized},
		{tok, []string{"news.a", "stocks.a.b", "stocks.*"}, nil},
		{tok, []string{"sports.a"}, wire.ErrForbidden},
		{tok, []string{">"}, wire.ErrForbidden},
		{transport.Principal{Token: true, Expires: time.Now().Add(-time.Second)}, []string{"news.a"}, wire.ErrTokenExpired},
	} {
		err := a.Authorize(context.Background(), tt.p, tt.patterns)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) && err != tt.want {
			t.Errorf("%+v %q: %v, want %v", tt.p, tt.patterns, err, tt.want)
		}
	}
}
