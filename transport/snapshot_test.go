package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// counted is an update whose data is {"n":N}: the Nth of its topic.
type counted struct {
	Topic  string
	N      int
	Merged int // how many earlier updates of its topic it stands for
}

// decodeCounted reads an update frame's topic and count. It scans rather
// than unmarshals: the tests below read some million of them.
func decodeCounted(t testing.TB, js []byte) counted {
	t.Helper()
	_, rest, ok1 := bytes.Cut(js, []byte(`"topic":"`))
	topic, rest, ok2 := bytes.Cut(rest, []byte(`"`))
	_, rest, ok3 := bytes.Cut(rest, []byte(`"data":{"n":`))
	num, _, ok4 := bytes.Cut(rest, []byte(`}`))
	n, err := strconv.Atoi(string(num))
	if !ok1 || !ok2 || !ok3 || !ok4 || err != nil {
		t.Fatalf("not a counted update: %s", js)
	}
	return counted{Topic: string(topic), N: n}
}

func publishBatch(t testing.TB, st *stream.Stream, us []message.Update) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	last, _, err := st.PublishBatch(ctx, us)
	if err != nil {
		t.Error(err)
	}
	return last
}

func countedUpdate(topic string, n int) message.Update {
	return message.Update{Topic: topic, Kind: message.State, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)), Time: time.Now()}
}

// followed checks one subscriber's view against what was published: per
// topic, the value its snapshot held, then every later update of that
// topic, each once (or a merged one standing for those it replaced), in
// order, up to the last published. A snapshot value newer than its cursor
// shows as a repeat; one older, as a gap.
func followed(t *testing.T, name string, snap map[string]int, live []counted, last map[string]int) {
	t.Helper()
	next := map[string]int{}
	for topic, n := range snap {
		next[topic] = n + 1
	}
	for _, u := range live {
		// A resume conflates: a merged update stands for as many before it.
		if want := max(next[u.Topic], 1); u.N-u.Merged != want {
			t.Fatalf("%s: %s got update %d (merged %d) after %d", name, u.Topic, u.N, u.Merged, want-1)
		}
		next[u.Topic] = u.N + 1
	}
	for topic, n := range last {
		if next[topic]-1 != n {
			t.Fatalf("%s: %s ends at %d, last published %d", name, topic, next[topic]-1, n)
		}
	}
}

