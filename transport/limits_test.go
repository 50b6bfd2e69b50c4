package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// Answers to commands count against the queue's bound: a subscriber that
// sends commands without reading ends as a slow consumer once they fill
// it. The hello is queued past the bound.
func TestAnswersCountAgainstQueue(t *testing.T) {
	h, _ := testHub(t, Options{})
	p := pulled(h, 3)
	defer p.Close()
	p.sendForced(wire.HelloFrame(wire.Hello{Transport: "test"}))
	for i := range 2 {
		p.Command(context.Background(), []byte("nope"))
		if err := p.Err(); err != nil {
			t.Fatalf("command %d of 2 that fit ended the session: %v", i, err)
		}
	}
	p.Command(context.Background(), []byte(`{"type":"unsubscribe","id":7,"topics":["a"]}`))
	if err := p.Err(); !errors.Is(err, wire.ErrSlowConsumer) {
		t.Fatalf("an answer past the bound: session %v, want slow consumer", err)
	}
	var m dto.Metric
	if err := h.metrics.slow.Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
		t.Fatalf("slow consumers counted %v (%v), want 1", m.GetCounter().GetValue(), err)
	}
	items, _ := p.Take(nil)
	if len(items) != 3 || items[0].Type != wire.TypeHello || items[2].Type != wire.TypeError {
		t.Fatalf("queued %d items, want the hello and 2 errors", len(items))
	}

	// A subscribe whose ack fits but whose snapshot does not ends it too.
	q := pulled(h, 2)
	defer q.Close()
	q.Command(context.Background(), []byte("nope"))
	q.Command(context.Background(), []byte(`{"type":"subscribe","id":1,"topics":["a"]}`))
	if err := q.Err(); !errors.Is(err, wire.ErrSlowConsumer) {
		t.Fatalf("a snapshot past the bound: session %v, want slow consumer", err)
	}
}

// The ring lets its oldest entries go once their messages pass its byte
// bound, however many it may hold by count; resumes below it go to the
// stream.
func TestRingBoundedByBytes(t *testing.T) {
	const maxBytes = 64 << 10
	r := newRing(1024, maxBytes)
	r.reset(0)
	frame := func(seq uint64, size int) *wire.Frame {
		return &wire.Frame{Type: wire.TypeUpdate, JSON: make([]byte, size), Seq: seq, Topic: "t"}
	}
	const size = 16 << 10
	for seq := uint64(1); seq <= 1000; seq++ {
		r.add(frame(seq, size))
		if r.bytes > maxBytes {
			t.Fatalf("after %d: ring holds %d bytes, bound %d", seq, r.bytes, maxBytes)
		}
	}
	if r.n != maxBytes/size {
		t.Fatalf("ring holds %d frames of %d bytes, want %d", r.n, size, maxBytes/size)
	}
	// It holds the newest, and says it no longer holds what it let go.
	if got, ok := r.after(r.floor(), nil, 100); !ok || len(got) != r.n || got[len(got)-1].Seq != 1000 {
		t.Fatalf("after its floor: %d frames (ok %v)", len(got), ok)
	}
	if _, ok := r.after(995, nil, 1); ok {
		t.Fatal("ring claims to hold everything after 995")
	}
	// Small frames fill it by count instead.
	for seq := uint64(1001); seq <= 3000; seq++ {
		r.add(frame(seq, 16))
	}
	if r.n != 1024 || r.bytes != 1024*16 {
		t.Fatalf("small frames: %d held, %d bytes", r.n, r.bytes)
	}
	// A frame larger than the bound on its own leaves it empty, after it.
	r.add(frame(3001, maxBytes+1))
	if r.n != 0 || r.bytes != 0 || r.floor() != 3001 {
		t.Fatalf("after a huge frame: %d held, %d bytes, floor %d", r.n, r.bytes, r.floor())
	}
}

// countingSource is the real stream, counting how many resumes read it at
// once.
type countingSource struct {
	Source
	mu            sync.Mutex
	reading, most int
	reads         int
}

func (c *countingSource) enter() {
	c.mu.Lock()
	c.reading++
	c.reads++
	c.most = max(c.most, c.reading)
	c.mu.Unlock()
}

func (c *countingSource) leave() {
	c.mu.Lock()
	c.reading--
	c.mu.Unlock()
}

func (c *countingSource) Retained(ctx context.Context, after uint64, patterns []string) (bool, error) {
	c.enter()
	defer c.leave()
	return c.Source.Retained(ctx, after, patterns)
}

func (c *countingSource) Replay(ctx context.Context, after uint64, patterns []string, fn func(message.Update) bool) error {
	c.enter()
	defer c.leave()
	return c.Source.Replay(ctx, after, patterns, fn)
}

func (c *countingSource) counts() (reads, most int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads, c.most
}

// replayHub is a hub whose ring holds little, so that resumes read the
// stream, with n events on topic "e" published.
func replayHub(t *testing.T, opts Options, n int) (*Hub, *countingSource) {
	t.Helper()
	st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true})
	src := &countingSource{Source: st}
	opts.RingSize = 8
	h := runHub(t, src, opts)
	us := make([]message.Update, n)
	for i := range us {
		us[i] = message.Update{Topic: "e", Kind: message.Event, Time: time.Now(), Data: []byte(fmt.Sprintf(`{"n":%d}`, i+1))}
	}
	last, _, err := st.PublishBatch(context.Background(), us)
	if err != nil {
		t.Fatal(err)
	}
	awaitHead(t, h, last)
	return h, src
}

