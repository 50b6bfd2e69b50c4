package transport

import (
	"fmt"
	"testing"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// What is taken together keeps every event and every non-update, and of
// each state topic only its last, carrying what it replaced (and what
// those had merged already), in the original order; short and long
// batches alike.
func TestConflate(t *testing.T) {
	for _, n := range []int{6, conflateScan + 1, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var items []wire.Item
			var want []uint64
			lastOf := map[string]uint64{}
			count := map[string]int{}
			items = append(items, wire.Item{Frame: wire.Ping})
			for i := range n {
				seq := uint64(i + 1)
				f := &wire.Frame{Type: wire.TypeUpdate, Seq: seq, Topic: fmt.Sprintf("s%d", i%3), Kind: message.State}
				if i%4 == 3 {
					f.Topic, f.Kind = "ev", message.Event
				} else {
					lastOf[f.Topic] = seq
					count[f.Topic] += 2 // each was itself merged from one
				}
				it := wire.Item{Frame: f}
				if f.Kind == message.State {
					it.Merged = 1
				}
				items = append(items, it)
			}
			for _, it := range items[1:] {
				if it.Kind == message.Event || lastOf[it.Topic] == it.Seq {
					want = append(want, it.Seq)
				}
			}
			got := conflate(items)
			if got[0].Frame != wire.Ping {
				t.Fatalf("first item %+v, want the ping", got[0])
			}
			if len(got)-1 != len(want) {
				t.Fatalf("%d items kept, want %d", len(got)-1, len(want))
			}
			for i, it := range got[1:] {
				if it.Seq != want[i] {
					t.Fatalf("item %d is %d, want %d", i, it.Seq, want[i])
				}
				if it.Kind == message.State && it.Merged != count[it.Topic]-1 {
					t.Fatalf("%s merged %d, want %d", it.Topic, it.Merged, count[it.Topic]-1)
				}
				if it.Kind == message.Event && it.Merged != 0 {
					t.Fatalf("event %d merged %d", it.Seq, it.Merged)
				}
			}
		})
	}
}

// A long batch of events only, as a subscriber behind on an event topic
// takes, is looked through without allocating: conflate runs on every
// write that carries more than one item.
func TestConflateEventsAllocateNothing(t *testing.T) {
	items := make([]wire.Item, 4*conflateScan)
	for i := range items {
		items[i] = wire.Item{Frame: &wire.Frame{Type: wire.TypeUpdate, Seq: uint64(i + 1), Topic: "ev", Kind: message.Event}}
	}
	if n := testing.AllocsPerRun(100, func() { conflate(items) }); n != 0 {
		t.Fatalf("%v allocations conflating %d events", n, len(items))
	}
	if got := conflate(items); len(got) != len(items) {
		t.Fatalf("%d of %d events kept", len(got), len(items))
	}
}
