package sse

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/socket"
	"github.com/tickerd/tickerd/transport/wire"
)

// serveHijacked takes the HTTP/1.x connection over and serves the stream
// from a writer that runs only while something is queued; this call
// returns at once. It reports false, having written nothing, when the
// connection cannot be taken over.
func (h *Handler) serveHijacked(w http.ResponseWriter, r *http.Request, p transport.Principal, req wire.Request) bool {
	nc, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	// The response head, as net/http would write it, and the retry hint.
	// The body is chunked for HTTP/1.1 and ends with the connection for
	// HTTP/1.0 (nginx's default to upstreams), which knows no chunks.
	c := &rawConn{c: nc, w: socket.NewWriter(nc, h.opts.WriteTimeout), chunked: r.ProtoAtLeast(1, 1), opts: h.opts}
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 200 OK\r\n")
	hdr := w.Header().Clone()
	hdr.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	hdr.Set("Connection", "close")
	if c.chunked {
		hdr.Set("Transfer-Encoding", "chunked")
	}
	_ = hdr.Write(&head)
	head.WriteString("\r\n")
	if err := c.w.Write(c.frame(head.Bytes(), wire.AppendSSERetry(nil, h.opts.Retry))); err != nil {
		nc.Close()
		return true
	}

	// The connection outlives the request: nothing of it is kept, not
	// even its context.
	ctx, cancel := context.WithCancel(context.Background())
	s := h.hub.Connect(ctx, c, h.info(p), req, nil)
	go func() {
		// The client sends nothing more; a read ends when it goes.
		var b [64]byte
		for {
			if _, err := nc.Read(b[:]); err != nil {
				break
			}
		}
		s.Close()
		cancel()
	}()
	return true
}

// rawConn writes a session's events to a taken-over connection, through
// one socket.Writer for the session's writer and its end.
type rawConn struct {
	c       net.Conn
	w       *socket.Writer
	chunked bool
	opts    Options
}

// sizeRoom is the room kept before the events for the chunk's size line.
const sizeRoom = 18

// Write sends the items as events in one chunk, waiting for the client if
// it must.
func (c *rawConn) Write(_ context.Context, items []wire.Item) error {
	rest, err := c.TryWrite(items)
	if rest {
		err = c.w.WriteRest()
	}
	return err
}

// TryWrite is Write without waiting: what the socket does not take now is
// kept for WriteRest. The events go out as one chunk in one system call:
// the size line goes into room left before them, so nothing is copied.
func (c *rawConn) TryWrite(items []wire.Item) (rest bool, err error) {
	bp := socket.Buffer()
	b := append(*bp, make([]byte, sizeRoom)...)
	b = wire.AppendSSEEvents(b, items)
	start := sizeRoom
	if c.chunked {
		var size [sizeRoom]byte
		line := append(strconv.AppendUint(size[:0], uint64(len(b)-sizeRoom), 16), '\r', '\n')
		start -= len(line)
		copy(b[start:], line)
		b = append(b, '\r', '\n')
	}
	*bp = b
	return c.w.TryWrite(b[start:], bp)
}

// WriteRest writes what TryWrite left.
func (c *rawConn) WriteRest(context.Context) error { return c.w.WriteRest() }

// CanTry is false over TLS, where every write may wait.
func (c *rawConn) CanTry() bool { return c.w.CanTry() }

// Heartbeat has nothing to check: SSE has no acknowledgement. A dead path
// is found by the write timeout once the capped send buffer is full, and
// a quiet stream gets the ping event from the writer.
func (c *rawConn) Heartbeat(context.Context) error { return nil }

// End tells the client why the stream ends, ends the body and closes.
func (c *rawConn) End(reason error) {
	var b []byte
	if ev := wire.AppendSSEEnd(nil, reason, c.opts.ShutdownRetry); len(ev) > 0 {
		b = c.frame(b, ev)
	}
	if c.chunked {
		b = append(b, "0\r\n\r\n"...)
	}
	_ = c.w.WriteLast(b)
	c.c.Close()
}

// frame appends body to dst as one chunk, or as it is when unchunked.
func (c *rawConn) frame(dst, body []byte) []byte {
	if !c.chunked {
		return append(dst, body...)
	}
	dst = strconv.AppendUint(dst, uint64(len(body)), 16)
	dst = append(dst, '\r', '\n')
	dst = append(dst, body...)
	return append(dst, '\r', '\n')
}