// snapshotValues decodes a snapshot message: its values by topic and its
// cursor.
func snapshotValues(t *testing.T, js []byte) (map[string]int, message.Cursor) {
	t.Helper()
	head, items, _ := bytes.Cut(js, []byte(`"items":[`))
	var m struct {
		Cursor string `json:"cursor"`
	}
	if err := json.Unmarshal(append(head[:len(head):len(head)], `"x":0}`...), &m); err != nil {
		t.Fatalf("snapshot %.100s: %v", js, err)
	}
	c, err := message.ParseCursor(m.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	snap := map[string]int{}
	start := []byte(`{"type":"update"`)
	for {
		i := bytes.Index(items, start)
		if i < 0 {
			break
		}
		items = items[i+len(start):]
		u := decodeCounted(t, items)
		snap[u.Topic] = u.N
	}
	return snap, c
}

// takeAll reads what a session has queued: its snapshot, if any, as
// values by topic, and its updates.
func takeAll(t *testing.T, s pulledSession) (snap map[string]int, cursor message.Cursor, live []counted) {
	t.Helper()
	items, err := s.Take(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		switch it.Type {
		case wire.TypeSnapshot:
			snap, cursor = snapshotValues(t, it.JSON)
		case wire.TypeUpdate:
			u := decodeCounted(t, it.JSON)
			u.Merged = it.Merged
			live = append(live, u)
		}
	}
	return snap, cursor, live
}

// Snapshots taken while the fan-out runs are exact: a subscription's
// snapshot and the live updates after it, and a REST snapshot and the
// resume from its cursor, each give every update once, with no gap, and
// the snapshot is at its cursor. The walks take long enough over 20k
// topics that updates (and new topics) arrive during each.
func TestSnapshotExactWhileRouting(t *testing.T) {
	if outrun := snapshotsWhileRouting(t, Options{MaxSnapshot: 1 << 20}, 200); outrun > 0 {
		t.Fatalf("%d snapshots outrun by a ring of %d", outrun, DefaultRingSize)
	}
}

// With a ring too small to hold what arrives during a walk, a snapshot
// walks again, then fails with unavailable: it is never inexact.
func TestSnapshotOutrunByTheRing(t *testing.T) {
	if outrun := snapshotsWhileRouting(t, Options{MaxSnapshot: 1 << 20, RingSize: 4}, 60); outrun == 0 {
		t.Fatal("no snapshot was outrun by a ring of 4")
	}
}

// snapshotsWhileRouting takes snapshots, REST and subscriptions', while
// batches of 100 counted updates are routed, checks every one that
// succeeds, and returns how many failed because the ring dropped what
// came during their walk.
func snapshotsWhileRouting(t *testing.T, opts Options, batches int) (outrun int) {
	h, st := testHub(t, opts)
	const cold = 20_000
	batch := make([]message.Update, 0, 1000)
	for i := range cold {
		batch = append(batch, countedUpdate(fmt.Sprintf("p.%d.%d", i/200, i%200), 0))
		if len(batch) == cap(batch) {
			publishBatch(t, st, batch)
			batch = batch[:0]
		}
	}
	awaitHead(t, h, publishBatch(t, st, []message.Update{countedUpdate("p.start", 0)}))

	// Hot topics, new to the hub, get counted updates while snapshots
	// are taken.
	last := map[string]int{}
	publishing := make(chan struct{})
	var finalSeq uint64
	go func() {
		defer close(publishing)
		r := rand.New(rand.NewPCG(7, 8))
		for range batches {
			us := make([]message.Update, 100)
			for i := range us {
				topic := fmt.Sprintf("h.%d", r.IntN(300))
				last[topic]++
				us[i] = countedUpdate(topic, last[topic])
			}
			finalSeq = publishBatch(t, st, us)
		}
	}()

	patternSets := [][]string{{">"}, {"h.*", "p.1.*", "p.*.7"}}
	type rest struct {
		patterns []string
		cursor   message.Cursor
		snap     map[string]int
	}
	var rests []rest
	var attached []pulledSession
	var attachedPatterns [][]string
	var twice []pulledSession
	ctx := context.Background()
	for i := 0; ; i++ {
		select {
		case <-publishing:
		default:
			// ok tells whether a snapshot was taken, counting those the
			// ring outran.
			ok := func(err error) bool {
				if errors.Is(err, errOutrun) {
					outrun++
					return false
				}
				if err != nil {
					t.Fatal(err)
				}
				return true
			}
			patterns := patternSets[i%2]
			c, items, err := h.Snapshot(ctx, Principal{}, patterns)
			if ok(err) {
				snap := map[string]int{}
				for _, f := range items {
					snap[f.Topic] = decodeCounted(t, f.JSON).N
				}
				rests = append(rests, rest{patterns, c, snap})
			}
			s := pulled(h, 1<<20)
			defer s.Close()
			if ok(h.start(ctx, s.Session, patterns, nil, nil)) {
				attached = append(attached, s)
				attachedPatterns = append(attachedPatterns, patterns)
			}
			// A session that holds patterns already and adds others:
			// its first patterns lose nothing to the second snapshot.
			s2 := pulled(h, 1<<20)
			defer s2.Close()
			if ok(h.start(ctx, s2.Session, []string{"h.*"}, nil, nil)) && ok(h.start(ctx, s2.Session, []string{"p.>"}, nil, nil)) {
				twice = append(twice, s2)
			}
			continue
		}
		break
	}
	if t.Failed() {
		t.FailNow()
	}
	awaitHead(t, h, finalSeq)
	t.Logf("%d REST snapshots, %d subscriptions, %d outrun, while %d updates were routed", len(rests), len(attached), outrun, batches*100)
	if len(rests)+outrun < 2 {
		t.Fatalf("only %d snapshots were taken while publishing", len(rests)+outrun)
	}

	lastOf := func(patterns []string) map[string]int {
		m := map[string]int{}
		for topic, n := range last {
			if matchAny(patterns, topic) {
				m[topic] = n
			}
		}
		return m
	}
	coldCount := map[string]int{}
	for _, patterns := range append(patternSets, []string{"p.>"}) {
		for i := range cold {
			if matchAny(patterns, fmt.Sprintf("p.%d.%d", i/200, i%200)) {
				coldCount[strings.Join(patterns, ",")]++
			}
		}
	}
	coldOf := func(patterns []string) int { return coldCount[strings.Join(patterns, ",")] }
	checkSnap := func(name string, patterns []string, snap map[string]int) {
		n := 0
		for topic, v := range snap {
			if topic[0] == 'p' && topic != "p.start" {
				if v != 0 {
					t.Fatalf("%s: %s holds %d", name, topic, v)
				}
				n++
			}
		}
		if want := coldOf(patterns); n != want {
			t.Fatalf("%s: %d of the %d quiet topics", name, n, want)
		}
	}
	for i, s := range attached {
		name := fmt.Sprintf("subscription %d %q", i, attachedPatterns[i])
		snap, _, live := takeAll(t, s)
		checkSnap(name, attachedPatterns[i], snap)
		followed(t, name, snap, live, lastOf(attachedPatterns[i]))
	}
	for i, s := range twice {
		name := fmt.Sprintf("subscription %d to h.* then p.>", i)
		items, err := s.Take(nil)
		if err != nil {
			t.Fatal(err)
		}
		var live []counted
		var snaps []map[string]int
		for _, it := range items {
			switch it.Type {
			case wire.TypeSnapshot:
				snap, _ := snapshotValues(t, it.JSON)
				snaps = append(snaps, snap)
			case wire.TypeUpdate:
				if u := decodeCounted(t, it.JSON); u.Topic[0] == 'h' {
					u.Merged = it.Merged
					live = append(live, u)
				}
			}
		}
		if len(snaps) != 2 {
			t.Fatalf("%s: %d snapshots", name, len(snaps))
		}
		checkSnap(name, []string{"p.>"}, snaps[1])
		followed(t, name, snaps[0], live, lastOf([]string{"h.*"}))
	}
	for i, r := range rests {
		name := fmt.Sprintf("REST snapshot %d %q at %d", i, r.patterns, r.cursor.Seq)
		checkSnap(name, r.patterns, r.snap)
		s := pulled(h, 1<<20)
		defer s.Close()
		if err := h.start(ctx, s.Session, r.patterns, &r.cursor, nil); err != nil {
			t.Fatal(err)
		}
		_, _, live := takeAll(t, s)
		followed(t, name, r.snap, live, lastOf(r.patterns))
	}
	return outrun
}

// Past MaxSnapshot topics a snapshot is refused, whether the walk or the
// updates that came during it take it there; the walk stops there.
func TestSnapshotLimit(t *testing.T) {
	h, st := testHub(t, Options{MaxSnapshot: 10})
	var us []message.Update
	for i := range 12 {
		us = append(us, countedUpdate(fmt.Sprintf("a.%d", i), 1))
	}
	awaitHead(t, h, publishBatch(t, st, us))
	ctx := context.Background()
	for _, patterns := range [][]string{{">"}, {"a.*"}, {"a.1", "a.2", "a.3", "a.4", "a.5", "a.6", "a.7", "a.8", "a.9", "a.10", "a.11"}} {
		if _, _, err := h.Snapshot(ctx, Principal{}, patterns); !errors.Is(err, wire.ErrTooManyMatches) {
			t.Errorf("snapshot of %q: %v, want too_many_matches", patterns, err)
		}
		if err := h.Admit(ctx, Principal{}, wire.Request{Patterns: patterns}); !errors.Is(err, wire.ErrTooManyMatches) {
			t.Errorf("Admit %q: %v, want too_many_matches", patterns, err)
		}
		// With a cursor there is no snapshot to bound.
		if err := h.Admit(ctx, Principal{}, wire.Request{Patterns: patterns, From: &message.Cursor{Epoch: h.epoch, Seq: 1}}); err != nil {
			t.Errorf("Admit %q with a cursor: %v", patterns, err)
		}
	}
	c, items, err := h.Snapshot(ctx, Principal{}, []string{"a.1"})
	if err != nil || len(items) != 1 || c.Seq == 0 {
		t.Fatalf("narrow snapshot: %v, %d items at %v", err, len(items), c)
	}
	// A subscription's snapshot past the limit queues nothing and
	// registers nothing.
	s := pulled(h, 100)
	defer s.Close()
	if err := h.start(ctx, s.Session, []string{"a.*"}, nil, wire.AckFrame(wire.ID("1"))); !errors.Is(err, wire.ErrTooManyMatches) {
		t.Fatalf("start: %v", err)
	}
	if s.pending() || h.patternCount(s.Session) != 0 {
		t.Fatalf("after a refused snapshot: queued %v, %d patterns", s.pending(), h.patternCount(s.Session))
	}
	// The pattern limit holds on the REST snapshot too.
	many := make([]string, DefaultMaxTopics+1)
	for i := range many {
		many[i] = fmt.Sprintf("x.%d", i)
	}
	if _, _, err := h.Snapshot(ctx, Principal{}, many); !errors.Is(err, wire.ErrTooManyTopics) {
		t.Fatalf("snapshot of %d patterns: %v", len(many), err)
	}
}

// goneCtx is a request context whose client goes once the walk has
// looked at it twice.
type goneCtx struct {
	context.Context
	asked atomic.Int32
}

func (c *goneCtx) Err() error {
	if c.asked.Add(1) > 2 {
		return context.Canceled
	}
	return nil
}

// A REST snapshot whose client went stops walking and says so.
func TestSnapshotStopsWhenClientGoes(t *testing.T) {
	h, st := testHub(t, Options{MaxSnapshot: 1 << 20})
	var wg sync.WaitGroup
	for b := range 10 {
		wg.Go(func() {
			us := make([]message.Update, 1000)
			for i := range us {
				us[i] = countedUpdate(fmt.Sprintf("t.%d.%d", b, i), 0)
			}
			publishBatch(t, st, us)
		})
	}
	wg.Wait()
	awaitHead(t, h, publishBatch(t, st, []message.Update{countedUpdate("t.end", 0)}))
	ctx := &goneCtx{Context: context.Background()}
	_, items, err := h.Snapshot(ctx, Principal{}, []string{">", "t.*.*"})
	if !errors.Is(err, wire.ErrUnavailable) || items != nil {
		t.Fatalf("snapshot for a client that went: %d items, %v", len(items), err)
	}
	// Past 10k topics the walk looked at the context every matchCheck
	// nodes: once it said the client went, the walk looked no more.
	if n := ctx.asked.Load(); n != 4 {
		t.Fatalf("the context was asked %d times", n)
	}
}
