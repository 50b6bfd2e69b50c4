package sse

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tickerd/tickerd/transport"
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
	c := &rawConn{c: nc, chunked: r.ProtoAtLeast(1, 1), opts: h.opts}
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
	if err := c.write(c.frame(head.Bytes(), wire.AppendSSERetry(nil, h.opts.Retry))); err != nil {
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

// rawConn writes a session's events to a taken-over connection. Writes
// come from the session's writer and its heartbeat timer; the mutex keeps
// each chunk whole.
type rawConn struct {
	mu      sync.Mutex
	c       net.Conn
	chunked bool
	opts    Options
}

// bufs are the event buffers of writes in progress; an idle stream holds
// none.
var bufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooled is the largest buffer kept for reuse.
const maxPooled = 256 << 10

// sizeRoom is the room kept before the events for the chunk's size line.
const sizeRoom = 18

// Write sends the items as events in one chunk and one system call: the
// size line goes into room left before them, so nothing is copied.
func (c *rawConn) Write(_ context.Context, items []wire.Item) error {
	bp := bufs.Get().(*[]byte)
	b := append((*bp)[:0], make([]byte, sizeRoom)...)
	b = wire.AppendSSEEvents(b, items)
	start := sizeRoom
	if c.chunked {
		var size [sizeRoom]byte
		line := append(strconv.AppendUint(size[:0], uint64(len(b)-sizeRoom), 16), '\r', '\n')
		start -= len(line)
		copy(b[start:], line)
		b = append(b, '\r', '\n')
	}
	err := c.write(b[start:])
	if cap(b) <= maxPooled {
		*bp = b
		bufs.Put(bp)
	}
	return err
}

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
	_ = c.write(b)
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

// write writes b whole under the write timeout.
func (c *rawConn) write(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	_, err := c.c.Write(b)
	return err
}
