package stream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickerd/tickerd/internal/embednats"
	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
)

// Open creates the stream with the options' settings, and the defaults
// for the zero ones.
func TestOpenCreatesStream(t *testing.T) {
	ns := natstest.Server(t)
	j := js(t, ns)

	open(t, ns, stream.Options{Memory: true})
	def := streamConfig(t, j, stream.DefaultName)
	if !slices.Equal(def.Subjects, []string{stream.DefaultSubjectPrefix + ".>"}) || def.MaxAge != stream.DefaultMaxAge ||
		def.MaxMsgsPerSubject != stream.DefaultMaxPerTopic || def.Replicas != 1 || def.Storage != jetstream.MemoryStorage ||
		def.Retention != jetstream.LimitsPolicy || def.Discard != jetstream.DiscardOld {
		t.Errorf("default stream config %+v", def)
	}

	opts := stream.Options{Name: "T1", SubjectPrefix: "tk", MaxAge: time.Hour, MaxPerTopic: 5}
	st := open(t, ns, opts)
	cfg := streamConfig(t, j, "T1")
	if !slices.Equal(cfg.Subjects, []string{"tk.>"}) || cfg.MaxAge != time.Hour || cfg.MaxMsgsPerSubject != 5 ||
		cfg.Storage != jetstream.FileStorage || !cfg.AllowDirect {
		t.Errorf("stream config %+v", cfg)
	}

	// An update is stored under the prefix, with its kind and time.
	at := time.Date(2026, 11, 25, 14, 3, 7, 123456789, time.FixedZone("x", 3600))
	seq, err := st.PublishSeq(testCtx(t), message.Update{Topic: "stocks.AAPL", Kind: message.Event, Data: []byte(`{"p":1}`), Time: at})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := j.Stream(testCtx(t), "T1")
	m, err := s.GetMsg(testCtx(t), seq)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "tk.stocks.AAPL" || string(m.Data) != `{"p":1}` || m.Header.Get(stream.HeaderKind) != "event" {
		t.Errorf("stored message %s %q %v", m.Subject, m.Data, m.Header)
	}
	if ht, err := time.Parse(time.RFC3339Nano, m.Header.Get(stream.HeaderTime)); err != nil || !ht.Equal(at) {
		t.Errorf("stored time %q (%v), want %v", m.Header.Get(stream.HeaderTime), err, at)
	}

	// Opening again updates the retention of the stream that is there.
	open(t, ns, stream.Options{Name: "T1", SubjectPrefix: "tk", MaxAge: 2 * time.Hour, MaxPerTopic: 9})
	if cfg := streamConfig(t, j, "T1"); cfg.MaxAge != 2*time.Hour || cfg.MaxMsgsPerSubject != 9 {
		t.Errorf("reopened config MaxAge %v MaxMsgsPerSubject %d", cfg.MaxAge, cfg.MaxMsgsPerSubject)
	}
	if _, err := s.GetMsg(testCtx(t), seq); err != nil {
		t.Errorf("reopening lost a message: %v", err)
	}

	if _, err := stream.Open(testCtx(t), connect(t, ns), stream.Options{Name: "T2", SubjectPrefix: "a..b"}, discard); err == nil {
		t.Error("Open took subject prefix a..b")
	}
}

// Attach opens an existing stream as it is, reading its prefix.
func TestAttach(t *testing.T) {
	ns := natstest.Server(t)
	owner := open(t, ns, stream.Options{Name: "A1", SubjectPrefix: "pre", MaxPerTopic: 7, Memory: true})
	st, err := stream.Attach(testCtx(t), connect(t, ns), stream.Options{Name: "A1"}, discard)
	if err != nil {
		t.Fatal(err)
	}
	if st.Epoch() != owner.Epoch() {
		t.Errorf("attached epoch %d, owner's %d", st.Epoch(), owner.Epoch())
	}
	seq := pub(t, st, "x.y", message.State, `{}`)
	if got := replay(t, owner, 0, "x.*"); len(got) != 1 || got[0].Seq != seq || got[0].Topic != "x.y" {
		t.Errorf("update published through Attach, replayed by the owner: %+v", got)
	}
	if _, err := stream.Attach(testCtx(t), connect(t, ns), stream.Options{Name: "NOPE"}, discard); err == nil {
		t.Error("Attach to a stream that does not exist succeeded")
	}
}

