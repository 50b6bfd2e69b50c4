package ws

import (
	"net"
	"sync"
	"syscall"
	"time"
)

// frameWriter is the one way onto a connection's socket: the server owns
// the framing of what it sends, and every frame, data or control, goes out
// whole under mu, so none interleaves with another.
//
// The server writes its data frames here itself: an update's frame is
// built once and the same bytes go to every subscriber it is written to
// (see wire.Frame.WS), where the library would frame each message again
// per connection behind its own locks. The library still does the
// handshake, reads, and answers what it reads: pongs, the close
// handshake, protocol errors. It writes those through a small bufio.Writer
// over this frameWriter (see sizedHijacker); it flushes after every
// control frame and a control frame (at most 127 bytes from a server)
// fits that buffer, so each reaches Write whole, in one call, and takes
// its turn under mu. Once a close frame has passed, data frames are
// refused, as RFC 6455 §5.5.1 asks.
//
// A write first goes straight to the socket without blocking and without
// a deadline: it almost always fits the send buffer. Only what does not
// fit waits for the client, under a deadline of the write timeout, so a
// stalled client is still cut within it at the cost of two deadline
// updates on that slow path alone.
type frameWriter struct {
	mu        sync.Mutex
	nc        net.Conn
	raw       syscall.RawConn // nil: every write waits under a deadline
	timeout   time.Duration
	closeSent bool

	// The non-blocking attempt's argument and result, under mu, so that
	// its callback is made once per connection, not once per write.
	p   []byte
	err error
	try func(fd uintptr) bool
}

func newFrameWriter(nc net.Conn, timeout time.Duration) *frameWriter {
	w := &frameWriter{nc: nc, timeout: timeout}
	w.raw = rawConn(nc)
	if w.raw != nil {
		w.try = w.attempt
	}
	return w
}

// opClose is the first byte of a final close frame.
const opClose = 0x88

// Write takes the library's control frames, one whole frame per call.
func (w *frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(p) > 0 && p[0] == opClose {
		w.closeSent = true
	}
	if err := w.write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeFrame writes one data frame the server built.
func (w *frameWriter) writeFrame(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closeSent {
		return net.ErrClosed
	}
	return w.write(p)
}

// write writes p whole, under mu.
func (w *frameWriter) write(p []byte) error {
	if w.raw != nil {
		w.p, w.err = p, nil
		if err := w.raw.Write(w.try); err != nil {
			return err
		}
		p, w.p = w.p, nil
		if w.err != nil || len(p) == 0 {
			return w.err
		}
	}
	_ = w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	_, err := w.nc.Write(p)
	_ = w.nc.SetWriteDeadline(time.Time{})
	return err
}
