package main

import (
	"flag"
	"fmt"
	"log/slog"

	"github.com/tickerd/tickerd/internal/gateway"
	"github.com/tickerd/tickerd/message"
)

// authFlags are the flags of subscriber and publisher tokens (JWT) and
// the topics anyone may read.
func authFlags(fs *flag.FlagSet, cfg *gateway.Config) {
	fs.StringVar(&cfg.JWT.Secret, "jwt-secret", "", "HS256 secret (at least 32 bytes) that verifies subscriber and publisher JWTs; with neither it nor --jwt-jwks every topic is public")
	fs.StringVar(&cfg.JWT.JWKS, "jwt-jwks", "", "file path or http(s) URL of a JWKS whose RSA (RS256), EC (ES256) or Ed25519 keys verify JWTs by kid; re-read every 5m and on an unknown kid")
	fs.StringVar(&cfg.JWT.Audience, "jwt-audience", "", "the aud a JWT must name; empty: aud is not checked")
	fs.StringVar(&cfg.JWT.Issuer, "jwt-issuer", "", "the iss a JWT must have; empty: iss is not checked")
	fs.Func("public-topics", "comma-separated patterns anyone may read without a token, e.g. 'stocks.>,news.*'; needs --jwt-secret or --jwt-jwks", func(s string) error {
		var l listFlag
		_ = l.Set(s)
		ps, err := message.CleanPatterns(l)
		cfg.PublicTopics = ps
		return err
	})
}

// checkAuth refuses --public-topics without a way to verify tokens.
func checkAuth(cfg gateway.Config) error {
	if !cfg.JWT.Configured() && len(cfg.PublicTopics) > 0 {
		return fmt.Errorf("%w: --public-topics needs --jwt-secret or --jwt-jwks: without tokens every topic is public", errUsage)
	}
	return nil
}

// warnIfOpen says, at start, that a gateway reading no tokens serves
// every topic to anyone.
func warnIfOpen(cfg gateway.Config, log *slog.Logger) {
	if !cfg.JWT.Configured() {
		log.Warn("no --jwt-secret or --jwt-jwks: every topic is public, and anyone may subscribe to any")
	}
}
