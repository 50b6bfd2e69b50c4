package transport

import (
	"context"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// replayChunk is how many ring entries a resume copies per look at the ring.
const replayChunk = 256

// A page is what a resume reads from the stream in one go, holding a slot:
// at most replayPage updates or about replayPageBytes of them. It is also
// what a resume holds besides its queue while the subscriber reads.
const (
	replayPage      = 256
	replayPageBytes = 1 << 20
)

// resume queues every update after c on the patterns, reading the stream
// for what the ring no longer holds, then registers the patterns. Replayed
// updates wait for room in the queue; live ones are not routed to s until
// the replay has caught up with the ring, under the lock.
//
// Its cost is bounded before it is paid: a cursor more than
// Options.MaxReplay behind the head is a reset, decided from the hub's
// head alone; the stream is read a page at a time, each under one of
// Options.MaxReplays slots, which is never held while the subscriber
// reads.
func (h *Hub) resume(ctx context.Context, s *Session, patterns []string, c message.Cursor) error {
	if c.Epoch != h.epoch {
		return h.reset(ctx, s, patterns)
	}
	pos := c.Seq
	if head := h.head.Load(); pos > head {
		// From a gateway that is ahead of this one, or from nowhere.
		_, last, err := h.src.Bounds(ctx)
		if err != nil {
			return err
		}
		if pos > last {
			return h.reset(ctx, s, patterns)
		}
	} else if head-pos > h.opts.MaxReplay {
		return h.reset(ctx, s, patterns)
	}
	buf := make([]*wire.Frame, 0, replayChunk)
	since := time.Now()
	checked := false // whether the stream was asked if it retains pos
	for {
		rf := h.ring.floor()
		if pos < rf {
			page, full, ok, err := h.readPage(ctx, s, patterns, pos, rf, !checked, since, buf[:0])
			checked = true
			if err != nil {
				return err
			}
			if !ok {
				return h.reset(ctx, s, patterns)
			}
			for i, f := range page {
				if err := s.pushWait(ctx, f); err != nil {
					return err
				}
				page[i] = nil // let it be collected once written
				h.metrics.replayed.Inc()
				pos = f.Seq
			}
			if !full {
				// Everything up to rf is queued.
				pos = max(pos, rf)
			}
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

// readPage reads from the stream, holding a replay slot, the updates after
// pos up to rf on the patterns, at most a page of them, into dst. full
// says the page stopped at its bound, so that more may follow its last.
// ok is false when the stream no longer holds everything after pos: the
// first page asks the stream (Source.Retained); every page checks, once
// read, that the stream's front had not passed pos, so that nothing
// retention removed meanwhile is silently skipped.
func (h *Hub) readPage(ctx context.Context, s *Session, patterns []string, pos, rf uint64, first bool, since time.Time, dst []*wire.Frame) (_ []*wire.Frame, full, ok bool, err error) {
	release, err := h.replays.acquire(ctx, s, since)
	if err != nil {
		return dst, false, false, err
	}
	defer release()
	if first {
		if ok, err := h.src.Retained(ctx, pos, patterns); err != nil || !ok {
			return dst, false, false, err
		}
	}
	size := 0
	err = h.src.Replay(ctx, pos, patterns, func(u message.Update) bool {
		if u.Seq > rf {
			return false
		}
		f := wire.UpdateFrame(&u, h.epoch)
		dst = append(dst, f)
		size += len(f.JSON)
		full = len(dst) == replayPage || size >= replayPageBytes
		return !full
	})
	if err != nil {
		return dst, false, false, err
	}
	front, _, err := h.src.Bounds(ctx)
	if err != nil {
		return dst, false, false, err
	}
	return dst, full, pos+1 >= front, nil
}

// reset answers a resume that cannot be served, with a snapshot that says
// so, once the queue has room for it: a replay may have filled it.
func (h *Hub) reset(ctx context.Context, s *Session, patterns []string) error {
	if err := s.waitRoom(ctx); err != nil {
		return err
	}
	return h.attach(ctx, s, patterns, true, nil)
}

// finishResume queues what the ring got since the last look and registers
// the patterns, under the lock so that the fan-out takes over exactly where
// the replay ends. It reports false when the ring moved past pos meanwhile.
// Those updates are queued past the queue's bound: at most what the ring
// got since the last look, and usually a handful.
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
			s.sendForced(f)
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
