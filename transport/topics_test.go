package transport

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/internal/logbuf"
	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// purgeBelow drops every message of the stream below seq, as retention
// does.
func purgeBelow(t *testing.T, nc interface {
	Stream(context.Context, string) (jetstream.Stream, error)
}, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := nc.Stream(ctx, stream.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSequence(seq)); err != nil {
		t.Fatal(err)
	}
}

// counterValue reads a counter of the hub's from its registry.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func allTopics(h *Hub) []string {
	page, _, _ := h.Topics(context.Background(), Principal{}, "", "", 1<<20)
	return page
}

// The hub forgets, on its own, the topics whose latest update retention
// dropped from the stream, and keeps those updated since; a forgotten
// topic that is updated again is known again.
func TestSweepForgetsWhatRetentionDropped(t *testing.T) {
	ns := natstest.Server(t)
	st := natstest.Stream(t, ns, stream.Options{Memory: true})
	nc, err := ns.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	h := New(st, Options{Logger: slog.New(slog.DiscardHandler), Registerer: reg})
	h.sweepEvery = 20 * time.Millisecond
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	<-h.Loaded()

	for _, topic := range []string{"a.1", "a.2", "a.3", "b.1"} {
		pub(t, st, topic, message.State, `{}`)
	}
	keep := pub(t, st, "a.1", message.State, `{"again":true}`)
	awaitHead(t, h, keep)
	if got := allTopics(h); !slices.Equal(got, []string{"a.1", "a.2", "a.3", "b.1"}) {
		t.Fatalf("topics %q", got)
	}
	purgeBelow(t, js, keep)
	deadline := time.Now().Add(10 * time.Second)
	for h.cache.len() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("topics after retention dropped all but a.1: %q", allTopics(h))
		}
		time.Sleep(5 * time.Millisecond) // the sweep has no event to wait for
	}
	if got := allTopics(h); !slices.Equal(got, []string{"a.1"}) {
		t.Fatalf("topics %q", got)
	}
	if n := counterValue(t, reg, "tickerd_topics_forgotten_total"); n != 3 {
		t.Fatalf("forgotten counted %v", n)
	}
	_, items, err := h.Snapshot(context.Background(), Principal{}, []string{">"})
	if err != nil || len(items) != 1 || items[0].Seq != keep {
		t.Fatalf("snapshot after the sweep: %d items, %v", len(items), err)
	}
	awaitHead(t, h, pub(t, st, "a.2", message.State, `{}`))
	if got := allTopics(h); !slices.Equal(got, []string{"a.1", "a.2"}) {
		t.Fatalf("topics after a.2 came back %q", got)
	}
}

// At MaxKnownTopics, Fits refuses a body with new topics and passes one
// without; updates of new topics that reach the stream anyway are routed
// live, not kept, counted, and warned of once per interval.
func TestKnownTopicsCap(t *testing.T) {
	st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true})
	var logs logbuf.Buffer
	reg := prometheus.NewRegistry()
	h := New(st, Options{MaxKnownTopics: 3, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Registerer: reg})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	<-h.Loaded()

	upd := func(topics ...string) []message.Update {
		us := make([]message.Update, len(topics))
		for i, topic := range topics {
			us[i] = message.Update{Topic: topic}
		}
		return us
	}
	if err := h.Fits(upd("k.1", "k.2", "k.3", "k.1")); err != nil {
		t.Fatalf("three new topics with room for three: %v", err)
	}
	if err := h.Fits(upd("k.1", "k.2", "k.3", "k.4")); !errors.Is(err, wire.ErrTopicCapacity) {
		t.Fatalf("four new topics with room for three: %v", err)
	}
	s := pulled(h, 100)
	defer s.Close()
	if err := h.start(ctx, s.Session, []string{"k.*"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	var seq uint64
	for _, topic := range []string{"k.1", "k.2", "k.3"} {
		seq = pub(t, st, topic, message.State, `{}`)
	}
	awaitHead(t, h, seq)
	if err := h.Fits(upd("k.3", "k.1")); err != nil {
		t.Fatalf("known topics at the cap: %v", err)
	}
	if err := h.Fits(upd("k.1", "k.9")); !errors.Is(err, wire.ErrTopicCapacity) || !strings.Contains(err.Error(), "at most 3") {
		t.Fatalf("a new topic at the cap: %v", err)
	}
	// Published past the check (another gateway, NATS directly).
	pub(t, st, "k.4", message.Event, `{"e":4}`)
	awaitHead(t, h, pub(t, st, "k.5", message.Event, `{"e":5}`))
	items, err := s.Take(nil)
	if err != nil {
		t.Fatal(err)
	}
	var routed []string
	for _, it := range items {
		if it.Type == wire.TypeUpdate {
			routed = append(routed, it.Topic)
		}
	}
	if !slices.Equal(routed, []string{"k.1", "k.2", "k.3", "k.4", "k.5"}) {
		t.Fatalf("routed %q", routed)
	}
	if got := allTopics(h); !slices.Equal(got, []string{"k.1", "k.2", "k.3"}) {
		t.Fatalf("kept %q", got)
	}
	if n := counterValue(t, reg, "tickerd_topics_not_kept_total"); n != 2 {
		t.Fatalf("not kept counted %v", n)
	}
	if n := strings.Count(logs.String(), "topic cache full"); n != 1 {
		t.Fatalf("%d warnings in %q", n, logs.String())
	}
}
