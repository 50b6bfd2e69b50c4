// Package hubtest starts a real hub for the transports' tests: a
// transport.Hub over a fresh in-memory JetStream stream on an embedded NATS
// server (internal/natstest), loaded and running until the test ends.
package hubtest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
)

// Start runs a hub with opts over a new stream and waits until it has
// loaded the stream. Logs are discarded unless opts has a Logger.
func Start(t testing.TB, opts transport.Options) (*transport.Hub, *stream.Stream) {
	t.Helper()
	st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true})
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	hub := transport.New(st, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = hub.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-hub.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("hub did not load the stream")
	}
	return hub, st
}

// Publish stores an update and waits until hub has routed it, so that a
// subscription made afterwards sees it in its snapshot. It returns the
// update's sequence.
func Publish(t testing.TB, hub *transport.Hub, st *stream.Stream, topic string, kind message.Kind, data string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seq, err := st.PublishSeq(ctx, message.Update{Topic: topic, Kind: kind, Data: json.RawMessage(data), Time: time.Now()})
	if err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
	if err := hub.Await(ctx, seq); err != nil {
		t.Fatalf("hub never routed %d: %v", seq, err)
	}
	return seq
}

// Msg is any server message, decoded loosely for assertions.
type Msg struct {
	Type      string          `json:"type"`
	ID        json.RawMessage `json:"id"`
	Topic     string          `json:"topic"`
	Kind      string          `json:"kind"`
	Data      json.RawMessage `json:"data"`
	Time      string          `json:"time"`
	Cursor    string          `json:"cursor"`
	Merged    int             `json:"merged"`
	Reset     bool            `json:"reset"`
	Items     []Msg           `json:"items"`
	Code      string          `json:"code"`
	Message   string          `json:"message"`
	Transport string          `json:"transport"`
	Heartbeat int             `json:"heartbeat"`
	Limits    map[string]int  `json:"limits"`
	Expires   int64           `json:"expires"`
}
