// Package socket is the one way a streaming transport writes to its
// connection: whole messages, one writer at a time, first without waiting.
//
// A write almost always fits the socket's send buffer, so it goes straight
// to the socket in one system call, with no deadline to set or clear. Only
// what does not fit waits for the client, under a deadline of the write
// timeout, and only where the caller chooses to wait: TryWrite keeps the
// rest, and WriteRest writes it. The session writers of the transport
// package use this to serve every connection from a fixed pool of
// goroutines (transport/pool.go) and hand a connection that would block to
// a goroutine of its own, so a stalled client never holds the pool up.
//
// Anything else written to the connection (a WebSocket control frame, the
// end of a stream) goes through Write or WriteLast, which finish the rest
// first: a message is never cut by another.
package socket

import (
	"net"
	"sync"
	"syscall"
	"time"
)

// Writer writes to one connection. Its methods may be called from several
// goroutines; each message goes out whole, in the order the calls take
// the Writer's lock.
type Writer struct {
	mu      sync.Mutex
	nc      net.Conn
	raw     syscall.RawConn // nil: nc has no descriptor of its own (TLS): every write waits
	timeout time.Duration
	last    bool // WriteLast has written: nothing more goes out

	// rest is what TryWrite could not write at once, from buf, the pooled
	// buffer it lies in (nil for bytes the caller shares, such as a frame
	// built once for every subscriber).
	rest []byte
	buf  *[]byte

	// The non-blocking attempt's argument and result, under mu, so that
	// its callback is made once per connection, not once per write.
	p   []byte
	err error
	try func(fd uintptr) bool
}

// NewWriter returns the Writer of nc; a write that has to wait for the
// client waits at most timeout.
func NewWriter(nc net.Conn, timeout time.Duration) *Writer {
	w := &Writer{nc: nc, timeout: timeout}
	w.raw = Raw(nc)
	if w.raw != nil {
		w.try = w.attempt
	}
	return w
}

// CanTry reports whether TryWrite can write without waiting. Without it
// (a TLS connection), TryWrite waits for the client as Write does.
func (w *Writer) CanTry() bool { return w.raw != nil }

// TryWrite writes p, as much of it as the socket takes now, and keeps the
// rest for WriteRest, which must be called before the next TryWrite; it
// reports whether there is a rest. p lies in buf, a buffer from Buffer,
// which the Writer returns to the pool once p is written; buf is nil when
// p is shared and must only not change.
func (w *Writer) TryWrite(p []byte, buf *[]byte) (rest bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.finish(); err != nil {
		Release(buf)
		return false, err
	}
	if w.last {
		Release(buf)
		return false, net.ErrClosed
	}
	p, err = w.attemptWrite(p)
	if err != nil || len(p) == 0 {
		Release(buf)
		return false, err
	}
	w.rest, w.buf = p, buf
	return true, nil
}

// WriteRest writes what TryWrite left, waiting for the client at most the
// write timeout.
func (w *Writer) WriteRest() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.finish()
}

// Write writes p whole after any rest, waiting for the client at most the
// write timeout: for what the Writer's owner must send between messages,
// such as a WebSocket control frame. After WriteLast it writes nothing
// and returns net.ErrClosed.
func (w *Writer) Write(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last {
		return net.ErrClosed
	}
	return w.write(p)
}

// WriteLast is Write for the last thing the connection carries (a close
// frame, the end of a stream): every write after it is refused with
// net.ErrClosed.
func (w *Writer) WriteLast(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last {
		return net.ErrClosed
	}
	err := w.write(p)
	w.last = true
	return err
}

// write writes the rest, then p, under mu.
func (w *Writer) write(p []byte) error {
	if err := w.finish(); err != nil {
		return err
	}
	p, err := w.attemptWrite(p)
	if err != nil || len(p) == 0 {
		return err
	}
	return w.wait(p)
}

// finish writes the rest, if any, waiting for it, under mu.
func (w *Writer) finish() error {
	if w.rest == nil {
		return nil
	}
	err := w.wait(w.rest)
	Release(w.buf)
	w.rest, w.buf = nil, nil
	return err
}

// attemptWrite writes what the socket takes of p now and returns the
// rest; without a descriptor it writes nothing and returns p.
func (w *Writer) attemptWrite(p []byte) ([]byte, error) {
	if w.raw == nil {
		return p, nil
	}
	w.p, w.err = p, nil
	if err := w.raw.Write(w.try); err != nil {
		w.p = nil
		return nil, err
	}
	p, w.p = w.p, nil
	return p, w.err
}

// wait writes p whole, waiting for the client under the write timeout:
// the only writes that set a deadline.
func (w *Writer) wait(p []byte) error {
	_ = w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	_, err := w.nc.Write(p)
	_ = w.nc.SetWriteDeadline(time.Time{})
	return err
}
