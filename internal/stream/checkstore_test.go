package stream_test

import (
	"testing"

	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
)

// CheckStore succeeds on a working stream and takes nothing from it: no
// update is lost, no sequence is taken.
func TestCheckStoreChangesNothing(t *testing.T) {
	st := natstest.Stream(t, natstest.Server(t), stream.Options{})
	pub(t, st, "a", message.Event, `1`)
	pub(t, st, "b.c", message.State, `2`)
	for range 3 {
		if err := st.CheckStore(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	if got := seqs(replay(t, st, 0, ">")); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("stream holds %v after CheckStore, want [1 2]", got)
	}
	if seq := pub(t, st, "a", message.Event, `3`); seq != 3 {
		t.Errorf("next publish got sequence %d, want 3", seq)
	}
}
