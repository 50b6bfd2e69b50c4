package sse

import (
	"context"
	"net/http"
	"time"

	"github.com/tickerd/tickerd/transport"
)

// serveStream serves the subscription from this call, as HTTP/2 needs:
// the response is the stream, and Pump writes it.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request, req transport.Request) {
	w.WriteHeader(http.StatusOK)
	s := h.hub.NewSession("sse")
	defer s.Close()
	c := &conn{w: w, rc: http.NewResponseController(w), opts: h.opts}
	c.buf = appendRetry(c.buf, h.opts.Retry)
	go h.open(r.Context(), s, req)
	transport.Pump(r.Context(), s, c, h.opts.Heartbeat)
}

// conn writes a session's events to a response.
type conn struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	opts Options
	buf  []byte // may hold a retry line not yet written
}

// Write sends the items as events, in one write and one flush.
func (c *conn) Write(_ context.Context, items []transport.Item) error {
	c.buf = appendEvents(c.buf, items)
	return c.flush()
}

// Heartbeat writes a comment line.
func (c *conn) Heartbeat(context.Context) error {
	c.buf = append(c.buf, ping...)
	return c.flush()
}

// End tells the client why the stream ends.
func (c *conn) End(reason error) {
	if c.buf = appendEnd(c.buf, reason, c.opts); len(c.buf) > 0 {
		_ = c.flush()
	}
}

// flush writes and flushes under a deadline, then lifts it: on HTTP/2 a
// deadline left to expire resets the stream even when nothing is written.
func (c *conn) flush() error {
	_ = c.rc.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	defer c.rc.SetWriteDeadline(time.Time{})
	_, err := c.w.Write(c.buf)
	c.buf = c.buf[:0]
	if err != nil {
		return err
	}
	return c.rc.Flush()
}
