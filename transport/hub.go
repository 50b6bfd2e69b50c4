package transport

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/message"
)

// Source is the ordered, durable log the hub follows: the JetStream stream
// in production (stream.Stream).
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

// Errors from Subscribe.
var (
	ErrTooManyTopics = errors.New("too many topics")
	ErrNotReady      = errors.New("hub has not loaded the stream yet")
	// ErrNoTopics: a request that must name topics named none.
	ErrNoTopics = errors.New(`"topics" is required (">" for all)`)
)

// Hub routes the stream's updates to sessions. Create it with New, start it
// with Run.
type Hub struct {
	src     Source
	opts    Options
	epoch   uint64
	metrics *metrics

	// mu guards the index. The fan-out holds the read lock while it routes
	// one update; a subscription takes the write lock to register and read
	// the latest values in one step, so nothing falls between the two.
	mu     sync.RWMutex
	topics map[string]*topicEntry
	wild   node

	head   atomic.Uint64 // sequence of the newest update routed
	ring   *ring
	loaded chan struct{} // closed once the latest values are in

	waiters waiters

	smu      sync.Mutex
	sessions map[*Session]struct{}
	closing  bool
	drained  chan struct{} // closed when closing and no session is left
}

// New returns a hub over src.
func New(src Source, opts Options) *Hub {
	opts = opts.withDefaults()
	return &Hub{
		src:      src,
		opts:     opts,
		epoch:    src.Epoch(),
		metrics:  newMetrics(opts.Registerer),
		topics:   make(map[string]*topicEntry),
		ring:     newRing(opts.RingSize),
		loaded:   make(chan struct{}),
		sessions: make(map[*Session]struct{}),
		drained:  make(chan struct{}),
	}
}

// Options returns the options in force, defaults filled in.
func (h *Hub) Options() Options { return h.opts }

// Epoch is the stream incarnation the hub's cursors name.
func (h *Hub) Epoch() uint64 { return h.epoch }

// Loaded is closed once the hub holds the latest value of every topic.
func (h *Hub) Loaded() <-chan struct{} { return h.loaded }

