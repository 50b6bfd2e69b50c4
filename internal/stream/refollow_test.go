package stream_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
)

// After the embedded JetStream restarts, its consumers are gone: Refollow
// ends the running Follow at once, and a Follow from where it was goes on
// with what is stored next.
func TestRefollowAfterJetStreamRestart(t *testing.T) {
	ns := natstest.Server(t)
	st := natstest.Stream(t, ns, stream.Options{})
	ch, _, done := follow(t, st, 0)
	if f := next(t, ch); !f.caughtUp {
		t.Fatalf("got %+v, want caught up", f)
	}
	first := pub(t, st, "a", message.Event, `1`)
	if f := next(t, ch); f.u.Seq != first {
		t.Fatalf("got %+v, want seq %d", f, first)
	}

	if err := ns.RestartJetStream(); err != nil {
		t.Fatal(err)
	}
	st.Refollow()
	select {
	case err := <-done:
		if !errors.Is(err, stream.ErrRefollow) {
			t.Fatalf("Follow returned %v, want ErrRefollow", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not return after Refollow")
	}

	ch, _, _ = follow(t, st, first)
	if f := next(t, ch); !f.caughtUp || f.floor != first {
		t.Fatalf("got %+v, want caught up at %d", f, first)
	}
	second := pub(t, st, "a", message.Event, `2`)
	if f := next(t, ch); f.u.Seq != second || string(f.u.Data) != "2" {
		t.Fatalf("got %+v, want seq %d", f, second)
	}
}
