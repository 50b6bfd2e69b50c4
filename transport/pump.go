package transport

import (
	"context"
	"time"
)

// Conn is the part of a streaming transport that differs from the others:
// how messages are framed and written, how liveness is shown, how an end is
// told.
type Conn interface {
	// Write frames the items and writes them in one go.
	Write(ctx context.Context, items []Item) error
	// Heartbeat shows the subscriber that the connection is alive.
	Heartbeat(ctx context.Context) error
	// End tells the subscriber why its session ended and closes the
	// connection. reason is nil when the connection itself failed.
	End(reason error)
}

// Pump writes what s queues to c until s ends or ctx is done, from the
// calling goroutine: for a transport whose handler must stay in the call
// (SSE's response). Everything queued when it wakes goes to one Write, and a
// connection that had nothing written for a whole heartbeat gets a
// Heartbeat. StartSession does the same without a goroutine while idle.
func Pump(ctx context.Context, s *Session, c Conn, heartbeat time.Duration) {
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
	var items []Item
	wrote := false // since the last beat: a busy connection needs none
	for {
		select {
		case <-ctx.Done():
			c.End(nil)
			return
		case <-beat.C:
			if wrote {
				wrote = false
				continue
			}
			if c.Heartbeat(ctx) != nil {
				c.End(nil)
				return
			}
		case <-s.Wake():
			var over bool
			items, wrote, over = flush(ctx, s, c, items)
			if over {
				return
			}
		}
	}
}

// flush writes everything s has queued to c in one Write and, once s has
// ended, tells c why. It reports whether it wrote and whether the
// connection is over. Items queued before a shutdown are written before the
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
