package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// testHub runs a hub over a real JetStream stream on an embedded server.
func testHub(t testing.TB, opts Options) (*Hub, *stream.Stream) {
	t.Helper()
	st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true})
	return runHub(t, st, opts), st
}

// runHub runs a hub over src until the test ends, once it has loaded.
func runHub(t testing.TB, src Source, opts Options) *Hub {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h := New(src, opts)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	select {
	case <-h.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("hub did not load")
	}
	return h
}

func pub(t testing.TB, st *stream.Stream, topic string, kind message.Kind, data string) uint64 {
	t.Helper()
	seq, err := st.PublishSeq(context.Background(), message.Update{Topic: topic, Kind: kind, Data: json.RawMessage(data), Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// awaitHead waits until the hub has routed seq.
func awaitHead(t testing.TB, h *Hub, seq uint64) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for h.head.Load() < seq {
		select {
		case <-deadline:
			t.Fatalf("hub head %d, want %d", h.head.Load(), seq)
		case <-time.After(time.Millisecond):
		}
	}
}

// A subscriber that stops reading gets its pending state updates merged,
// then is closed when an event does not fit; others are unaffected.
func TestSlowConsumer(t *testing.T) {
	h, st := testHub(t, Options{QueueSize: 4})
	ctx := context.Background()
	// The fast one has room for the burst below: its reader may be
	// scheduled late, and it must not be the one that is slow.
	slow, fast := pulled(h, 4), pulled(h, 16)
	defer slow.Close()
	defer fast.Close()
	for _, s := range []pulledSession{slow, fast} {
		if err := h.start(ctx, s.Session, []string{"stocks.>", "events"}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	var items []wire.Item
	fast.Take(nil) // the snapshots: a queued snapshot counts toward the bound
	items, _ = slow.Take(items)
	if len(items) != 1 || items[0].Type != "snapshot" {
		t.Fatalf("first item %+v", items)
	}

	// Fill the queue with 4 states, then 10 more on two of the topics: they
	// merge into the newest of their topic, which moves to the back.
	topics := []string{"stocks.A", "stocks.B", "stocks.C", "stocks.D"}
	var seq uint64
	for i := range 14 {
		topic := topics[i%4]
		if i >= 4 {
			topic = topics[i%2]
		}
		seq = pub(t, st, topic, message.State, fmt.Sprintf(`{"n":%d}`, i))
	}
	awaitHead(t, h, seq)
	items, err := slow.Take(items)
	if err != nil {
		t.Fatalf("slow session ended by states alone: %v", err)
	}
	got := ""
	merged := 0
	for _, it := range items {
		got += fmt.Sprintf("%s%s/%d ", it.Topic, it.JSON[len(`{"type":"update","topic":"stocks.A","kind":"state","data":`):][:8], it.Merged)
		merged += it.Merged
	}
	// C and D were never replaced; A and B each replaced 5 times (their
	// first value and 4 later ones before the last).
	if len(items) != 4 || merged != 10 || items[2].Topic != "stocks.A" && items[3].Topic != "stocks.A" {
		t.Fatalf("queue after merging: %s", got)
	}
	var last map[string]any
	js := items[len(items)-1].AppendJSON(nil)
	if err := json.Unmarshal(js, &last); err != nil || last["merged"] == nil {
		t.Fatalf("merged update %s: %v", js, err)
	}
	if _, err := fast.Take(nil); err != nil {
		t.Fatal(err)
	}
	// The fast session reads as a healthy transport does.
	fastEvents := make(chan int, 1)
	go func() {
		n := 0
		var buf []wire.Item
		for n < 5 {
			select {
			case <-fast.Wake():
			case <-time.After(5 * time.Second):
				fastEvents <- n
				return
			}
			var err error
			if buf, err = fast.Take(buf); err != nil {
				break
			}
			for _, it := range buf {
				if it.Topic == "events" {
					n++
				}
			}
		}
		fastEvents <- n
	}()

	// Now events: the fifth that does not fit ends the slow session.
	for i := range 5 {
		seq = pub(t, st, "events", message.Event, fmt.Sprintf(`{"e":%d}`, i))
	}
	awaitHead(t, h, seq)
	select {
	case <-slow.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("slow session not closed")
	}
	if !errors.Is(slow.Err(), wire.ErrSlowConsumer) {
		t.Fatalf("slow session ended with %v", slow.Err())
	}
	// The fast session got all 5 events and is open.
	if n := <-fastEvents; n != 5 || fast.Err() != nil {
		t.Fatalf("fast session: %d events, err %v", n, fast.Err())
	}
}

func TestShutdownEndsSessions(t *testing.T) {
	h, _ := testHub(t, Options{})
	s := pulled(h, h.opts.QueueSize)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- h.Shutdown(ctx)
	}()
	<-s.Done()
	if !errors.Is(s.Err(), wire.ErrShutdown) {
		t.Fatalf("session ended with %v", s.Err())
	}
	s.Close() // the transport lets go: the drain completes
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if late := pulled(h, 1); !errors.Is(late.Err(), wire.ErrShutdown) {
		t.Fatalf("session opened after shutdown: %v", late.Err())
	}
}

// The index finds exactly the patterns Match accepts.
func TestIndexMatchesLikeMatch(t *testing.T) {
	ix := newIndex()
	r := rand.New(rand.NewPCG(1, 2))
	tokens := []string{"a", "b", "c", "*", ">"}
	subs := map[string]*sub{}
	for range 300 {
		n := 1 + r.IntN(4)
		p := ""
		for i := range n {
			tok := tokens[r.IntN(len(tokens))]
			if tok == ">" && i < n-1 {
				tok = "*"
			}
			if i > 0 {
				p += "."
			}
			p += tok
		}
		if _, ok := subs[p]; ok {
			continue
		}
		x := &sub{pattern: p}
		ix.add(x)
		subs[p] = x
	}
	var got []*sub
	for range 500 {
		n := 1 + r.IntN(4)
		topic := ""
		for i := range n {
			if i > 0 {
				topic += "."
			}
			topic += tokens[r.IntN(3)]
		}
		got = ix.match(topic, got[:0])
		matched := map[string]int{}
		for _, x := range got {
			matched[x.pattern]++
		}
		for p := range subs {
			if want := message.Match(p, topic); (matched[p] == 1) != want || matched[p] > 1 {
				t.Fatalf("pattern %q topic %q: matched %d times, Match %v", p, topic, matched[p], want)
			}
		}
	}
	// Removing every pattern leaves an empty index.
	for _, x := range subs {
		ix.remove(x)
	}
	if !ix.empty() {
		t.Fatalf("index not pruned: %+v", ix.wild)
	}
}

// pulledSession is a session with no writer: the test takes its queue
// itself, as a transport that reads when it likes.
type pulledSession struct {
	*Session
	wake chan struct{}
}

func pulled(h *Hub, limit int) pulledSession {
	wake := make(chan struct{}, 1)
	s := h.newSession("test", Principal{}, limit, func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	close(s.opened)
	h.register(s)
	return pulledSession{s, wake}
}

func (p pulledSession) Wake() <-chan struct{} { return p.wake }

func (p pulledSession) Take(dst []wire.Item) ([]wire.Item, error) { return p.take(dst) }
