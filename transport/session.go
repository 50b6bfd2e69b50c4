package transport

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// ErrClosed ends a session whose transport closed it: its subscriber went
// or its connection failed. It is not part of the contract; nothing is
// told to anyone.
var ErrClosed = errors.New("session closed")

// Session is one subscriber: its patterns and its bounded queue. The hub
// pushes into the queue; the session's writer (writer.go) hands what is
// queued to its transport's Conn. Hub.Connect makes one.
type Session struct {
	hub       *Hub
	transport string

	mu sync.Mutex
	// principal is who the session acts for; an auth command replaces
	// it, and expiry, when its token has an exp, ends the session then.
	principal Principal
	expiry    *time.Timer
	queue     []wire.Item
	limit     int
	err       error // set once, when the session ends
	// notify is called, never blocking, when something was queued or the
	// session ended: it wakes the writer. Set at creation, never changed.
	notify func()
	room   chan struct{} // signalled by take, for a replay waiting for room
	done   chan struct{}
	opened chan struct{} // closed once the connection's own request is served
	// replayWait is Info.ReplayWait: how long a resume waits for a slot.
	replayWait time.Duration
	// queued is the sequence of the newest update queued: a held update
	// (maxrate.go) goes out with its cursor moved up to it.
	queued uint64
	// gap is the max_rate as the time between two updates of a state
	// topic, 0 for none; read by the fan-out without a lock.
	gap atomic.Int64
	// held, heldTimer and heldAt are the max_rate's state (maxrate.go).
	held      map[string]*heldTopic
	heldTimer *time.Timer
	heldAt    time.Time // when heldTimer fires; zero when it does not

	// Guarded by hub.mu: read by the fan-out under its read lock, written
	// under the write lock.
	subs map[string]*sub
	// removed is set when the session leaves the hub; a subscription that
	// completes later must not index it again.
	removed bool
	// last is the sequence of the newest update queued; the fan-out skips
	// anything at or below it, so an update that matches two of the
	// session's patterns, or was already replayed, is queued once. The
	// fan-out, the one goroutine that writes it under the read lock,
	// excludes the others, which write it under the write lock.
	last uint64
}

func (h *Hub) newSession(transport string, p Principal, limit int, notify func()) *Session {
	return &Session{
		hub:       h,
		transport: transport,
		principal: p,
		limit:     limit,
		notify:    notify,
		room:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		opened:    make(chan struct{}),
		subs:      make(map[string]*sub),
	}
}

// Done is closed when the session ends.
func (s *Session) Done() <-chan struct{} { return s.done }

// Opened is closed once what the connection asked for when it connected
// (its hello, and its URL's topics) is queued, or has failed.
func (s *Session) Opened() <-chan struct{} { return s.opened }

// Err reports why the session ended, or nil while it runs.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// take moves everything queued into dst (reusing its storage) and returns
// it, with the reason the session ended once it has. Items queued before
// the end are still returned with that reason. What is taken together is
// conflated (see conflate): a subscriber that is behind gets each state
// topic once per write, however full its queue was not.
func (s *Session) take(dst []wire.Item) ([]wire.Item, error) {
	s.mu.Lock()
	// Only a full queue can have a replay waiting for room (waitRoom).
	full := len(s.queue) >= s.limit
	dst = append(dst[:0], s.queue...)
	clear(s.queue) // let frames be collected
	s.queue = s.queue[:0]
	err := s.err
	s.mu.Unlock()
	if n := len(dst); n > 1 {
		if dst = conflate(dst); len(dst) < n {
			s.hub.metrics.merged.Add(float64(n - len(dst)))
		}
	}
	if full {
		select {
		case s.room <- struct{}{}:
		default:
		}
	}
	return dst, err
}

// pending reports whether the writer has something to do: items queued,
// or the end to tell.
func (s *Session) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) > 0 || s.err != nil
}

// send queues a reply to the subscriber: an ack, an error, the snapshot a
// subscription starts with. Replies count against the queue's bound like
// updates do, and one that does not fit ends the session as a slow
// consumer: a client that keeps asking without reading must not make the
// queue grow. Only two things are queued past the bound (sendForced):
// the hello, first on an empty queue, and the updates a resume hands over
// under the hub lock, which the ring bounds.
func (s *Session) send(f *wire.Frame) {
	if queued, end := s.enqueue(f, false); !queued && end == nil {
		s.Overflow()
	}
}

// sendForced queues f past the queue's bound; see send for the two
// messages that may be.
func (s *Session) sendForced(f *wire.Frame) { s.enqueue(f, true) }

// ping queues the heartbeat message unless something waits to be written
// already, which shows liveness as well. It is queued past the bound: it
// only ever stands alone.
func (s *Session) ping() {
	s.mu.Lock()
	queued := s.err == nil && len(s.queue) == 0
	if queued {
		s.queue = append(s.queue, wire.Item{Frame: wire.Ping})
	}
	s.mu.Unlock()
	if queued {
		s.notify()
	}
}

// Overflow ends the session as a slow consumer (wire.ErrSlowConsumer), as
// when its queue overflows. A transport calls it for a client that keeps
// asking faster than it is served.
func (s *Session) Overflow() {
	if s.end(wire.ErrSlowConsumer) {
		s.hub.metrics.slow.Inc()
	}
}

