// Package natstest starts the real NATS servers and streams that tests run
// against: an embedded server with JetStream on a random loopback port, and
// the Tickerd stream on it, each gone when the test ends.
package natstest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/embednats"
	"github.com/tickerd/tickerd/internal/stream"
)

// Server starts an embedded NATS server with JetStream in a temporary
// directory, listening on a random loopback port (its ClientURL), and shuts
// it down when the test ends.
func Server(t testing.TB) *embednats.Server {
	t.Helper()
	ns, err := embednats.Start(embednats.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// Stream opens the Tickerd stream on ns over a connection of its own,
// closed when the test ends.
func Stream(t testing.TB, ns *embednats.Server, opts stream.Options) *stream.Stream {
	t.Helper()
	nc, err := ns.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := stream.Open(ctx, nc, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return st
}
