// Package sse is the Server-Sent Events transport: a thin adapter that
// writes a transport.Session's queue as an event stream.
//
// Each message is one event: "event:" is its type, "id:" its cursor when it
// has one (so a reconnecting EventSource sends Last-Event-ID and resumes),
// and one "data:" line of JSON. What is queued when the writer wakes goes
// out in one write and one flush.
package sse

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tickerd/tickerd/transport"
)

// Options configure the SSE handler. Zero fields take the defaults.
type Options struct {
	// Heartbeat is how often a comment line is sent on a quiet stream, so
	// proxies keep it open and clients can tell it is alive. Default 25s.
	Heartbeat time.Duration
	// Retry is the reconnection delay suggested to EventSource. Default 2s.
	Retry time.Duration
	// ShutdownRetry is the delay suggested when the gateway shuts down:
	// short, since other gateways are up. Default 250ms.
	ShutdownRetry time.Duration
	// WriteTimeout bounds one write to a client. Default 10s.
	WriteTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.Heartbeat <= 0 {
		o.Heartbeat = 25 * time.Second
	}
	if o.Retry <= 0 {
		o.Retry = 2 * time.Second
	}
	if o.ShutdownRetry <= 0 {
		o.ShutdownRetry = 250 * time.Millisecond
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	return o
}

// Handler serves GET /v1/sse.
type Handler struct {
	hub  *transport.Hub
	opts Options
}

// New returns the SSE handler over hub.
func New(hub *transport.Hub, opts Options) *Handler {
	return &Handler{hub: hub, opts: opts.withDefaults()}
}

// ServeHTTP streams the subscription until the client goes or the session
// ends. A request that cannot be served (no topics, a bad topic or cursor)
// gets a JSON error instead of a stream, which EventSource does not retry.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := h.hub.ParseRequest(r, r.Header.Get("Last-Event-ID"))
	if err != nil {
		transport.WriteErr(w, err)
		return
	}
	if len(req.Patterns) == 0 {
		transport.WriteError(w, http.StatusBadRequest, transport.CodeBadRequest, `"topics" is required`)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream; charset=utf-8")
	hdr.Set("Cache-Control", "no-cache, no-transform")
	hdr.Set("X-Accel-Buffering", "no")
	if r.ProtoMajor == 1 {
		hdr.Set("Connection", "keep-alive")
	}
	w.WriteHeader(http.StatusOK)

	s := h.hub.NewSession("sse")
	defer s.Close()
	c := &conn{w: w, rc: http.NewResponseController(w), opts: h.opts}
	c.buf = strconv.AppendInt(append(c.buf, "retry: "...), h.opts.Retry.Milliseconds(), 10)
	c.buf = append(c.buf, '\n')

	ctx := r.Context()
	go func() {
		hello := transport.Hello{Transport: "sse", Heartbeat: int(h.opts.Heartbeat / time.Second)}
		s.Fail(h.hub.Open(ctx, s, hello, req, nil))
	}()
	transport.Pump(ctx, s, c, h.opts.Heartbeat)
}

// conn frames a session's messages as server-sent events.
type conn struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	opts Options
	buf  []byte // may hold a retry line not yet written
}

// Write sends the items as events, in one write and one flush.
func (c *conn) Write(_ context.Context, items []transport.Item) error {
	for _, it := range items {
		c.buf = append(c.buf, "event: "...)
		c.buf = append(c.buf, it.Type...)
		if len(it.Cursor) > 0 {
			c.buf = append(c.buf, "\nid: "...)
			c.buf = append(c.buf, it.Cursor...)
		}
		c.buf = append(c.buf, "\ndata: "...)
		c.buf = it.AppendJSON(c.buf)
		c.buf = append(c.buf, "\n\n"...)
	}
	return c.flush()
}

// Heartbeat writes a comment line, which EventSource ignores.
func (c *conn) Heartbeat(context.Context) error {
	c.buf = append(c.buf, ": ping\n\n"...)
	return c.flush()
}

// End tells the client why the stream ends, with a short retry on
// shutdown so EventSource reconnects, to another gateway, at once.
func (c *conn) End(reason error) {
	if reason == nil || errors.Is(reason, transport.ErrClosed) {
		return
	}
	if errors.Is(reason, transport.ErrShutdown) {
		c.buf = strconv.AppendInt(append(c.buf, "retry: "...), c.opts.ShutdownRetry.Milliseconds(), 10)
		c.buf = append(c.buf, '\n')
	}
	code, _ := transport.ErrorCode(reason)
	f := transport.ErrorFrame(nil, code, reason.Error()+": reconnect with Last-Event-ID")
	_ = c.Write(context.Background(), []transport.Item{{Frame: f}})
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
