package sse

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/wire"
)

// serveStream serves the subscription as the response itself, as HTTP/2
// needs: this call waits while the session's writer writes the response,
// and returns once the stream has ended, since the response may not be
// written after.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request, p transport.Principal, req wire.Request) {
	w.WriteHeader(http.StatusOK)
	c := &conn{w: w, rc: http.NewResponseController(w), opts: h.opts, ended: make(chan struct{})}
	c.buf = wire.AppendSSERetry(c.buf, h.opts.Retry)
	s := h.hub.Connect(r.Context(), c, h.info(p), req, nil)
	defer s.Close()
	select {
	case <-c.ended:
	case <-r.Context().Done(): // the client went
		s.Close()
		<-c.ended
	}
}

// errEnded is what a write after the stream's end gets.
var errEnded = errors.New("sse: the stream has ended")

// conn writes a session's events to a response. The session's writer and
// its heartbeat timer call it; the mutex keeps them apart, and nothing is
// written once the stream has ended.
type conn struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	opts  Options
	mu    sync.Mutex
	buf   []byte // may hold a retry line not yet written
	done  bool
	ended chan struct{} // closed by End
}

// Write sends the items as events, in one write and one flush.
func (c *conn) Write(_ context.Context, items []wire.Item) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = wire.AppendSSEEvents(c.buf, items)
	return c.flush()
}

// Heartbeat has nothing to check; see rawConn.Heartbeat.
func (c *conn) Heartbeat(context.Context) error { return nil }

// End tells the client why the stream ends, and lets the handler return.
func (c *conn) End(reason error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf = wire.AppendSSEEnd(c.buf, reason, c.opts.ShutdownRetry); len(c.buf) > 0 {
		_ = c.flush()
	}
	if !c.done {
		c.done = true
		close(c.ended)
	}
}

// flush writes and flushes under a deadline, then lifts it: on HTTP/2 a
// deadline left to expire resets the stream even when nothing is written.
func (c *conn) flush() error {
	if c.done {
		c.buf = c.buf[:0]
		return errEnded
	}
	_ = c.rc.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	defer c.rc.SetWriteDeadline(time.Time{})
	_, err := c.w.Write(c.buf)
	c.buf = c.buf[:0]
	if err != nil {
		return err
	}
	return c.rc.Flush()
}
