package stream_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickerd/tickerd/internal/embednats"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// testCtx is bounded so that a stream call that hangs fails the test.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connect opens a client connection to ns, closed when the test ends.
func connect(t *testing.T, ns *embednats.Server) *nats.Conn {
	t.Helper()
	nc, err := ns.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// open opens the stream on a connection of its own.
func open(t *testing.T, ns *embednats.Server, opts stream.Options) *stream.Stream {
	t.Helper()
	st, err := stream.Open(testCtx(t), connect(t, ns), opts, discard)
	if err != nil {
		t.Fatalf("open %+v: %v", opts, err)
	}
	return st
}

// js is a JetStream client for looking at the stream from outside.
func js(t *testing.T, ns *embednats.Server) jetstream.JetStream {
	t.Helper()
	j, err := jetstream.New(connect(t, ns))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// streamConfig reads a stream's configuration from the server.
func streamConfig(t *testing.T, j jetstream.JetStream, name string) jetstream.StreamConfig {
	t.Helper()
	s, err := j.Stream(testCtx(t), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := s.Info(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.Config
}

// update is a message.Update with data and the current time.
func update(topic string, kind message.Kind, data string) message.Update {
	return message.Update{Topic: topic, Kind: kind, Data: json.RawMessage(data), Time: time.Now()}
}

// pub stores an update and returns its sequence.
func pub(t *testing.T, st *stream.Stream, topic string, kind message.Kind, data string) uint64 {
	t.Helper()
	seq, err := st.PublishSeq(testCtx(t), update(topic, kind, data))
	if err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
	return seq
}

// replay collects what Replay delivers.
func replay(t *testing.T, st *stream.Stream, after uint64, patterns ...string) []message.Update {
	t.Helper()
	var got []message.Update
	err := st.Replay(testCtx(t), after, patterns, func(u message.Update) bool {
		got = append(got, u)
		return true
	})
	if err != nil {
		t.Fatalf("replay after %d %v: %v", after, patterns, err)
	}
	return got
}

// seqs lists the sequences of us.
func seqs(us []message.Update) []uint64 {
	out := make([]uint64, len(us))
	for i, u := range us {
		out[i] = u.Seq
	}
	return out
}

// followed is one thing Follow reported: an update, or being caught up.
type followed struct {
	u        message.Update
	caughtUp bool
	floor    uint64
}

// follow runs Follow on its own goroutine until the test ends and returns
// what it reports, in the order it reports it, and the error it returned
// once it has.
func follow(t *testing.T, st *stream.Stream, after uint64) (<-chan followed, context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan followed, 4096)
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- st.Follow(ctx, after,
			func(u message.Update) { out <- followed{u: u} },
			func(floor uint64) { out <- followed{caughtUp: true, floor: floor} })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("Follow did not return after its context ended")
		}
	})
	return out, cancel, done
}

// next returns what Follow reported next.
func next(t *testing.T, ch <-chan followed) followed {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("Follow reported nothing")
		return followed{}
	}
}
