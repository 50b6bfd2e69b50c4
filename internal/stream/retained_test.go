package stream_test

import (
	"fmt"
	"testing"

	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
)

// Retained answers the same whichever way it decides: by the distance to
// the stream's end, by the stream having no holes after the cursor, or by
// looking at the topics, each once however the patterns overlap.
func TestRetainedShortcuts(t *testing.T) {
	st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true, MaxPerTopic: 3})
	retained := func(after uint64, patterns ...string) bool {
		t.Helper()
		ok, err := st.Retained(testCtx(t), after, patterns)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for i := 1; i <= 10; i++ {
		pub(t, st, fmt.Sprintf("c.%d", i), message.Event, `{}`) // 1..10
	}
	// Ten after the cursor, more than MaxPerTopic, but no holes.
	if !retained(0, ">") || !retained(0, "c.1", "c.*", ">") {
		t.Fatal("nothing was dropped, yet not retained")
	}
	for range 5 {
		pub(t, st, "b", message.Event, `{}`) // 11..15: drops 11 and 12
	}
	for _, c := range []struct {
		after    uint64
		patterns []string
		want     bool
	}{
		{0, []string{"c.1"}, true}, // holes, but not c.1's
		{0, []string{"c.*", "c.1"}, true},
		{0, []string{"b"}, false},
		{10, []string{"b"}, false},        // 11 is gone
		{10, []string{"c.*", ">"}, false}, // overlapping, b among them
		{12, []string{"b"}, true},         // three after the cursor: b holds 13..15
		{12, []string{">"}, true},
	} {
		if got := retained(c.after, c.patterns...); got != c.want {
			t.Errorf("Retained(%d, %v) = %v, want %v", c.after, c.patterns, got, c.want)
		}
	}
}