// Refuse answers the subscriber with err as an error message that answers
// no command: for input the transport itself refused.
func (s *Session) Refuse(err error) { s.send(wire.ErrorFrame(nil, err)) }

// enqueue appends f if the session runs and, unless force, has room. It
// reports whether f was queued, and why the session ended if it has.
func (s *Session) enqueue(f *wire.Frame, force bool) (queued bool, end error) {
	return s.enqueueItem(wire.Item{Frame: f}, force)
}

// enqueueItem is enqueue for an item that may carry a merged count.
func (s *Session) enqueueItem(it wire.Item, force bool) (queued bool, end error) {
	s.mu.Lock()
	end = s.err
	if end == nil && (force || len(s.queue) < s.limit) {
		s.queue = append(s.queue, it)
		s.queued = max(s.queued, it.Seq)
		queued = true
	}
	s.mu.Unlock()
	if queued {
		s.notify()
	}
	return queued, end
}

// pushResult is what push did with an update.
type pushResult uint8

const (
	pushEnded    pushResult = iota // the session had ended: nothing queued
	pushQueued                     // queued
	pushMerged                     // queued in place of its topic's pending state
	pushOverflow                   // did not fit: the session ended as a slow consumer
)

// push queues an update from the fan-out without ever blocking it. When the
// queue is full a state update replaces the pending one of its topic, which
// moves to the back so positions stay in order; an update that still does
// not fit ends the session with wire.ErrSlowConsumer.
func (s *Session) push(f *wire.Frame) pushResult {
	if gap := time.Duration(s.gap.Load()); gap > 0 && f.Kind == message.State {
		if r, held := s.hold(f, gap); held {
			return r
		}
	}
	queued, end := s.enqueue(f, false)
	switch {
	case queued:
		return pushQueued
	case end != nil:
		return pushEnded
	}
	if f.Kind == message.State {
		if r := s.merge(f); r != pushOverflow {
			return r
		}
	}
	s.end(wire.ErrSlowConsumer)
	return pushOverflow
}

// merge replaces the pending state update of f's topic with f, at the back
// of the queue, or appends f if the queue drained meanwhile.
func (s *Session) merge(f *wire.Frame) pushResult {
	s.mu.Lock()
	r := pushOverflow
	if len(s.queue) < s.limit {
		s.queue = append(s.queue, wire.Item{Frame: f})
		s.queued = max(s.queued, f.Seq)
		r = pushQueued
	} else {
		for i := len(s.queue) - 1; i >= 0; i-- {
			old := s.queue[i]
			if old.Type == wire.TypeUpdate && old.Kind == message.State && old.Topic == f.Topic {
				copy(s.queue[i:], s.queue[i+1:])
				s.queue[len(s.queue)-1] = wire.Item{Frame: f, Merged: old.Merged + 1}
				s.queued = max(s.queued, f.Seq)
				r = pushMerged
				break
			}
		}
	}
	s.mu.Unlock()
	if r != pushOverflow {
		s.notify()
	}
	return r
}

// pushWait queues a replayed update, waiting for room: replay runs before
// the session takes live updates, so it may wait without holding anyone up.
func (s *Session) pushWait(ctx context.Context, it wire.Item) error {
	for {
		if err := s.waitRoom(ctx); err != nil {
			return err
		}
		if queued, end := s.enqueueItem(it, false); queued || end != nil {
			return end
		}
	}
}

// waitRoom returns once the queue has room for one more message, or the
// session or ctx has ended.
func (s *Session) waitRoom(ctx context.Context) error {
	for {
		s.mu.Lock()
		room, end := len(s.queue) < s.limit, s.err
		s.mu.Unlock()
		if end != nil || room {
			return end
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
		case <-s.room:
		}
	}
}

// end records why the session ended, once, and wakes its writer. It
// reports whether this call ended it.
func (s *Session) end(err error) bool {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return false
	}
	s.err = err
	close(s.done)
	if s.expiry != nil {
		s.expiry.Stop()
	}
	if s.heldTimer != nil {
		s.heldTimer.Stop()
	}
	s.mu.Unlock()
	s.notify()
	return true
}

// fail ends the session because the server could not serve it, such as a
// stream read that failed during a resume. Its writer writes what was
// queued, then tells the subscriber the reason, so it reconnects with its
// cursor. A cancellation is not a failure and is ignored, as is a session
// that has already ended.
func (s *Session) fail(err error) {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || s.Err() != nil {
		return
	}
	level := slog.LevelWarn
	if errors.Is(err, wire.ErrOverloaded) {
		level = slog.LevelDebug // shedding load is no failure to be told of each time
	}
	s.hub.opts.Logger.Log(context.Background(), level, "subscription failed", "transport", s.transport, "err", err)
	s.end(err)
}

// Close removes the session from the hub, then ends it. Its transport calls
// it when the connection goes; calling it again does nothing. Once Close
// returns, Position is final and everything up to it was queued.
func (s *Session) Close() {
	s.hub.remove(s)
	s.end(ErrClosed)
}

// Position is the cursor a subscriber that has read everything queued on s
// may resume from: every matching update up to it has been queued. Read it
// after Close for a final value.
func (s *Session) Position() message.Cursor {
	s.hub.mu.RLock()
	defer s.hub.mu.RUnlock()
	return message.Cursor{Epoch: s.hub.epoch, Seq: s.last}
}
