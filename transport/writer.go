package transport

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/transport/wire"
)

// writer hands a session's queue to its Conn from a goroutine that runs
// only while something is queued, and shows liveness from a timer that
// fires when nothing was written for a whole interval.
type writer struct {
	ctx       context.Context
	s         *Session
	c         Conn
	heartbeat time.Duration
	beat      *time.Timer // nil without heartbeats

	running atomic.Bool // a writer goroutine is on its way or writing
	wrote   atomic.Bool // since the last beat: a busy connection needs none
	over    atomic.Bool // the connection has ended
}

// items are the writers' scratch slices: only running writers hold one.
var items = sync.Pool{New: func() any { return new([]wire.Item) }}

// wake is the session's signal: it starts a writer unless one runs.
func (w *writer) wake() {
	if w.running.CompareAndSwap(false, true) {
		go w.run()
	}
}

// run writes until the queue is empty, then stops; a signal that came
// while it was stopping starts it over.
func (w *writer) run() {
	buf := items.Get().(*[]wire.Item)
	defer items.Put(buf)
	for {
		if w.over.Load() {
			w.running.Store(false)
			return
		}
		var wrote, over bool
		*buf, wrote, over = w.flush(*buf)
		if wrote {
			w.wrote.Store(true)
		}
		if over {
			w.over.Store(true)
			if w.beat != nil {
				w.beat.Stop()
			}
			// A connection that failed ends its session too, so that a
			// replay waiting for room gives up.
			w.s.end(ErrClosed)
			continue
		}
		w.running.Store(false)
		// A wake that found running set before the Store above queued
		// something this run has not taken: take it, unless another run
		// already has.
		if w.s.len() == 0 && w.s.Err() == nil || !w.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// onBeat runs on the heartbeat timer's own goroutine. A connection that
// wrote nothing for the interval gets the ping message, which its client
// can see; every connection, busy or not, gets the Conn's own check of the
// path (a WebSocket ping whose pong is awaited), since writes to a dead
// path keep succeeding into kernel buffers.
func (w *writer) onBeat() {
	if w.over.Load() {
		return
	}
	if !w.wrote.Swap(false) {
		w.s.ping()
	}
	// A heartbeat that fails closes the connection, so its reader fails
	// and closes the session.
	_ = w.c.Heartbeat(w.ctx)
	w.beat.Reset(w.heartbeat)
}

// flush writes everything queued in one Write (what the writer wakes to
// find goes out together) and, once the session has ended, tells the Conn
// why. It reports whether it wrote and whether the connection is over.
// Items queued before a shutdown are written before the end is told; on a
// slow consumer they are dropped, since the subscriber resumes from its
// cursor anyway. items is scratch space, returned for reuse.
func (w *writer) flush(items []wire.Item) (_ []wire.Item, wrote, over bool) {
	items, end := w.s.take(items)
	if errors.Is(end, wire.ErrSlowConsumer) {
		clear(items)
		w.c.End(end)
		return items[:0], false, true
	}
	if len(items) > 0 {
		// A lone ping does not count as traffic, or a quiet connection
		// would get one every other interval only.
		wrote = len(items) > 1 || items[0].Frame != wire.Ping
		err := w.c.Write(w.ctx, items)
		clear(items) // let frames be collected
		if err != nil {
			w.c.End(nil)
			return items[:0], false, true
		}
	}
	if end != nil {
		if errors.Is(end, ErrClosed) {
			end = nil // the subscriber went, or its connection failed
		}
		w.c.End(end)
		return items[:0], wrote, true
	}
	return items[:0], wrote, false
}
