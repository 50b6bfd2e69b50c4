package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"
)

// keySet is the keys of a JWKS, by kid; only is its key when it holds
// one, which verifies tokens that name no kid.
type keySet struct {
	byKID map[string]*key
	only  *key
}

// maxJWKS bounds a JWKS read, in bytes.
const maxJWKS = 1 << 20

// minRSABits is the smallest RSA key taken.
const minRSABits = 2048

// fetch reads and parses the JWKS. A key that cannot be used (of a type
// or size not taken, for encryption, with an alg that does not fit it) is
// skipped, and logged; a set with no usable key is an error.
func (v *Verifier) fetch(ctx context.Context) (*keySet, error) {
	b, err := v.readJWKS(ctx)
	if err != nil {
		return nil, fmt.Errorf("read JWKS %s: %w", v.opts.JWKS, err)
	}
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", v.opts.JWKS, err)
	}
	set := &keySet{byKID: map[string]*key{}}
	var last *key
	n := 0
	for i, r := range raw.Keys {
		var jwk jose.JSONWebKey
		err := jwk.UnmarshalJSON(r)
		var alg string
		if err == nil {
			alg, err = pinAlg(jwk)
		}
		if err != nil {
			v.opts.Logger.Warn("JWKS key skipped", "jwks", v.opts.JWKS, "index", i, "kid", jwk.KeyID, "err", err)
			continue
		}
		k := v.newKey(alg, publicOf(jwk.Key))
		n++
		last = k
		if jwk.KeyID != "" {
			set.byKID[jwk.KeyID] = k
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("JWKS %s holds no usable key", v.opts.JWKS)
	}
	if n == 1 {
		set.only = last
	}
	return set, nil
}

func (v *Verifier) readJWKS(ctx context.Context) ([]byte, error) {
	src := v.opts.JWKS
	var r io.Reader
	if strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := v.opts.Client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("HTTP %s", resp.Status)
		}
		r = resp.Body
	} else {
		f, err := os.Open(src)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxJWKS+1))
	if err == nil && len(b) > maxJWKS {
		err = fmt.Errorf("larger than %d bytes", maxJWKS)
	}
	return b, err
}

// pinAlg is the one algorithm a key verifies: its own "alg" when that
// fits the key, else RS256 for RSA, ES256/ES384/ES512 by the curve, EdDSA
// for Ed25519. Symmetric keys are not taken from a JWKS: the shared
// secret is --jwt-secret.
func pinAlg(k jose.JSONWebKey) (string, error) {
	if k.Use != "" && k.Use != "sig" {
		return "", fmt.Errorf("key use %q", k.Use)
	}
	var fits []string
	switch pub := publicOf(k.Key).(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return "", fmt.Errorf("RSA key of %d bits; at least %d are taken", pub.N.BitLen(), minRSABits)
		}
		fits = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			fits = []string{"ES256"}
		case elliptic.P384():
			fits = []string{"ES384"}
		case elliptic.P521():
			fits = []string{"ES512"}
		}
	case ed25519.PublicKey:
		fits = []string{"EdDSA"}
	}
	switch {
	case len(fits) == 0:
		return "", errors.New("key type not taken (RSA, EC P-256/384/521 and Ed25519 are)")
	case k.Algorithm == "":
		return fits[0], nil
	case slices.Contains(fits, k.Algorithm):
		return k.Algorithm, nil
	}
	return "", fmt.Errorf("alg %q does not fit the key", k.Algorithm)
}

// publicOf is the public half of a key given private.
func publicOf(k any) any {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return &k.PublicKey
	case *ecdsa.PrivateKey:
		return &k.PublicKey
	case ed25519.PrivateKey:
		return k.Public()
	}
	return k
}
