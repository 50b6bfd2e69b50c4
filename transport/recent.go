package transport

import (
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// Recent appends to dst, at most max, what a resume from from on the
// patterns would queue first, when the ring alone answers it: for a long
// poll whose answer is already here, which then needs no session. ok is
// false, and the caller opens a session, whenever a resume would do
// anything else: the hub is not loaded or is shutting down, from is of
// another stream, ahead of the head or further behind it than
// Options.MaxReplay (a reset), or older than the ring (a stream read). ok
// with nothing appended means nothing after from matches yet.
//
// As a resume does (replayWalk.conflate in replay.go), it reads the range
// up to the head twice: the first look learns each state topic's last
// position, the second keeps every event and, of each state topic, only
// that last update, with "merged" for the others.
func (h *Hub) Recent(from message.Cursor, patterns []string, max int, dst []wire.Item) (_ []wire.Item, ok bool) {
	if !h.isLoaded() || h.sessions.isClosing() || from.Epoch != h.epoch {
		return dst, false
	}
	end := h.head.Load()
	if from.Seq > end || end-from.Seq > h.opts.MaxReplay {
		return dst, false
	}
	var last map[string]uint64 // a state topic's last position in the range
	var count map[string]int   // and how many updates it had
	ok = h.ring.each(from.Seq, end, patterns, func(f *wire.Frame) bool {
		if f.Kind == message.State {
			if last == nil {
				last, count = make(map[string]uint64), make(map[string]int)
			}
			last[f.Topic] = f.Seq
			count[f.Topic]++
		}
		return true
	})
	if !ok {
		return dst, false
	}
	n, merged := len(dst), 0
	ok = h.ring.each(from.Seq, end, patterns, func(f *wire.Frame) bool {
		it := wire.Item{Frame: f}
		if f.Kind == message.State {
			if last[f.Topic] != f.Seq {
				merged++
				return true
			}
			it.Merged = count[f.Topic] - 1
		}
		dst = append(dst, it)
		return len(dst)-n < max
	})
	if !ok {
		return dst[:n], false
	}
	h.metrics.replayed.Add(float64(len(dst) - n))
	h.metrics.merged.Add(float64(merged))
	if len(dst) > n {
		h.metrics.ringPolls.Inc() // answered: the poll needs no session
	}
	return dst, true
}

// each calls fn, in order, on the ring's updates after seq up to end whose
// topic matches one of the patterns, until fn returns false. It looks at
// the ring a chunk at a time, so that the fan-out adding to it is never
// held up for long. ok is false when the ring no longer holds everything
// after seq.
func (r *ring) each(seq, end uint64, patterns []string, fn func(*wire.Frame) bool) (ok bool) {
	var buf [replayChunk]*wire.Frame
	for seq < end {
		got, last, more, ok := r.matching(seq, patterns, buf[:0], replayChunk, replayChunk)
		for _, f := range got {
			if f.Seq > end || !fn(f) {
				clear(buf[:])
				return true
			}
		}
		clear(buf[:])
		if !ok {
			return false
		}
		if !more {
			break
		}
		seq = last
	}
	return true
}

// matching appends to dst the updates after seq whose topic matches one of
// the patterns, until dst holds max or scan entries were looked at, and
// returns the sequence of the last entry looked at. more says entries
// after it remain. ok is false when the ring no longer holds everything
// after seq. One look holds the lock for at most scan entries, so that the
// fan-out adding to the ring is never held up for long.
func (r *ring) matching(seq uint64, patterns []string, dst []*wire.Frame, max, scan int) (_ []*wire.Frame, last uint64, more, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if seq < r.from {
		return dst, seq, false, false
	}
	i := r.search(seq)
	last = seq
	for end := min(r.n, i+scan); i < end && len(dst) < max; i++ {
		f := r.at(i)
		if matchAny(patterns, f.Topic) {
			dst = append(dst, f)
		}
		last = f.Seq
	}
	return dst, last, i < r.n, true
}
