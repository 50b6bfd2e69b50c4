package transport

import (
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// conflateScan is the batch size up to which conflate compares items
// pairwise rather than build a map: most batches are a handful.
const conflateScan = 16

// conflate drops from items every state update that a later one of its
// topic in items replaces, adding what it stood for to that one's Merged.
// What stays is a subsequence, in order, so cursors stay exact: nothing
// dropped is needed by a subscriber that resumes from any cursor kept.
// Events are never touched. It works in place and returns the shortened
// slice.
func conflate(items []wire.Item) []wire.Item {
	if len(items) < 2 {
		return items
	}
	var later map[string]int // for long batches: topic -> index of its last state
	if len(items) > conflateScan {
		later = make(map[string]int)
	}
	dropped := false
	// From the back, so each state meets the one that replaces it first.
	for i := len(items) - 1; i >= 0; i-- {
		it := &items[i]
		if it.Type != wire.TypeUpdate || it.Kind != message.State {
			continue
		}
		j := -1
		if later != nil {
			if k, ok := later[it.Topic]; ok {
				j = k
			} else {
				later[it.Topic] = i
			}
		} else {
			for k := i + 1; k < len(items); k++ {
				if o := items[k]; o.Frame != nil && o.Type == wire.TypeUpdate && o.Kind == message.State && o.Topic == it.Topic {
					j = k
					break
				}
			}
		}
		if j >= 0 {
			items[j].Merged += it.Merged + 1
			it.Frame = nil // dropped below
			dropped = true
		}
	}
	if !dropped {
		return items
	}
	n := 0
	for _, it := range items {
		if it.Frame != nil {
			items[n] = it
			n++
		}
	}
	clear(items[n:])
	return items[:n]
}
