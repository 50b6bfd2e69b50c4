package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// Public topics without a way to verify tokens is a usage error, as is a
// bad pattern among them, before anything starts.
func TestServePublicTopicsNeedJWT(t *testing.T) {
	for _, args := range [][]string{
		{"--public-topics", "stocks.>"},
		{"--jwt-secret", strings.Repeat("s", 32), "--public-topics", "stocks..a"},
	} {
		var out, errOut bytes.Buffer
		err := serve(context.Background(), append(args, "--addr", "127.0.0.1:0"), &out, &errOut)
		if !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}
