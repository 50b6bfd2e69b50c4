package transport

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/transport/wire"
)

// writer hands a session's queue to its Conn while something is queued,
// and shows liveness from a timer that fires when nothing was written for
// a whole interval. A writer whose Conn can write without waiting takes
// turns on the writer pool (pool.go); any other runs on a goroutine of its
// own, started when something is queued and gone when it is written.
type writer struct {
	ctx       context.Context
	s         *Session
	c         Conn
	try       TryConn // c, when it is one: the writer then takes pool turns
	heartbeat time.Duration
	beat      *time.Timer // nil without heartbeats

	running atomic.Bool // in the pool's queue, taking a turn, or on a goroutine of its own
	wrote   atomic.Bool // since the last beat: a busy connection needs none
	over    atomic.Bool // the connection has ended
}

func newWriter(ctx context.Context, c Conn, heartbeat time.Duration) *writer {
	w := &writer{ctx: ctx, c: c, heartbeat: heartbeat}
	if tc, ok := c.(TryConn); ok && tc.CanTry() {
		w.try = tc
	}
	return w
}

// items are the writer goroutines' scratch slices: only running writers
// hold one.
var items = sync.Pool{New: func() any { return new([]wire.Item) }}

// wake is the session's signal: it gives the writer a turn, or starts its
// goroutine, unless it has one already.
func (w *writer) wake() {
	if w.running.CompareAndSwap(false, true) {
		if w.try != nil {
			pool.add(w)
		} else {
			go w.run()
		}
	}
}

// turn is one turn in the pool: everything queued goes out in one write
// that does not wait. What would wait (the rest of a write the subscriber
// did not take, telling an end, which waits for a close handshake) is
// handed to a goroutine of the writer's own (slow). buf is the pool
// goroutine's scratch, returned for reuse.
func (w *writer) turn(buf []wire.Item) []wire.Item {
	if w.over.Load() {
		w.running.Store(false)
		return buf
	}
	items, end := w.s.take(buf)
	defer clear(items) // let frames be collected
	if end != nil {
		taken := slices.Clone(items)
		go w.slow(func() bool {
			_, over := w.deliver(taken, end)
			return over
		})
		return items[:0]
	}
	if len(items) > 0 {
		if counts(items) {
			w.wrote.Store(true)
		}
		rest, err := w.try.TryWrite(items)
		switch {
		case err != nil:
			go w.slow(w.failed)
			return items[:0]
		case rest:
			go w.slow(w.writeRest)
			return items[:0]
		}
	}
	if w.release() {
		pool.add(w) // to the back of the queue: the others have their turn first
	}
	return items[:0]
}

// slow runs a writer that left the pool on a goroutine of its own: first
// what its turn could not do without waiting, then whatever else is
// queued, until the queue is empty; its next wake gives it pool turns
// again. first reports whether the connection is over.
func (w *writer) slow(first func() (over bool)) {
	if first() {
		w.stop()
	}
	w.run()
}

// writeRest waits for the subscriber to take the rest of a write.
func (w *writer) writeRest() (over bool) {
	waiting := w.s.hub.metrics.waiting
	waiting.Inc()
	err := w.try.WriteRest(w.ctx)
	waiting.Dec()
	return err != nil && w.failed()
}

// failed ends a connection whose write failed.
func (w *writer) failed() bool {
	w.c.End(nil)
	return true
}

// release ends the writer's run and reports whether it must go on: a wake
// that found it running before the release queued something this run has
// not taken, unless another run already has.
func (w *writer) release() bool {
	w.running.Store(false)
	return w.s.pending() && w.running.CompareAndSwap(false, true)
}

// stop marks the connection over. A connection that failed ends its
// session too, so that a replay waiting for room gives up.
func (w *writer) stop() {
	w.over.Store(true)
	if w.beat != nil {
		w.beat.Stop()
	}
	w.s.end(ErrClosed)
}

// run writes until the queue is empty, waiting for the subscriber where it
// must, then stops; a signal that came while it was stopping starts it
// over.
func (w *writer) run() {
	buf := items.Get().(*[]wire.Item)
	defer items.Put(buf)
	for {
		if w.over.Load() {
			w.running.Store(false)
			return
		}
		items, end := w.s.take(*buf)
		wrote, over := w.deliver(items, end)
		clear(items) // let frames be collected
		*buf = items[:0]
		if wrote {
			w.wrote.Store(true)
		}
		if over {
			w.stop()
			continue
		}
		if !w.release() {
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

// counts reports whether writing items is traffic that makes a ping
// needless: a lone ping is not, or a quiet connection would get one every
// other interval only.
func counts(items []wire.Item) bool {
	return len(items) > 1 || items[0].Frame != wire.Ping
}

// deliver writes what take returned (waiting for the subscriber where it
// must) and, once the session has ended, tells the Conn why. It reports
// whether it wrote and whether the connection is over. Items queued
// before a shutdown are written before the end is told; on a slow
// consumer they are dropped, since the subscriber resumes from its cursor
// anyway.
func (w *writer) deliver(items []wire.Item, end error) (wrote, over bool) {
	if errors.Is(end, wire.ErrSlowConsumer) {
		w.c.End(end)
		return false, true
	}
	if len(items) > 0 {
		wrote = counts(items)
		if err := w.c.Write(w.ctx, items); err != nil {
			w.c.End(nil)
			return false, true
		}
	}
	if end != nil {
		if errors.Is(end, ErrClosed) {
			end = nil // the subscriber went, or its connection failed
		}
		w.c.End(end)
		return wrote, true
	}
	return wrote, false
}
