package transport

import (
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// Recent appends to dst, oldest first and at most max, the updates after
// from on the patterns, when the ring alone answers a resume from there:
// for a long poll whose answer is already here, which then needs no
// session. ok is false, and the caller opens a session, whenever a resume
// would do anything else: the hub is not loaded or is shutting down, from
// is of another stream, ahead of the head or further behind it than
// Options.MaxReplay (a reset), or older than the ring (a stream read).
// ok with nothing appended means nothing after from matches yet.
//
// The updates are those, in that order, that a session's resume would
// queue first (resume in replay.go reads the same ring the same way).
func (h *Hub) Recent(from message.Cursor, patterns []string, max int, dst []*wire.Frame) (_ []*wire.Frame, ok bool) {
	if !h.isLoaded() || h.sessions.isClosing() || from.Epoch != h.epoch {
		return dst, false
	}
	if head := h.head.Load(); from.Seq > head || head-from.Seq > h.opts.MaxReplay {
		return dst, false
	}
	n := len(dst)
	for pos := from.Seq; len(dst)-n < max; {
		var more bool
		dst, pos, more, ok = h.ring.matching(pos, patterns, dst, n+max, replayChunk)
		if !ok {
			return dst[:n], false
		}
		if !more {
			break
		}
	}
	h.metrics.replayed.Add(float64(len(dst) - n))
	if len(dst) > n {
		h.metrics.ringPolls.Inc() // answered: the poll needs no session
	}
	return dst, true
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
