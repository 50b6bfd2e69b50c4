package transport

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// Source is the ordered, durable log the hub follows: the JetStream stream
// in production (internal/stream).
type Source interface {
	// Epoch identifies the log's incarnation; cursors carry it.
	Epoch() uint64
	// Bounds returns the first and last sequence the log holds now.
	Bounds(ctx context.Context) (first, last uint64, err error)
	// Retained reports whether the log still holds every update after a
	// sequence on topics matching the patterns; when it does not, a resume
	// from there is a reset.
	Retained(ctx context.Context, after uint64, patterns []string) (bool, error)
	// Follow delivers the latest update of every topic, then every newer
	// one, in order, until ctx ends; onCaughtUp reports the sequence above
	// which nothing is skipped. With after > 0 it instead delivers every
	// update after that sequence and is caught up at once.
	Follow(ctx context.Context, after uint64, onUpdate func(message.Update), onCaughtUp func(floor uint64)) error
	// Replay delivers the stored updates after a sequence on topics matching
	// the patterns, in order, until fn returns false or none are left.
	Replay(ctx context.Context, after uint64, patterns []string, fn func(message.Update) bool) error
}

// Hub follows the stream and routes its updates to sessions. It
// coordinates parts that each own their state and lock: the topic index
// (index.go), the latest values (cache.go), the ring of recent updates
// (ring.go), the slots of resumes reading the stream (slots.go), the
// session registry (registry.go) and the publish waiters (await.go).
// Create it with New, start it with Run.
type Hub struct {
	src     Source
	opts    Options
	epoch   uint64
	metrics *metrics

	// mu orders routing against subscribing. The fan-out holds the read
	// lock while it stores an update and queues it on the sessions that
	// match; a subscription reads the latest values without it, then takes
	// the write lock to bring them up to the head and register its
	// patterns in one step (snapshot.go), so that nothing falls between
	// the two and nothing is queued twice. Session.last and Session.subs
	// are guarded by it.
	mu      sync.RWMutex
	index   *index
	cache   *cache
	matched []*sub // the fan-out's scratch: only the follower uses it

	head   atomic.Uint64 // sequence of the newest update routed
	ring   *ring
	loaded chan struct{} // closed once the latest values are in

	replays slots // the resumes reading the stream

	waiters  waiters
	sessions *registry

	walks      chan struct{} // a slot per snapshot walk running (snapshot.go)
	sweepEvery time.Duration // how often forgotten topics are swept
	full       fullCache     // the fan-out's: warns of topics not kept
}

// New returns a hub over src.
func New(src Source, opts Options) *Hub {
	opts = opts.withDefaults()
	c := newCache(opts.MaxKnownTopics)
	return &Hub{
		src:        src,
		opts:       opts,
		epoch:      src.Epoch(),
		metrics:    newMetrics(opts.Registerer, c.len),
		index:      newIndex(),
		cache:      c,
		ring:       newRing(opts.RingSize, opts.RingBytes),
		replays:    newSlots(opts.MaxReplays),
		loaded:     make(chan struct{}),
		sessions:   newRegistry(),
		walks:      make(chan struct{}, walkers()),
		sweepEvery: sweepEvery,
	}
}

// Epoch is the stream incarnation the hub's cursors name.
func (h *Hub) Epoch() uint64 { return h.epoch }

// Loaded is closed once the hub holds the latest value of every topic.
func (h *Hub) Loaded() <-chan struct{} { return h.loaded }

// Run follows the source until ctx ends, and follows again from where it
// was when the source fails. Once loaded, it also forgets the topics that
// retention dropped, every sweepEvery.
func (h *Hub) Run(ctx context.Context) error {
	var sweeping sync.WaitGroup
	defer sweeping.Wait()
	sweeping.Go(func() { h.sweepLoop(ctx) })
	var once sync.Once
	caughtUp := func(floor uint64) {
		once.Do(func() {
			h.head.Store(floor)
			h.ring.reset(floor)
			close(h.loaded)
			h.opts.Logger.Info("hub loaded latest values", "topics", h.cache.len(), "floor", floor)
		})
	}
	const firstBackoff = 100 * time.Millisecond
	backoff := firstBackoff
	for {
		began := time.Now()
		err := h.src.Follow(ctx, h.head.Load(), h.deliver, caughtUp)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(began) > time.Minute {
			// A follow that ran a while failed anew: no reason to wait
			// as long as after the last of a run of quick failures.
			backoff = firstBackoff
		}
		// Warn, not error: the hub follows again from where it was, and
		// nothing is lost meanwhile; a stream asked to follow again (after
		// an embedded JetStream restart) ends up here too.
		h.opts.Logger.Warn("following the stream ended; following again", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// deliver routes one update from the stream: encoded once, kept as the
// topic's latest value and in the ring, queued on every matching session.
func (h *Hub) deliver(u message.Update) {
	loaded := h.isLoaded()
	if u.Seq <= h.head.Load() && loaded {
		return // already routed before the source was followed again
	}
	f := wire.UpdateFrame(&u, h.epoch)
	h.metrics.received.Inc()
	if loaded {
		h.ring.add(f)
	}
	h.mu.RLock()
	kept := h.cache.store(f)
	h.head.Store(f.Seq)
	h.matched = h.index.match(f.Topic, h.matched[:0])
	var queued, merged, slow int
	for _, x := range h.matched {
		s := x.s
		if f.Seq <= s.last {
			continue // matched by another of its patterns, or replayed
		}
		switch s.push(f) {
		case pushQueued:
			queued++
		case pushMerged:
			queued++
			merged++
		case pushOverflow:
			slow++
			continue
		default:
			continue
		}
		s.last = f.Seq
	}
	h.mu.RUnlock()
	clear(h.matched) // hold no session past its update
	if !kept {
		h.full.notKept(h, f.Topic)
	}
	h.metrics.delivered(queued, merged, slow)
	h.waiters.release(f.Seq)
}

func (h *Hub) isLoaded() bool {
	select {
	case <-h.loaded:
		return true
	default:
		return false
	}
}

// Await returns once the hub has routed the update with sequence seq, so
// that what a publisher stored is in this gateway's snapshot when its
// publish returns.
func (h *Hub) Await(ctx context.Context, seq uint64) error {
	return h.waiters.wait(ctx, seq, h.head.Load)
}

// Shutdown ends every session with wire.ErrShutdown, refuses new ones, and
// waits until their transports have closed them or ctx ends.
func (h *Hub) Shutdown(ctx context.Context) error {
	for _, s := range h.sessions.close() {
		s.end(wire.ErrShutdown)
	}
	select {
	case <-h.sessions.drained:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain: %d sessions still open: %w", h.SessionCount(), ctx.Err())
	}
}

// SessionCount reports how many sessions are open.
func (h *Hub) SessionCount() int { return h.sessions.count() }

func (h *Hub) waitLoaded(ctx context.Context) error {
	select {
	case <-h.loaded:
		return nil
	case <-ctx.Done():
		return wire.ErrNotReady
	}
}

// register adds s to the open sessions, or ends it when the hub is
// shutting down.
func (h *Hub) register(s *Session) {
	if !h.sessions.add(s) {
		s.end(wire.ErrShutdown)
		return
	}
	h.metrics.opened(s.transport)
}

// remove takes s out of the index and the open sessions.
func (h *Hub) remove(s *Session) {
	h.mu.Lock()
	s.removed = true
	for p, x := range s.subs {
		h.index.remove(x)
		delete(s.subs, p)
	}
	h.mu.Unlock()
	if h.sessions.remove(s) {
		h.metrics.closed(s.transport)
	}
}
