package main

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// mintToken runs `tickerd token args...` and returns its status, stdout
// and stderr.
func mintToken(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	rc := run(append([]string{"token"}, args...), &out, &errb)
	return rc, strings.TrimSpace(out.String()), errb.String()
}

// verify parses tok as the gateway does: HS256 with secret, nothing else.
func verify(tok, secret string) (*tokenClaims, error) {
	var c tokenClaims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return []byte(secret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	return &c, err
}

func TestTokenMintsWhatItIsAsked(t *testing.T) {
	before := time.Now().Truncate(time.Second)
	rc, tok, stderr := mintToken(t, "--jwt-secret", "s3cret", "--sub", "alice",
		"--topics", "stocks.>, sports.*", "--publish", "x.>", "--ttl", "90m", "--aud", "A", "--iss", "I")
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, stderr)
	}
	c, err := verify(tok, "s3cret")
	if err != nil {
		t.Fatalf("the token does not verify with its secret: %v", err)
	}
	if c.Subject != "alice" || c.Issuer != "I" || !slices.Equal(c.Audience, []string{"A"}) ||
		!slices.Equal(c.Topics, []string{"stocks.>", "sports.*"}) || !slices.Equal(c.Publish, []string{"x.>"}) {
		t.Fatalf("claims %+v", c)
	}
	iat, exp := c.IssuedAt.Time, c.ExpiresAt.Time
	if iat.Before(before) || iat.After(time.Now()) || exp.Sub(iat) != 90*time.Minute {
		t.Fatalf("iat %v exp %v, want exp = iat + 90m, iat now", iat, exp)
	}
	if _, err := verify(tok, "another"); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Fatalf("verified with the wrong secret: %v", err)
	}
	// The algorithm is HS256 and only it: a verifier pinned to another
	// refuses the token.
	_, err = jwt.Parse(tok, func(*jwt.Token) (any, error) { return []byte("s3cret"), nil }, jwt.WithValidMethods([]string{"HS512"}))
	if !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Fatalf("an HS512-only verifier took it: %v", err)
	}
}

func TestTokenSecretFromEnvAndOptionalClaims(t *testing.T) {
	t.Setenv("TICKERD_JWT_SECRET", "from-env")
	rc, tok, stderr := mintToken(t, "--sub", "bob", "--topics", "news.eu")
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, stderr)
	}
	c, err := verify(tok, "from-env")
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !slices.Equal(c.Topics, []string{"news.eu"}) || c.Audience != nil || c.Issuer != "" ||
		c.ExpiresAt.Sub(c.IssuedAt.Time) != DefaultTokenTTL {
		t.Fatalf("claims %+v", c)
	}
	// Absent, not empty: a gateway reads no publish claim as no grant.
	payload, _ := jwt.NewParser().DecodeSegment(strings.Split(tok, ".")[1])
	if bytes.Contains(payload, []byte(`"publish"`)) || bytes.Contains(payload, []byte(`"aud"`)) || bytes.Contains(payload, []byte(`"iss"`)) {
		t.Fatalf("payload %s has claims that were not asked for", payload)
	}
}

func TestTokenUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sub", "a", "--topics", "x"}, "--jwt-secret (or TICKERD_JWT_SECRET) is required"},
		{[]string{"--jwt-secret", "s", "--topics", "x"}, "--sub is required"},
		{[]string{"--jwt-secret", "s", "--sub", "a", "--topics", "stocks..x"}, "--topics:"},
		{[]string{"--jwt-secret", "s", "--sub", "a", "--topics", "x", "--publish", "a.>.b"}, "--publish:"},
		{[]string{"--jwt-secret", "s", "--sub", "a", "--ttl", "-1h"}, "--ttl -1h0m0s: want a positive duration"},
		{[]string{"--jwt-secret", "s", "--sub", "a", "--nope"}, "flag provided but not defined: -nope"},
	} {
		rc, out, stderr := mintToken(t, tc.args...)
		if rc != 2 || out != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing, %q", tc.args, rc, out, stderr, tc.want)
		}
	}
}
