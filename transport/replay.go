package transport

import (
	"context"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// replayChunk is how many ring entries a resume copies per look at the ring.
const replayChunk = 256

// resume queues every update after c on the patterns, reading the stream
// for what the ring no longer holds, then registers the patterns. Replayed
// updates wait for room in the queue; live ones are not routed to s until
// the replay has caught up with the ring, under the lock.
func (h *Hub) resume(ctx context.Context, s *Session, patterns []string, c message.Cursor) error {
	if c.Epoch != h.epoch {
		return h.attach(ctx, s, patterns, true, nil)
	}
	pos := c.Seq
	if pos > h.head.Load() {
		// From a gateway that is ahead of this one, or from nowhere.
		_, last, err := h.src.Bounds(ctx)
		if err != nil {
			return err
		}
		if pos > last {
			return h.attach(ctx, s, patterns, true, nil)
		}
	}
	buf := make([]*wire.Frame, 0, replayChunk)
	for {
		rf := h.ring.floor()
		if pos < rf {
			ok, err := h.src.Retained(ctx, pos, patterns)
			if err != nil {
				return err
			}
			if !ok {
				return h.attach(ctx, s, patterns, true, nil)
			}
			err = h.src.Replay(ctx, pos, patterns, func(u message.Update) bool {
				if u.Seq > rf {
					return false
				}
				if s.pushWait(ctx, wire.UpdateFrame(&u, h.epoch)) != nil {
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
	if s.removed {
		return true // closed meanwhile: its position must not move
	}
	rest, ok := h.ring.after(pos, nil, h.opts.RingSize)
	if !ok {
		return false
	}
	for _, f := range rest {
		if matchAny(patterns, f.Topic) {
			s.send(f)
			h.metrics.replayed.Inc()
		}
		pos = f.Seq
	}
	h.indexAll(s, patterns)
	// The ring may hold updates the fan-out has not routed yet; they were
	// queued above, and s.last keeps the fan-out from queueing them again.
	s.last = max(s.last, pos)
	return true
}
