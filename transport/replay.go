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

// resume queues what a subscriber at c lacks on the patterns, reading the
// stream for what the ring no longer holds, then registers the patterns.
// Events are queued every one, in order; a state topic only its newest
// value in the range replayed, at its own position and with "merged" set
// to how many it stands for (see conflate), so a subscriber that fell
// behind catches up with the latest values at once instead of at the
// speed of its link. Replayed updates wait for room in the queue; live
// ones are not routed to s until the replay has caught up with the ring,
// under the lock.
//
// Its cost is bounded before it is paid: a cursor more than
// Options.MaxReplay behind the head is a reset, decided from the hub's
// head alone; the stream is read a page at a time, each under one of
// Options.MaxReplays slots, which is never held while the subscriber
// reads. Conflating reads each range twice (conflate), at most doubling
// that cost.
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
	w := &replayWalk{h: h, s: s, patterns: patterns, since: time.Now(), buf: make([]*wire.Frame, 0, replayChunk)}
	for {
		if head := h.head.Load(); pos < head {
			next, ok, err := w.conflate(ctx, pos, head)
			if err != nil {
				return err
			}
			if !ok {
				return h.reset(ctx, s, patterns)
			}
			pos = next
			continue
		}
		if h.finishResume(s, patterns, pos) {
			return nil
		}
	}
}

// replayWalk reads one resume's updates, from the stream below the ring's floor
// and from the ring above it.
type replayWalk struct {
	h        *Hub
	s        *Session
	patterns []string
	since    time.Time // when the resume began, for its slot's wait
	checked  bool      // whether the stream was asked if it retains the start
	buf      []*wire.Frame
}

// conflate queues the updates after pos up to about end: first it reads
// the range to learn each state topic's last position in it, then reads
// it again and queues every event and, of each state topic, the update at
// that position, which carries "merged" for the others. So the queue gets
// a subsequence of the stream, in order: every cursor it hands out is
// exact, and a subscriber cut off midway misses no state, since each one
// skipped has a newer one of its topic still ahead of its cursor. It
// returns where it got to; ok is false when the stream no longer holds
// the range.
func (w *replayWalk) conflate(ctx context.Context, pos, end uint64) (reached uint64, ok bool, err error) {
	var last map[string]uint64 // a state topic's last position in the range
	var count map[string]int   // and how many updates it had
	reached, ok, err = w.each(ctx, pos, end, func(f *wire.Frame) error {
		if f.Kind == message.State {
			if last == nil {
				last, count = make(map[string]uint64), make(map[string]int)
			}
			last[f.Topic] = f.Seq
			count[f.Topic]++
		}
		return nil
	})
	if err != nil || !ok {
		return pos, ok, err
	}
	_, ok, err = w.each(ctx, pos, reached, func(f *wire.Frame) error {
		it := wire.Item{Frame: f}
		if f.Kind == message.State {
			if last[f.Topic] != f.Seq {
				w.h.metrics.merged.Inc()
				return nil
			}
			it.Merged = count[f.Topic] - 1
		}
		if err := w.s.pushWait(ctx, it); err != nil {
			return err
		}
		w.h.metrics.replayed.Inc()
		return nil
	})
	return reached, ok, err
}

// each calls fn on every update after pos up to end on the patterns, in
// order, and returns the position it got to: end, or less when the ring
// has not got that far yet. ok is false when the stream no longer holds
// what is after pos.
func (w *replayWalk) each(ctx context.Context, pos, end uint64, fn func(*wire.Frame) error) (_ uint64, ok bool, err error) {
	h := w.h
	for pos < end {
		rf := h.ring.floor()
		if pos < rf {
			bound := min(rf, end)
			page, full, ok, err := h.readPage(ctx, w.s, w.patterns, pos, bound, !w.checked, w.since, w.buf[:0])
			w.checked = true
			if err != nil || !ok {
				return pos, ok, err
			}
			for i, f := range page {
				if err := fn(f); err != nil {
					return pos, true, err
				}
				page[i] = nil // let it be collected once written
				pos = f.Seq
			}
			w.buf = page[:0]
			if !full {
				// Everything up to bound was read.
				pos = max(pos, bound)
			}
			continue
		}
		buf, ok := h.ring.after(pos, w.buf[:0], replayChunk)
		w.buf = buf[:0]
		if !ok {
			continue // the ring moved past pos meanwhile: the stream has it
		}
		if len(buf) == 0 {
			break
		}
		for _, f := range buf {
			if f.Seq > end {
				return end, true, nil
			}
			if matchAny(w.patterns, f.Topic) {
				if err := fn(f); err != nil {
					return pos, true, err
				}
			}
			pos = f.Seq
		}
	}
	return pos, true, nil
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