// PublishSeq returns increasing sequences; a topic with a wildcard is
// refused; PublishBatch reports how many it stored before a bad one.
func TestPublishSequences(t *testing.T) {
	st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true})
	var last uint64
	for i := range 5 {
		seq := pub(t, st, fmt.Sprintf("t.%d", i%2), message.State, `{}`)
		if seq <= last {
			t.Fatalf("sequence %d after %d", seq, last)
		}
		last = seq
	}
	for _, bad := range []string{"t.*", "t.>", "", "a..b"} {
		if _, err := st.PublishSeq(testCtx(t), update(bad, message.State, `{}`)); err == nil {
			t.Errorf("published to %q", bad)
		}
	}
	got, n, err := st.PublishBatch(testCtx(t), []message.Update{update("b.1", message.Event, `1`), update("b.2", message.Event, `2`)})
	if err != nil || n != 2 || got != last+2 {
		t.Fatalf("batch: last %d n %d %v, want %d 2", got, n, err, last+2)
	}
	got, n, err = st.PublishBatch(testCtx(t), []message.Update{update("b.3", message.Event, `3`), update("b.*", message.Event, `4`), update("b.5", message.Event, `5`)})
	if err == nil || n != 1 || got != last+3 {
		t.Fatalf("batch with a bad topic: last %d n %d %v, want %d 1 and an error", got, n, err, last+3)
	}
	if _, l, _ := st.Bounds(testCtx(t)); l != last+3 {
		t.Errorf("stream ends at %d after a batch that failed at its second update, want %d", l, last+3)
	}
}

// Follow delivers the latest update of every topic, is then caught up at
// the last sequence, and delivers live updates after.
func TestFollowLatestThenLive(t *testing.T) {
	st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true})
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	for _, u := range []message.Update{
		{Topic: "a", Kind: message.State, Data: []byte(`{"v":1}`), Time: at},
		{Topic: "b", Kind: message.State, Data: []byte(`{"v":1}`), Time: at},
		{Topic: "a", Kind: message.State, Data: []byte(`{"v":2}`), Time: at},
		{Topic: "c.d", Kind: message.Event, Data: []byte(`{"v":3}`), Time: at},
	} {
		if _, err := st.PublishSeq(testCtx(t), u); err != nil {
			t.Fatal(err)
		}
	}
	ch, cancel, done := follow(t, st, 0)
	want := []struct {
		topic string
		seq   uint64
		data  string
		kind  message.Kind
	}{{"b", 2, `{"v":1}`, message.State}, {"a", 3, `{"v":2}`, message.State}, {"c.d", 4, `{"v":3}`, message.Event}}
	for _, w := range want {
		f := next(t, ch)
		if f.caughtUp || f.u.Topic != w.topic || f.u.Seq != w.seq || string(f.u.Data) != w.data || f.u.Kind != w.kind || !f.u.Time.Equal(at) {
			t.Fatalf("got %+v, want %s seq %d %s", f, w.topic, w.seq, w.data)
		}
	}
	if f := next(t, ch); !f.caughtUp || f.floor != 4 {
		t.Fatalf("got %+v, want caught up at 4", f)
	}
	seq := pub(t, st, "a", message.State, `{"v":4}`)
	if f := next(t, ch); f.caughtUp || f.u.Seq != seq || string(f.u.Data) != `{"v":4}` {
		t.Fatalf("live: got %+v, want seq %d", f, seq)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Follow returned %v after its context ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not return after its context ended")
	}
}

// On an empty stream Follow is caught up at once and then delivers every
// update, none folded into a later one.
func TestFollowEmptyStream(t *testing.T) {
	st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true})
	ch, _, _ := follow(t, st, 0)
	if f := next(t, ch); !f.caughtUp || f.floor != 0 {
		t.Fatalf("got %+v, want caught up at 0", f)
	}
	for i := 1; i <= 3; i++ {
		pub(t, st, "same", message.State, fmt.Sprintf(`{"v":%d}`, i))
	}
	for i := 1; i <= 3; i++ {
		if f := next(t, ch); f.caughtUp || f.u.Seq != uint64(i) {
			t.Fatalf("got %+v, want seq %d", f, i)
		}
	}
}

// Follow with after > 0 is caught up at after at once, then delivers every
// update after it, not only the latest of each topic.
func TestFollowAfter(t *testing.T) {
	st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true})
	for i := 1; i <= 5; i++ {
		pub(t, st, "same", message.State, fmt.Sprintf(`{"v":%d}`, i))
	}
	ch, _, _ := follow(t, st, 2)
	if f := next(t, ch); !f.caughtUp || f.floor != 2 {
		t.Fatalf("got %+v, want caught up at 2 first", f)
	}
	for i := 3; i <= 5; i++ {
		if f := next(t, ch); f.caughtUp || f.u.Seq != uint64(i) || string(f.u.Data) != fmt.Sprintf(`{"v":%d}`, i) {
			t.Fatalf("got %+v, want seq %d", f, i)
		}
	}
	seq := pub(t, st, "other", message.Event, `{}`)
	if f := next(t, ch); f.u.Seq != seq {
		t.Fatalf("live: got %+v, want seq %d", f, seq)
	}
}

