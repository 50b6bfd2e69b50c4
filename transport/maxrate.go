package transport

import (
	"time"

	"github.com/tickerd/tickerd/transport/wire"
)

// A session with a max_rate sends each state topic at most once per gap:
// an update that comes sooner is held, replacing any held before it (which
// it then stands for, as "merged"), and one timer per session sends what
// is held when its topic's gap has passed. Events are never held. The
// fan-out pays a time read and a map look-up per state update, and only
// for such sessions.

// heldTopic is one state topic of a rate-limited session. Guarded by
// Session.mu.
type heldTopic struct {
	next    time.Time   // when the topic may be sent again
	pending *wire.Frame // its newest update, held; nil when none
	merged  int         // how many updates pending stands for besides itself
}

// setMaxRate sets the session's max_rate, in updates a second per state
// topic; 0 lifts it. What is held already still goes when its time comes.
func (s *Session) setMaxRate(r float64) {
	var gap time.Duration
	if r > 0 {
		gap = max(time.Duration(float64(time.Second)/r), time.Millisecond)
	}
	s.gap.Store(int64(gap))
}

// hold decides, for a state update of a rate-limited session, whether it
// must wait. held is false when it may be queued now (its topic's gap has
// passed); then its topic's next slot is taken.
func (s *Session) hold(f *wire.Frame, gap time.Duration) (r pushResult, held bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return pushEnded, true
	}
	if s.held == nil {
		s.held = make(map[string]*heldTopic)
	}
	ht := s.held[f.Topic]
	if ht == nil {
		ht = &heldTopic{}
		s.held[f.Topic] = ht
	}
	if ht.pending == nil && !now.Before(ht.next) {
		ht.next = now.Add(gap)
		return pushQueued, false
	}
	r = pushQueued
	if ht.pending != nil {
		ht.merged++
		r = pushMerged
	}
	ht.pending = f
	s.armHeld(ht.next)
	return r, true
}

// armHeld makes sure the session's timer fires by at. Caller holds mu.
func (s *Session) armHeld(at time.Time) {
	if !s.heldAt.IsZero() && !s.heldAt.After(at) {
		return
	}
	s.heldAt = at
	if s.heldTimer == nil {
		s.heldTimer = time.AfterFunc(time.Until(at), s.sendHeld)
	} else {
		s.heldTimer.Reset(time.Until(at))
	}
}

// sendHeld runs on the session's timer: it queues each held update whose
// gap has passed, its cursor moved up to the newest position queued (see
// wire.Restamp) so that positions never go back, and forgets topics that
// are idle. A full queue keeps the rest held for another gap.
func (s *Session) sendHeld() {
	gap := time.Duration(s.gap.Load())
	now := time.Now()
	queued := false
	s.mu.Lock()
	s.heldAt = time.Time{}
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	var next time.Time
	for topic, ht := range s.held {
		switch {
		case ht.pending == nil:
			if !now.Before(ht.next) {
				delete(s.held, topic)
			}
			continue
		case now.Before(ht.next):
		case len(s.queue) >= s.limit:
			ht.next = now.Add(max(gap, time.Millisecond))
		default:
			f := ht.pending
			if s.queued > f.Seq {
				f = wire.Restamp(f, s.queued)
			}
			s.queue = append(s.queue, wire.Item{Frame: f, Merged: ht.merged})
			s.queued = max(s.queued, f.Seq)
			ht.pending, ht.merged, ht.next = nil, 0, now.Add(gap)
			queued = true
			continue
		}
		if next.IsZero() || ht.next.Before(next) {
			next = ht.next
		}
	}
	if !next.IsZero() {
		s.armHeld(next)
	}
	s.mu.Unlock()
	if queued {
		s.notify()
	}
}
