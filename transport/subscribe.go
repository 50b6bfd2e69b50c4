package transport

import (
	"context"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// Admit checks, before anything streams, that req is within the topic
// limit, that p may read its patterns and, when it starts with a snapshot,
// that the snapshot is within its limit. Transports call it before
// Hub.Connect, so that a refusal is an HTTP error rather than the end of a
// stream, and Connect subscribes what it admitted without asking again.
// Later subscribe commands are admitted one by one.
func (h *Hub) Admit(ctx context.Context, p Principal, req wire.Request) error {
	if len(req.Patterns) > h.opts.MaxTopics {
		return wire.TooManyTopics(h.opts.MaxTopics)
	}
	if err := h.authorize(ctx, p, req.Patterns); err != nil {
		return err
	}
	if req.From == nil && len(req.Patterns) > 0 {
		return h.checkSnapshot(ctx, req.Patterns)
	}
	return nil
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
	if err := h.authorize(ctx, s.Principal(), patterns); err != nil {
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
// snapshot with reset set. ack, when not nil, is queued first: the answer
// to the command that asked. A snapshot without from is read before the
// ack, so that wire.ErrTooManyMatches answers the command instead, and
// nothing is queued.
func (h *Hub) start(ctx context.Context, s *Session, fresh []string, from *message.Cursor, ack *wire.Frame) error {
	if len(fresh) == 0 {
		if ack != nil {
			s.send(ack)
		}
		return nil
	}
	if err := h.waitLoaded(ctx); err != nil {
		return err
	}
	if from == nil {
		return h.attach(ctx, s, fresh, false, ack)
	}
	if ack != nil {
		s.send(ack)
		if err := s.Err(); err != nil {
			return err // the ack did not fit: nothing more to serve
		}
	}
	return h.resume(ctx, s, fresh, *from)
}

// attach queues a snapshot of the patterns and registers them, so that
// the fan-out takes over exactly where the snapshot ends (snapshot.go).
// ack, when not nil, is queued just before the snapshot.
func (h *Hub) attach(ctx context.Context, s *Session, patterns []string, reset bool, ack *wire.Frame) error {
	_, err := h.snapshot(ctx, patterns, func(g *gathered) {
		if s.removed {
			return // closed meanwhile: its position must not move
		}
		if ack != nil {
			s.send(ack)
		}
		s.send(wire.SnapshotFrame(message.Cursor{Epoch: h.epoch, Seq: g.pos}, reset, g.items))
		h.indexAll(s, patterns)
		s.last = max(s.last, g.pos)
	})
	return err
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

// patterns returns the patterns s has.
func (h *Hub) patterns(s *Session) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]string, 0, len(s.subs))
	for p := range s.subs {
		out = append(out, p)
	}
	return out
}

// patternCount reports how many patterns s has.
func (h *Hub) patternCount(s *Session) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(s.subs)
}