// Replay delivers the stored updates after a sequence on matching topics,
// in order, each once, and stops when fn returns false.
func TestReplay(t *testing.T) {
	st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true})
	for _, topic := range []string{"x.a", "y.b", "x.c", "z.d", "x.a", "x.a.deep"} {
		pub(t, st, topic, message.Event, `{}`)
	}
	for _, c := range []struct {
		after    uint64
		patterns []string
		want     []uint64
	}{
		{0, []string{"x.*"}, []uint64{1, 3, 5}},
		{0, []string{"x.>"}, []uint64{1, 3, 5, 6}},
		{0, []string{"x.*", "y.*"}, []uint64{1, 2, 3, 5}},
		{0, []string{"x.*", "x.a", ">"}, []uint64{1, 2, 3, 4, 5, 6}}, // overlapping
		{0, []string{"x.a", "x.*"}, []uint64{1, 3, 5}},               // overlapping
		{3, []string{"x.*"}, []uint64{5}},
		{6, []string{">"}, nil},
		{0, []string{"nothing"}, nil},
		{0, nil, nil},
	} {
		if got := seqs(replay(t, st, c.after, c.patterns...)); !slices.Equal(got, c.want) {
			t.Errorf("replay after %d %v: %v, want %v", c.after, c.patterns, got, c.want)
		}
	}
	calls := 0
	err := st.Replay(testCtx(t), 0, []string{">"}, func(u message.Update) bool {
		calls++
		return calls < 2
	})
	if err != nil || calls != 2 {
		t.Errorf("replay whose fn says stop at the second update: %d calls, %v", calls, err)
	}
}

// Replay reads past its fetch batch, in order.
func TestReplayMany(t *testing.T) {
	st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true})
	const n = 1200
	us := make([]message.Update, n)
	for i := range us {
		us[i] = update(fmt.Sprintf("big.%d", i%3), message.Event, fmt.Sprintf(`{"n":%d}`, i))
	}
	if _, _, err := st.PublishBatch(testCtx(t), us); err != nil {
		t.Fatal(err)
	}
	got := replay(t, st, 0, "big.*")
	if len(got) != n {
		t.Fatalf("replayed %d of %d", len(got), n)
	}
	for i, u := range got {
		if u.Seq != uint64(i+1) || string(u.Data) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("update %d: seq %d data %s", i, u.Seq, u.Data)
		}
	}
	if got := replay(t, st, 0, "big.1"); len(got) != n/3 {
		t.Errorf("replayed %d updates of big.1, want %d", len(got), n/3)
	}
}

