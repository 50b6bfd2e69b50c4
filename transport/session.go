package transport

import (
	"context"
	"errors"
	"sync"

	"github.com/tickerd/tickerd/message"
)

// Reasons a session ends, as Session.Err reports them.
var (
	// ErrSlowConsumer: the subscriber did not read fast enough and events
	// overflowed its queue. It resumes from its cursor.
	ErrSlowConsumer = errors.New("slow consumer: queue overflowed")
	// ErrShutdown: the gateway is shutting down; reconnect elsewhere.
	ErrShutdown = errors.New("gateway shutting down")
	// ErrClosed: the session was closed by its transport.
	ErrClosed = errors.New("session closed")
)

// Session is one subscriber: its patterns and its bounded queue. The hub
// pushes into the queue; the session's transport takes from it.
type Session struct {
	hub       *Hub
	transport string

	mu    sync.Mutex
	queue []Item
	limit int
	err   error // set once, when the session ends
	wake  chan struct{}
	// notify, when set, replaces wake: it is called, never blocking, each
	// time wake would be signalled. Set at creation, never changed.
	notify func()
	room   chan struct{} // signalled by Take, for a replay waiting for room
	done   chan struct{}

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

// Transport names the transport the session serves ("ws", "sse", "poll").
func (s *Session) Transport() string { return s.transport }

// Wake is signalled when something was queued or the session ended. A
// session from StartSession has none: its writer is started instead.
func (s *Session) Wake() <-chan struct{} { return s.wake }

// Done is closed when the session ends.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err reports why the session ended, or nil while it runs.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Take moves everything queued into dst (reusing its storage) and returns
// it, with the reason the session ended once it has. Items queued before the
// end are still returned with that reason; what to do with them is the
// transport's choice.
func (s *Session) Take(dst []Item) ([]Item, error) {
	s.mu.Lock()
	dst = append(dst[:0], s.queue...)
	clear(s.queue) // let frames be collected
	s.queue = s.queue[:0]
	err := s.err
	s.mu.Unlock()
	select {
	case s.room <- struct{}{}:
	default:
	}
	return dst, err
}

// Len reports how many items are queued.
func (s *Session) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Send queues a message that answers the subscriber (hello, ack, error).
// Such messages are few and always fit: they may exceed the queue limit, as
// may the updates a resume queues under the hub lock when it hands over to
// the fan-out.
func (s *Session) Send(f *Frame) { s.enqueue(f, true) }

// enqueue appends f if the session runs and, unless force, has room. It
// reports whether f was queued, and why the session ended if it has.
func (s *Session) enqueue(f *Frame, force bool) (queued bool, end error) {
	s.mu.Lock()
	end = s.err
	if end == nil && (force || len(s.queue) < s.limit) {
		s.queue = append(s.queue, Item{Frame: f})
		queued = true
	}
	s.mu.Unlock()
	if queued {
		s.signal()
	}
	return queued, end
}

// push queues an update from the fan-out without ever blocking it. When the
// queue is full a state update replaces the pending one of its topic, which
// moves to the back so positions stay in order; an update that still does
// not fit ends the session with ErrSlowConsumer. It reports whether f was
// queued.
func (s *Session) push(f *Frame) bool {
	if queued, end := s.enqueue(f, false); queued || end != nil {
		return queued
	}
	if f.Kind == message.State && s.merge(f) {
		return true
	}
	s.hub.metrics.slow.Inc()
	s.end(ErrSlowConsumer)
	return false
}

// merge replaces the pending state update of f's topic with f, at the back
// of the queue, or appends f if the queue drained meanwhile.
func (s *Session) merge(f *Frame) bool {
	s.mu.Lock()
	merged := false
	if len(s.queue) < s.limit {
		s.queue = append(s.queue, Item{Frame: f})
	} else {
		for i := len(s.queue) - 1; i >= 0; i-- {
			old := s.queue[i]
			if old.Type == "update" && old.Kind == message.State && old.Topic == f.Topic {
				copy(s.queue[i:], s.queue[i+1:])
				s.queue[len(s.queue)-1] = Item{Frame: f, Merged: old.Merged + 1}
				merged = true
				break
			}
		}
		if !merged {
			s.mu.Unlock()
			return false
		}
	}
	s.mu.Unlock()
	if merged {
		s.hub.metrics.merged.Inc()
	}
	s.signal()
	return true
}

// pushWait queues a replayed update, waiting for room: replay runs before
// the session takes live updates, so it may wait without holding anyone up.
func (s *Session) pushWait(ctx context.Context, f *Frame) error {
	for {
		queued, end := s.enqueue(f, false)
		if queued || end != nil {
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

func (s *Session) signal() {
	if s.notify != nil {
		s.notify()
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// end records why the session ended, once, and wakes its transport.
func (s *Session) end(err error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.err = err
	close(s.done)
	s.mu.Unlock()
	s.signal()
}

// Fail ends the session because the server could not serve it, such as a
// stream read that failed during a resume. Its transport writes what was
// queued, then tells the subscriber the reason, so it reconnects with its
// cursor. A cancellation is not a failure and is ignored, as is a session
// that has already ended.
func (s *Session) Fail(err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	s.hub.opts.Logger.Warn("subscription failed", "transport", s.transport, "err", err)
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
// after Close and Take for a final value.
func (s *Session) Position() message.Cursor {
	s.hub.mu.RLock()
	defer s.hub.mu.RUnlock()
	return message.Cursor{Epoch: s.hub.epoch, Seq: s.last}
}
