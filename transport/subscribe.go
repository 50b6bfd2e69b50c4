package transport

import (
	"context"
	"fmt"

	"github.com/tickerd/tickerd/message"
)

// replayChunk is how many ring entries a resume copies per look at the ring.
const replayChunk = 256

// Subscribe adds valid patterns to s and queues what the contract owes for
// them. With from nil: a snapshot of their latest values, then live updates.
// With from: every update after it on those topics, in order, then live
// updates; or, when from is of an earlier stream or past retention, a
// snapshot with reset set. Patterns s already has are ignored.
func (h *Hub) Subscribe(ctx context.Context, s *Session, patterns []string, from *message.Cursor) error {
	if err := h.waitLoaded(ctx); err != nil {
		return err
	}
	fresh, err := h.fresh(s, patterns)
	if err != nil {
		return err
	}
	if len(fresh) == 0 {
		return nil
	}
	if from == nil {
		h.attach(s, fresh, false)
		return nil
	}
	return h.resume(ctx, s, fresh, *from)
}

// fresh returns the patterns s does not have yet, or ErrTooManyTopics when
// adding them would pass the limit. Only a session's own reader subscribes
// it, so the answer holds until that reader subscribes.
func (h *Hub) fresh(s *Session, patterns []string) ([]string, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	fresh := make([]string, 0, len(patterns))
	for _, p := range patterns {
		if _, ok := s.subs[p]; !ok {
			fresh = append(fresh, p)
		}
	}
	if len(s.subs)+len(fresh) > h.opts.MaxTopics {
		return nil, h.tooManyTopics()
	}
	return fresh, nil
}

func (h *Hub) tooManyTopics() error {
	return fmt.Errorf("%w: at most %d per connection", ErrTooManyTopics, h.opts.MaxTopics)
}

// attach registers patterns and queues their snapshot in one step.
func (h *Hub) attach(s *Session, patterns []string, reset bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	head := h.head.Load()
	s.Send(snapshotFrame(message.Cursor{Epoch: h.epoch, Seq: head}, reset, h.latest(patterns)))
	for _, p := range patterns {
		h.index(s, p)
	}
	s.last = max(s.last, head)
}

// resume queues every update after c on the patterns, reading the stream
// for what the ring no longer holds, then registers the patterns. Replayed
// updates wait for room in the queue; live ones are not routed to s until
// the replay has caught up with the ring, under the lock.
func (h *Hub) resume(ctx context.Context, s *Session, patterns []string, c message.Cursor) error {
	if c.Epoch != h.epoch {
		h.attach(s, patterns, true)
		return nil
	}
	pos := c.Seq
	if pos > h.head.Load() {
		// From a gateway that is ahead of this one, or from nowhere.
		_, last, err := h.src.Bounds(ctx)
		if err != nil {
			return err
		}
		if pos > last {
			h.attach(s, patterns, true)
			return nil
		}
	}
	buf := make([]*Frame, 0, replayChunk)
	for {
		rf := h.ringFrom()
		if pos < rf {
			ok, err := h.src.Retained(ctx, pos, patterns)
			if err != nil {
				return err
			}
			if !ok {
				h.attach(s, patterns, true)
				return nil
			}
			err = h.src.Replay(ctx, pos, patterns, func(u message.Update) bool {
				if u.Seq > rf {
					return false
				}
				if s.pushWait(ctx, newUpdateFrame(&u, h.epoch)) != nil {
					return false
				}
				h.metrics.replayed.Inc()
				pos = u.Seq
				return true
			})
			if err != nil {
				return err
			}
			if err := s.Err(); err != nil {
				return err
			}
			pos = max(pos, rf)
			continue
		}
		var ok bool
		buf, ok = h.ring.after(pos, buf[:0], replayChunk)
		if !ok {
			continue
		}
		if len(buf) > 0 {
			for _, f := range buf {
				if matchAny(patterns, f.Topic) {
					if err := s.pushWait(ctx, f); err != nil {
						return err
					}
					h.metrics.replayed.Inc()
				}
				pos = f.Seq
			}
			continue
		}
		if h.finishResume(s, patterns, pos) {
			return nil
		}
	}
}

// finishResume queues what the ring got since the last look and registers
// the patterns, under the lock so that the fan-out takes over exactly where
// the replay ends. It reports false when the ring moved past pos meanwhile.
func (h *Hub) finishResume(s *Session, patterns []string, pos uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	rest, ok := h.ring.after(pos, nil, h.opts.RingSize)
	if !ok {
		return false
	}
	for _, f := range rest {
		if matchAny(patterns, f.Topic) {
			s.Send(f)
			h.metrics.replayed.Inc()
		}
		pos = f.Seq
	}
	for _, p := range patterns {
		h.index(s, p)
	}
	// The ring may hold updates the fan-out has not routed yet; they were
	// queued above, and s.last keeps the fan-out from queueing them again.
	s.last = max(s.last, pos)
	return true
}

func (h *Hub) ringFrom() uint64 {
	h.ring.mu.RLock()
	defer h.ring.mu.RUnlock()
	return h.ring.from
}

// Unsubscribe removes patterns from s; patterns it does not have are ignored.
func (h *Hub) Unsubscribe(s *Session, patterns []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range patterns {
		if x, ok := s.subs[p]; ok {
			h.unindex(x)
			delete(s.subs, p)
		}
	}
}

// Patterns returns how many patterns s has.
func (h *Hub) Patterns(s *Session) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(s.subs)
}

func matchAny(patterns []string, topic string) bool {
	for _, p := range patterns {
		if message.Match(p, topic) {
			return true
		}
	}
	return false
}