// Messages written to the stream's subjects by something other than
// Tickerd are state updates with their storage time, their data compacted
// to one line; ones that are not JSON are skipped.
func TestForeignMessages(t *testing.T) {
	ns := natstest.Server(t)
	st := open(t, ns, stream.Options{Memory: true})
	j := js(t, ns)
	before := time.Now().Add(-time.Second)
	for _, data := range []string{"{\"a\": 1,\n \"b\": [1,\r\n 2]}", "not json", `{"a": 1}`} {
		if _, err := j.Publish(testCtx(t), "tickerd.raw.x", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	got := replay(t, st, 0, ">")
	if len(got) != 2 {
		t.Fatalf("replayed %+v, want the two JSON messages", got)
	}
	if string(got[0].Data) != `{"a":1,"b":[1,2]}` || got[0].Topic != "raw.x" || got[0].Kind != message.State || got[0].Time.Before(before) {
		t.Errorf("foreign message with line breaks: %+v (data %s)", got[0], got[0].Data)
	}
	if got[1].Seq != 3 || string(got[1].Data) != `{"a": 1}` {
		t.Errorf("foreign message on one line: seq %d data %s", got[1].Seq, got[1].Data)
	}
}

// Bounds are the first and last sequence held.
func TestBounds(t *testing.T) {
	ns := natstest.Server(t)
	st := open(t, ns, stream.Options{Memory: true, MaxPerTopic: 2})
	first, last, err := st.Bounds(testCtx(t))
	if err != nil || last != 0 || first > 1 {
		t.Fatalf("empty stream: first %d last %d %v", first, last, err)
	}
	t.Logf("a new empty stream has bounds %d, %d", first, last)
	for range 3 {
		pub(t, st, "a", message.State, `{}`)
	}
	pub(t, st, "b", message.State, `{}`)
	// "a" keeps two: sequence 1 is gone.
	if first, last, err := st.Bounds(testCtx(t)); err != nil || first != 2 || last != 4 {
		t.Fatalf("bounds %d, %d (%v), want 2, 4", first, last, err)
	}
	s, err := js(t, ns).Stream(testCtx(t), stream.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if first, last, err := st.Bounds(testCtx(t)); err != nil || first != last+1 || last != 4 {
		t.Errorf("purged stream: bounds %d, %d (%v), want 5, 4", first, last, err)
	}
}

// Retained is true while every update after a sequence on the patterns is
// stored, and false once a topic at MaxPerTopic, or the stream's front,
// has dropped one of them.
func TestRetained(t *testing.T) {
	ns := natstest.Server(t)
	st := open(t, ns, stream.Options{Memory: true, MaxPerTopic: 3})
	retained := func(after uint64, patterns ...string) bool {
		t.Helper()
		ok, err := st.Retained(testCtx(t), after, patterns)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	pub(t, st, "q.b", message.State, `{}`) // 1: the quiet topic keeps the stream's front
	pub(t, st, "q.a", message.State, `{}`) // 2
	pub(t, st, "q.a", message.State, `{}`) // 3
	if !retained(0, "q.*") || !retained(1, "q.a") {
		t.Fatal("nothing was dropped, yet not retained")
	}
	pub(t, st, "q.a", message.State, `{}`) // 4: q.a at its limit, still holds 2
	if !retained(1, "q.a") {
		t.Error("q.a at its limit but nothing dropped: not retained after 1")
	}
	pub(t, st, "q.a", message.State, `{}`) // 5: drops 2
	for _, c := range []struct {
		after    uint64
		patterns []string
		want     bool
	}{
		{0, []string{"q.a"}, false}, // 2 is gone
		{1, []string{"q.a"}, false}, // 2 is gone
		{1, []string{"q.*"}, false},
		{1, []string{">"}, false},
		{1, []string{"q.b"}, true}, // q.b is below its limit
		{2, []string{"q.a"}, true}, // q.a holds 3, 4, 5
		{4, []string{"q.a"}, true},
		{5, []string{"q.*"}, true},
	} {
		if got := retained(c.after, c.patterns...); got != c.want {
			t.Errorf("Retained(%d, %v) = %v, want %v", c.after, c.patterns, got, c.want)
		}
	}

	// The stream's front moving past a cursor is not retained either.
	s, err := js(t, ns).Stream(testCtx(t), stream.DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(testCtx(t), jetstream.WithPurgeSequence(4)); err != nil {
		t.Fatal(err)
	}
	if retained(1, "q.b") || retained(2, "q.b") || !retained(3, "q.b") {
		t.Errorf("after purging below 4: Retained(1) %v Retained(2) %v Retained(3) %v, want false false true",
			retained(1, "q.b"), retained(2, "q.b"), retained(3, "q.b"))
	}
}

// The epoch stays the same for one incarnation of the stream: reopened, its
// retention changed, its server restarted on the same data; a stream
// deleted and made again has another.
func TestEpoch(t *testing.T) {
	dir := t.TempDir()
	ns, err := embednats.Start(embednats.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown() }()
	st := open(t, ns, stream.Options{})
	epoch := st.Epoch()
	if epoch == 0 {
		t.Fatal("epoch 0")
	}
	pub(t, st, "e", message.Event, `{}`)
	if again := open(t, ns, stream.Options{}); again.Epoch() != epoch {
		t.Errorf("reopened: epoch %d, want %d", again.Epoch(), epoch)
	}
	if changed := open(t, ns, stream.Options{MaxAge: time.Hour, MaxPerTopic: 3}); changed.Epoch() != epoch {
		t.Errorf("reopened with other retention: epoch %d, want %d", changed.Epoch(), epoch)
	}

	ns.Shutdown()
	if ns, err = embednats.Start(embednats.Options{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	restarted := open(t, ns, stream.Options{})
	if restarted.Epoch() != epoch {
		t.Errorf("after a server restart: epoch %d, want %d", restarted.Epoch(), epoch)
	}
	if _, last, err := restarted.Bounds(testCtx(t)); err != nil || last != 1 {
		t.Errorf("after a server restart: last %d (%v), want 1", last, err)
	}

	if err := js(t, ns).DeleteStream(testCtx(t), stream.DefaultName); err != nil {
		t.Fatal(err)
	}
	if fresh := open(t, ns, stream.Options{}); fresh.Epoch() == epoch {
		t.Errorf("a stream made again has the old epoch %d", epoch)
	}
}