// Run follows the source until ctx ends, and follows again from where it
// was when the source fails.
func (h *Hub) Run(ctx context.Context) error {
	var once sync.Once
	caughtUp := func(floor uint64) {
		once.Do(func() {
			h.head.Store(floor)
			h.ring.reset(floor)
			close(h.loaded)
			h.opts.Logger.Info("hub loaded latest values", "topics", h.topicCount(), "floor", floor)
		})
	}
	backoff := 100 * time.Millisecond
	for {
		err := h.src.Follow(ctx, h.head.Load(), h.deliver, caughtUp)
		if ctx.Err() != nil {
			return nil
		}
		h.opts.Logger.Error("following the stream failed; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (h *Hub) topicCount() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.topics)
}

// deliver routes one update from the stream: encoded once, kept as the
// topic's latest value and in the ring, queued on every matching session.
func (h *Hub) deliver(u message.Update) {
	loaded := h.isLoaded()
	if u.Seq <= h.head.Load() && loaded {
		return // already routed before the source was followed again
	}
	f := newUpdateFrame(&u, h.epoch)
	h.metrics.received.Inc()
	if loaded {
		h.ring.add(f)
	}
	h.mu.RLock()
	te := h.topics[f.Topic]
	if te == nil {
		h.mu.RUnlock()
		h.mu.Lock()
		if te = h.topics[f.Topic]; te == nil {
			te = &topicEntry{}
			h.topics[f.Topic] = te
		}
		h.mu.Unlock()
		h.mu.RLock()
	}
	te.last.Store(f)
	h.head.Store(f.Seq)
	h.fanList(&te.exact, f)
	h.wild.match(f.Topic, f, h)
	h.mu.RUnlock()
	h.notify(f.Seq)
}

func (h *Hub) isLoaded() bool {
	select {
	case <-h.loaded:
		return true
	default:
		return false
	}
}

// fanList queues f on every session of l that has not had it yet.
func (h *Hub) fanList(l *subList, f *Frame) {
	n := 0
	for _, x := range l.subs {
		s := x.s
		if f.Seq <= s.last || !s.push(f) {
			continue
		}
		s.last = f.Seq
		n++
	}
	if n > 0 {
		h.metrics.deliveries.Add(float64(n))
	}
}

// NewSession opens a session for a subscriber on the named transport. The
// transport must Close it when the subscriber goes.
func (h *Hub) NewSession(transport string) *Session {
	return h.NewSessionLimit(transport, h.opts.QueueSize)
}

// NewSessionLimit is NewSession with its own queue bound: a long poll's
// bound is the most messages one response carries.
func (h *Hub) NewSessionLimit(transport string, limit int) *Session {
	s := h.newSession(transport, limit, nil)
	h.register(s)
	return s
}

// newSession makes a session for register. Its transport learns that
// something was queued from notify when given, else from Wake.
func (h *Hub) newSession(transport string, limit int, notify func()) *Session {
	s := &Session{
		hub:       h,
		transport: transport,
		limit:     limit,
		notify:    notify,
		room:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		subs:      make(map[string]*sub),
	}
	if notify == nil {
		s.wake = make(chan struct{}, 1)
	}
	return s
}

// register adds s to the hub's sessions, or ends it when the hub is
// shutting down.
func (h *Hub) register(s *Session) {
	h.smu.Lock()
	closing := h.closing
	if !closing {
		h.sessions[s] = struct{}{}
	}
	h.smu.Unlock()
	if closing {
		s.end(ErrShutdown)
		return
	}
	h.metrics.sessions.WithLabelValues(s.transport).Inc()
	h.metrics.opened.WithLabelValues(s.transport).Inc()
}

// remove unregisters s from the index and the session set.
func (h *Hub) remove(s *Session) {
	h.mu.Lock()
	s.removed = true
	for p, x := range s.subs {
		h.unindex(x)
		delete(s.subs, p)
	}
	h.mu.Unlock()
	h.smu.Lock()
	if _, ok := h.sessions[s]; ok {
		delete(h.sessions, s)
		h.metrics.sessions.WithLabelValues(s.transport).Dec()
		if h.closing && len(h.sessions) == 0 {
			close(h.drained)
		}
	}
	h.smu.Unlock()
}

// index registers pattern p of s. Caller holds mu.
func (h *Hub) index(s *Session, p string) {
	if _, ok := s.subs[p]; ok || s.removed {
		return
	}
	x := &sub{s: s, pattern: p}
	if message.IsWildcard(p) {
		h.wild.list(p).add(x)
	} else {
		te := h.topics[p]
		if te == nil {
			te = &topicEntry{}
			h.topics[p] = te
		}
		te.exact.add(x)
	}
	s.subs[p] = x
}

// unindex removes one subscription. Caller holds mu.
func (h *Hub) unindex(x *sub) {
	x.list.remove(x)
	if message.IsWildcard(x.pattern) {
		h.wild.prune(x.pattern)
		return
	}
	if te := h.topics[x.pattern]; te != nil && te.last.Load() == nil && len(te.exact.subs) == 0 {
		delete(h.topics, x.pattern)
	}
}

// Shutdown ends every session with ErrShutdown, refuses new ones, and waits
// until their transports have closed them or ctx ends.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.smu.Lock()
	if !h.closing {
		h.closing = true
		if len(h.sessions) == 0 {
			close(h.drained)
		}
	}
	sessions := make([]*Session, 0, len(h.sessions))
	for s := range h.sessions {
		sessions = append(sessions, s)
	}
	h.smu.Unlock()
	for _, s := range sessions {
		s.end(ErrShutdown)
	}
	select {
	case <-h.drained:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain: %d sessions still open: %w", h.SessionCount(), ctx.Err())
	}
}

// SessionCount reports how many sessions are open.
func (h *Hub) SessionCount() int {
	h.smu.Lock()
	defer h.smu.Unlock()
	return len(h.sessions)
}

// Topics returns the known topics that start with prefix, sorted.
func (h *Hub) Topics(prefix string) []string {
	h.mu.RLock()
	out := make([]string, 0, len(h.topics))
	for t, te := range h.topics {
		if te.last.Load() != nil && strings.HasPrefix(t, prefix) {
			out = append(out, t)
		}
	}
	h.mu.RUnlock()
	sort.Strings(out)
	return out
}

// Snapshot returns the latest update of every topic matching the patterns,
// sorted by topic, and the position they are current at.
func (h *Hub) Snapshot(ctx context.Context, patterns []string) (message.Cursor, []*Frame, error) {
	if err := h.waitLoaded(ctx); err != nil {
		return message.Cursor{}, nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return message.Cursor{Epoch: h.epoch, Seq: h.head.Load()}, h.latest(patterns), nil
}

// latest collects the latest values matching patterns. Caller holds mu.
func (h *Hub) latest(patterns []string) []*Frame {
	var out []*Frame
	for t, te := range h.topics {
		f := te.last.Load()
		if f == nil {
			continue
		}
		for _, p := range patterns {
			if message.Match(p, t) {
				out = append(out, f)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}

func (h *Hub) waitLoaded(ctx context.Context) error {
	select {
	case <-h.loaded:
		return nil
	case <-ctx.Done():
		return ErrNotReady
	}
}
