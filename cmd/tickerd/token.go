package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tickerd/tickerd/message"
)

// tokenClaims are the claims `tickerd token` signs: the registered ones
// and the grants the gateway reads (docs/security.md).
type tokenClaims struct {
	jwt.RegisteredClaims
	Topics  []string `json:"topics"`
	Publish []string `json:"publish,omitempty"`
}

// DefaultTokenTTL is how long a token minted by `tickerd token` lives when
// --ttl is not given.
const DefaultTokenTTL = time.Hour

// newTokenFlags defines the flags of `tickerd token`.
func newTokenFlags() (*flag.FlagSet, *tokenFlags) {
	fs := flag.NewFlagSet("tickerd token", flag.ContinueOnError)
	f := &tokenFlags{}
	fs.StringVar(&f.secret, "jwt-secret", "", "HS256 secret to sign with, the gateway's --jwt-secret (required)")
	fs.StringVar(&f.sub, "sub", "", "the token's subject (sub claim), e.g. a user id (required)")
	fs.Var((*listFlag)(&f.topics), "topics", "comma-separated patterns the bearer may subscribe to, e.g. 'stocks.>,sports.*'")
	fs.Var((*listFlag)(&f.publish), "publish", "comma-separated patterns the bearer may publish to; empty: none")
	fs.DurationVar(&f.ttl, "ttl", DefaultTokenTTL, "how long the token is valid (exp = now + ttl)")
	fs.StringVar(&f.aud, "aud", "", "audience (aud claim); empty: none")
	fs.StringVar(&f.iss, "iss", "", "issuer (iss claim); empty: none")
	return fs, f
}

type tokenFlags struct {
	secret, sub, aud, iss string
	topics, publish       []string
	ttl                   time.Duration
}

// runToken prints a signed HS256 JWT for development and tests: the one
// place a real deployment mints tokens is its own backend.
func runToken(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newTokenFlags()
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	tok, err := f.mint(time.Now())
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// mint checks the flags and signs the token they describe, issued at now.
func (f *tokenFlags) mint(now time.Time) (string, error) {
	switch {
	case f.secret == "":
		return "", errors.New("--jwt-secret (or TICKERD_JWT_SECRET) is required: the gateway's HS256 secret")
	case f.sub == "":
		return "", errors.New("--sub is required")
	case f.ttl <= 0:
		return "", fmt.Errorf("--ttl %s: want a positive duration, e.g. 1h", f.ttl)
	}
	topics, err := message.CleanPatterns(f.topics)
	if err != nil {
		return "", fmt.Errorf("--topics: %w", err)
	}
	publish, err := message.CleanPatterns(f.publish)
	if err != nil {
		return "", fmt.Errorf("--publish: %w", err)
	}
	if topics == nil {
		topics = []string{} // an empty grant is still a claim: "topics": []
	}
	c := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   f.sub,
			Issuer:    f.iss,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(f.ttl)),
		},
		Topics:  topics,
		Publish: publish,
	}
	if f.aud != "" {
		c.Audience = jwt.ClaimStrings{f.aud}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(f.secret))
}
