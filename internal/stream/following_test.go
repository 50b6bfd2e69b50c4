package stream_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/logbuf"
	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
)

// awaitFollowing polls Following until it is nil (want) or not, as the
// consumer's state has no event to await from outside.
func awaitFollowing(t *testing.T, st *stream.Stream, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for (st.Following() == nil) != want {
		if time.Now().After(deadline) {
			t.Fatalf("Following() = %v, want following=%v", st.Following(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Following says whether a Follow reads the stream. When the stream goes
// (deleted from outside), the Follow ends, and the next keeps trying a few
// times a second, logging at warn, until the stream is there again.
func TestFollowingWhileStreamIsGone(t *testing.T) {
	ns := natstest.Server(t)
	nc := connect(t, ns)
	var logs logbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	st, err := stream.Open(testCtx(t), nc, stream.Options{Memory: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(st.Following(), stream.ErrNotFollowing) {
		t.Fatalf("before any Follow: %v", st.Following())
	}
	ch, _, done := follow(t, st, 0)
	if f := next(t, ch); !f.caughtUp {
		t.Fatalf("got %+v", f)
	}
	awaitFollowing(t, st, true)
	first := pub(t, st, "a", message.Event, `1`)
	next(t, ch)

	if err := js(t, ns).DeleteStream(testCtx(t), stream.DefaultName); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Follow returned nil with its stream gone")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow went on with its stream gone")
	}
	awaitFollowing(t, st, false)
	ch, _, _ = follow(t, st, first)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "cannot read the stream yet; retrying") {
		if time.Now().After(deadline) {
			t.Fatalf("no retry logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := st.Following(); !errors.Is(err, stream.ErrNotFollowing) {
		t.Fatalf("following a stream that is gone: %v", err)
	}
	if _, err := stream.Open(testCtx(t), nc, stream.Options{Memory: true}, log); err != nil {
		t.Fatal(err)
	}
	if f := next(t, ch); !f.caughtUp || f.floor != first {
		t.Fatalf("got %+v, want caught up at %d", f, first)
	}
	awaitFollowing(t, st, true)
	if !strings.Contains(logs.String(), `level=WARN msg="following the stream again"`) {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
}
