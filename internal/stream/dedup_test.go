package stream_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
)

// An update published again with its ID is acknowledged as a duplicate,
// with the original's sequence, and not stored again; one without an ID
// is stored every time.
func TestPublishDeduplicates(t *testing.T) {
	ns := natstest.Server(t)
	st := natstest.Stream(t, ns, stream.Options{Memory: true})
	withID := func(id, data string) message.Update {
		u := update("d.1", message.Event, data)
		u.ID = id
		return u
	}
	last, n, dup, err := st.Store(testCtx(t), []message.Update{withID("k1", `1`), withID("k2", `2`)})
	if err != nil || n != 2 || dup != 0 || last != 2 {
		t.Fatalf("first publish: last %d, %d stored, %d duplicates, %v", last, n, dup, err)
	}
	// A retry of the whole body, then a new one after it.
	last, n, dup, err = st.Store(testCtx(t), []message.Update{withID("k1", `1`), withID("k2", `2`), withID("k3", `3`)})
	if err != nil || n != 3 || dup != 2 || last != 3 {
		t.Fatalf("retry: last %d, %d stored, %d duplicates, %v; want 3, 3, 2", last, n, dup, err)
	}
	// A retry of an older one alone answers the original's sequence.
	if seq, err := st.PublishSeq(testCtx(t), withID("k1", `1`)); err != nil || seq != 1 {
		t.Fatalf("retry of k1: sequence %d %v, want 1", seq, err)
	}
	for range 2 {
		if _, err := st.PublishSeq(testCtx(t), update("d.1", message.Event, `0`)); err != nil {
			t.Fatal(err)
		}
	}
	if first, last, _ := st.Bounds(testCtx(t)); first != 1 || last != 5 {
		t.Errorf("stream holds %d..%d, want 1..5: k1, k2, k3 once and the two without an ID", first, last)
	}
	if got := replay(t, st, 0, "d.1"); len(got) != 5 || got[0].ID != "" {
		t.Errorf("replayed %+v", got)
	}
	if _, err := st.PublishSeq(testCtx(t), withID("a b", `1`)); !errors.Is(err, message.ErrBadID) {
		t.Errorf("publish with a bad ID: %v", err)
	}
}

// The duplicate window is the stream's Duplicates, held to its MaxAge.
func TestDedupWindow(t *testing.T) {
	ns := natstest.Server(t)
	j := js(t, ns)
	for _, tt := range []struct {
		opts stream.Options
		want time.Duration
	}{
		{stream.Options{Name: "W1", SubjectPrefix: "w1", Memory: true}, stream.DefaultDedupWindow},
		{stream.Options{Name: "W2", SubjectPrefix: "w2", Memory: true, DedupWindow: 10 * time.Second}, 10 * time.Second},
		{stream.Options{Name: "W3", SubjectPrefix: "w3", Memory: true, DedupWindow: time.Hour, MaxAge: time.Minute}, time.Minute},
	} {
		open(t, ns, tt.opts)
		if got := streamConfig(t, j, tt.opts.Name).Duplicates; got != tt.want {
			t.Errorf("%+v: Duplicates %v, want %v", tt.opts, got, tt.want)
		}
	}
}