// takeReplay takes what a resume queued on p: the updates' sequences in
// order, or the snapshot it got instead.
func takeReplay(t *testing.T, p pulledSession) (seqs []uint64, snapshot *wire.Item) {
	t.Helper()
	items, err := p.Take(nil)
	if err != nil {
		t.Fatalf("session ended: %v", err)
	}
	for i, it := range items {
		if it.Type == wire.TypeSnapshot {
			return seqs, &items[i]
		}
		seqs = append(seqs, it.Seq)
	}
	return seqs, nil
}

// expectRun checks that seqs are from+1..to, once each, in order.
func expectRun(t *testing.T, seqs []uint64, from, to uint64) {
	t.Helper()
	if len(seqs) != int(to-from) {
		t.Fatalf("replayed %d updates, want %d (%d..%d)", len(seqs), to-from, from+1, to)
	}
	for i, s := range seqs {
		if s != from+1+uint64(i) {
			t.Fatalf("update %d has sequence %d, want %d", i, s, from+1+uint64(i))
		}
	}
}

// A cursor further back than MaxReplay from the head is a reset, decided
// without reading the stream; one within it replays every update after
// it, once, in order, from the stream.
func TestMaxReplayResets(t *testing.T) {
	const n, maxReplay = 600, 400
	h, src := replayHub(t, Options{MaxReplay: maxReplay}, n)
	ctx := context.Background()

	far := pulled(h, 1000)
	defer far.Close()
	if err := h.start(ctx, far.Session, []string{"e"}, &message.Cursor{Epoch: h.epoch, Seq: n - maxReplay - 1}, nil); err != nil {
		t.Fatal(err)
	}
	seqs, snap := takeReplay(t, far)
	if len(seqs) != 0 || snap == nil || !strings.Contains(string(snap.JSON), `"reset":true`) {
		t.Fatalf("cursor past MaxReplay: %d updates, snapshot %v; want a reset snapshot", len(seqs), snap != nil)
	}
	if reads, _ := src.counts(); reads != 0 {
		t.Fatalf("a reset past MaxReplay read the stream %d times", reads)
	}

	near := pulled(h, 1000)
	defer near.Close()
	if err := h.start(ctx, near.Session, []string{"e"}, &message.Cursor{Epoch: h.epoch, Seq: n - maxReplay}, nil); err != nil {
		t.Fatal(err)
	}
	seqs, snap = takeReplay(t, near)
	if snap != nil {
		t.Fatal("a cursor within MaxReplay was reset")
	}
	expectRun(t, seqs, n-maxReplay, n)
	if reads, _ := src.counts(); reads < 2 {
		t.Fatalf("a replay of %d from the stream took %d reads, want pages", maxReplay, reads)
	}
}

// No more than MaxReplays resumes read the stream at once, and each still
// gets every update once, in order.
func TestReplaysCapped(t *testing.T) {
	const n, resumes, slots = 600, 8, 2
	h, src := replayHub(t, Options{MaxReplays: slots}, n)
	sessions := make([]pulledSession, resumes)
	errs := make(chan error, resumes)
	for i := range sessions {
		sessions[i] = pulled(h, 1000)
		defer sessions[i].Close()
		go func() {
			errs <- h.start(context.Background(), sessions[i].Session, []string{"e"}, &message.Cursor{Epoch: h.epoch}, nil)
		}()
	}
	for range resumes {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	reads, most := src.counts()
	t.Logf("%d resumes read the stream %d times, at most %d at once", resumes, reads, most)
	if most > slots {
		t.Fatalf("%d resumes read the stream at once, cap %d", most, slots)
	}
	for _, p := range sessions {
		seqs, snap := takeReplay(t, p)
		if snap != nil {
			t.Fatal("resume was reset")
		}
		expectRun(t, seqs, 0, n)
	}
}

// A resume waiting for its subscriber to read holds no slot: with one,
// another resume completes meanwhile. A resume with a ReplayWait that
// finds no slot in time fails with overloaded.
func TestReplaySlotNotHeldWhileWaiting(t *testing.T) {
	const n = 600
	h, _ := replayHub(t, Options{MaxReplays: 1}, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stalled := pulled(h, 4)
	defer stalled.Close()
	stalledErr := make(chan error, 1)
	go func() {
		stalledErr <- h.start(ctx, stalled.Session, []string{"e"}, &message.Cursor{Epoch: h.epoch}, nil)
	}()
	<-stalled.Wake() // it has read a page and waits for room

	other := pulled(h, 1000)
	defer other.Close()
	if err := h.start(ctx, other.Session, []string{"e"}, &message.Cursor{Epoch: h.epoch}, nil); err != nil {
		t.Fatal(err)
	}
	seqs, _ := takeReplay(t, other)
	expectRun(t, seqs, 0, n)
	select {
	case err := <-stalledErr:
		t.Fatalf("the stalled resume ended: %v", err)
	default:
	}

	// Hold the one slot; a resume that may wait 50 ms for it gives up.
	h.replays <- struct{}{}
	busy := pulled(h, 1000)
	defer busy.Close()
	busy.replayWait = 50 * time.Millisecond
	err := h.start(ctx, busy.Session, []string{"e"}, &message.Cursor{Epoch: h.epoch}, nil)
	<-h.replays
	if !errors.Is(err, wire.ErrOverloaded) {
		t.Fatalf("resume with no slot: %v, want overloaded", err)
	}

	// The stalled one goes on once its subscriber reads.
	var got []uint64
	for len(got) < n {
		select {
		case <-stalled.Wake():
		case err := <-stalledErr:
			if err != nil {
				t.Fatal(err)
			}
			stalledErr = nil
		case <-time.After(10 * time.Second):
			t.Fatalf("stalled resume stuck at %d of %d", len(got), n)
		}
		seqs, _ := takeReplay(t, stalled)
		got = append(got, seqs...)
	}
	expectRun(t, got, 0, n)
}
