package transport

import (
	"context"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// Admit checks, before anything streams, that a request for patterns is
// within the topic limit and that p may read them. Transports call it
// before Hub.Connect, so that a refusal is an HTTP error rather than the
// end of a stream, and Connect subscribes what it admitted without asking
// again. Later subscribe commands are admitted one by one.
func (h *Hub) Admit(ctx context.Context, p Principal, patterns []string) error {
	if len(patterns) > h.opts.MaxTopics {
		return wire.TooManyTopics(h.opts.MaxTopics)
	}
	return h.authorize(ctx, p, patterns)
}

// MaxTopics is the most patterns one session may hold: request parsers
// stop reading a topics list once it passes this.
func (h *Hub) MaxTopics() int { return h.opts.MaxTopics }

func (h *Hub) authorize(ctx context.Context, p Principal, patterns []string) error {
	if h.opts.Authorizer == nil {
		return nil
	}
	return h.opts.Authorizer.Authorize(ctx, p, patterns)
}

// admit returns the patterns s does not have yet, if s may read them and
// adding them keeps s within the topic limit. Only a session's own reader
// subscribes it, so the answer holds until that reader subscribes.
func (h *Hub) admit(ctx context.Context, s *Session, patterns []string) ([]string, error) {
	if err := h.authorize(ctx, s.principal, patterns); err != nil {
		return nil, err
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	fresh := make([]string, 0, len(patterns))
	for _, p := range patterns {
		if _, ok := s.subs[p]; !ok {
			fresh = append(fresh, p)
		}
	}
	if len(s.subs)+len(fresh) > h.opts.MaxTopics {
		return nil, wire.TooManyTopics(h.opts.MaxTopics)
	}
	return fresh, nil
}

// start queues what admitted patterns are owed and registers them. With
// from nil: a snapshot of their latest values, then live updates. With
// from: every update after it on those topics, in order, then live
// updates; or, when from is of an earlier stream or past retention, a
// snapshot with reset set.
func (h *Hub) start(ctx context.Context, s *Session, fresh []string, from *message.Cursor) error {
	if len(fresh) == 0 {
		return nil
	}
	if err := h.waitLoaded(ctx); err != nil {
		return err
	}
	if from == nil {
		h.attach(s, fresh, false)
		return nil
	}
	return h.resume(ctx, s, fresh, *from)
}

// attach registers patterns and queues their snapshot in one step.
func (h *Hub) attach(s *Session, patterns []string, reset bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.removed {
		return // closed meanwhile: its position must not move
	}
	head := h.head.Load()
	s.send(wire.SnapshotFrame(message.Cursor{Epoch: h.epoch, Seq: head}, reset, h.cache.latest(patterns)))
	h.indexAll(s, patterns)
	s.last = max(s.last, head)
}

// indexAll registers the patterns of s it does not have. Caller holds mu
// for writing.
func (h *Hub) indexAll(s *Session, patterns []string) {
	for _, p := range patterns {
		if _, ok := s.subs[p]; ok {
			continue
		}
		x := &sub{s: s, pattern: p}
		h.index.add(x)
		s.subs[p] = x
	}
}

// unsubscribe removes patterns from s; patterns it does not have are
// ignored.
func (h *Hub) unsubscribe(s *Session, patterns []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range patterns {
		if x, ok := s.subs[p]; ok {
			h.index.remove(x)
			delete(s.subs, p)
		}
	}
}

// patternCount reports how many patterns s has.
func (h *Hub) patternCount(s *Session) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(s.subs)
}
