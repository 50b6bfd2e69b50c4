package transport

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// A resume over a backlog of 1000 state updates of 5 topics and 50 events
// queues 5 states, each its topic's last value with merged for the rest,
// and the 50 events, all in stream order, so every cursor handed out is
// exact; from the ring and from the stream alike.
func TestResumeConflatesStates(t *testing.T) {
	for _, tc := range []struct {
		name string
		ring int
	}{{"ring", 0}, {"stream", 8}} {
		t.Run(tc.name, func(t *testing.T) {
			st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true})
			h := runHub(t, st, Options{RingSize: tc.ring})
			start := pub(t, st, "warmup", message.Event, `{}`)
			var us []message.Update
			lastState := map[string]int{}
			for i := range 1050 {
				u := message.Update{Time: time.Now()}
				if i%21 == 20 {
					u.Topic, u.Kind = "ev", message.Event
				} else {
					u.Topic, u.Kind = fmt.Sprintf("st.%d", i%5), message.State
					lastState[u.Topic] = i
				}
				u.Data = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
				us = append(us, u)
			}
			last := publishBatch(t, st, us)
			awaitHead(t, h, last)

			p := pulled(h, 2000)
			defer p.Close()
			if err := h.start(context.Background(), p.Session, []string{"st.*", "ev"}, &message.Cursor{Epoch: h.epoch, Seq: start}, nil); err != nil {
				t.Fatal(err)
			}
			items, err := p.Take(nil)
			if err != nil {
				t.Fatal(err)
			}
			var events, states int
			prev, merged := start, 0
			for _, it := range items {
				if it.Type != wire.TypeUpdate {
					t.Fatalf("resume queued a %s", it.Type)
				}
				if it.Seq <= prev {
					t.Fatalf("sequence %d after %d: out of order", it.Seq, prev)
				}
				prev = it.Seq
				i := dataI(t, it.JSON)
				if it.Kind == message.Event {
					if want := events*21 + 20; i != want {
						t.Fatalf("event %d is #%d, want #%d", events, i, want)
					}
					events++
					continue
				}
				states++
				if i != lastState[it.Topic] {
					t.Fatalf("%s replayed at #%d, its last is #%d", it.Topic, i, lastState[it.Topic])
				}
				merged += it.Merged
			}
			if events != 50 || states != 5 || merged != 1000-5 {
				t.Fatalf("%d events, %d states merging %d; want 50, 5 merging 995", events, states, merged)
			}
			if prev != last {
				t.Fatalf("replay ends at %d, the backlog at %d", prev, last)
			}
		})
	}
}

// dataI reads the "i" of an update's data.
func dataI(t *testing.T, js []byte) int {
	t.Helper()
	var m struct {
		Data struct{ I int }
	}
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	return m.Data.I
}
