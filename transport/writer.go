package transport

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// StartSession opens a session whose queue is written to c by a goroutine
// that runs only while something is queued, and whose heartbeat is a timer
// that fires when nothing was written for a whole interval: an idle
// connection costs no goroutine here. c's Heartbeat may be called while a
// Write runs. The transport still calls Close when its connection goes.
func (h *Hub) StartSession(ctx context.Context, transport string, c Conn, heartbeat time.Duration) *Session {
	w := &writer{ctx: ctx, c: c, heartbeat: heartbeat}
	w.s = h.newSession(transport, h.opts.QueueSize, w.wake)
	w.beat = time.AfterFunc(heartbeat, w.onBeat)
	h.register(w.s) // may end it at once, which starts the writer
	return w.s
}

// writer is StartSession's on-demand writer.
type writer struct {
	ctx       context.Context
	s         *Session
	c         Conn
	heartbeat time.Duration
	beat      *time.Timer

	running atomic.Bool // a writer goroutine is on its way or writing
	wrote   atomic.Bool // since the last beat: a busy connection needs none
	over    atomic.Bool // the connection has ended
}

// items are the writers' scratch slices: only running writers hold one.
var items = sync.Pool{New: func() any { return new([]Item) }}

// wake is the session's signal: it starts a writer unless one runs.
func (w *writer) wake() {
	if w.running.CompareAndSwap(false, true) {
		go w.run()
	}
}

// run writes until the queue is empty, then stops; a signal that came
// while it was stopping starts it over.
func (w *writer) run() {
	buf := items.Get().(*[]Item)
	defer items.Put(buf)
	for {
		if w.over.Load() {
			w.running.Store(false)
			return
		}
		var wrote, over bool
		*buf, wrote, over = flush(w.ctx, w.s, w.c, *buf)
		if wrote {
			w.wrote.Store(true)
		}
		if over {
			w.over.Store(true)
			w.beat.Stop()
			// A connection that failed ends its session too, so that a
			// replay waiting for room gives up.
			w.s.end(ErrClosed)
			continue
		}
		w.running.Store(false)
		// A wake that found running set before the Store above queued
		// something this run has not taken: take it, unless another run
		// already has.
		if w.s.Len() == 0 && w.s.Err() == nil || !w.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// onBeat runs on the heartbeat timer's own goroutine.
func (w *writer) onBeat() {
	if w.over.Load() {
		return
	}
	if !w.wrote.Swap(false) {
		// A heartbeat that fails closes the connection, so its reader
		// fails and closes the session.
		_ = w.c.Heartbeat(w.ctx)
	}
	w.beat.Reset(w.heartbeat)
}

// flush writes everything s has queued to c in one Write (what the writer
// wakes to find goes out together) and, once s has ended, tells c why. It
// reports whether it wrote and whether the connection is over. Items queued before a shutdown are written before the
// end is told; on a slow consumer they are dropped, since the subscriber
// resumes from its cursor anyway. items is scratch space, returned for
// reuse.
func flush(ctx context.Context, s *Session, c Conn, items []Item) (_ []Item, wrote, over bool) {
	items, end := s.Take(items)
	if end == ErrSlowConsumer {
		clear(items)
		c.End(end)
		return items[:0], false, true
	}
	if len(items) > 0 {
		err := c.Write(ctx, items)
		clear(items) // let frames be collected
		if err != nil {
			c.End(nil)
			return items[:0], false, true
		}
		wrote = true
	}
	if end != nil {
		c.End(end)
		return items[:0], wrote, true
	}
	return items[:0], wrote, false
}
