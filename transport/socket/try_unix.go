//go:build unix

package socket

import (
	"errors"
	"net"
	"syscall"
)

// Raw is nc's socket, for writes that must not block and for readiness,
// or nil when nc has none of its own (TLS, for one, must go through its
// Write and Read).
func Raw(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// attempt writes as much of w.p as the socket takes now and leaves the
// rest in w.p; it never waits.
func (w *Writer) attempt(fd uintptr) bool {
	for len(w.p) > 0 {
		n, err := syscall.Write(int(fd), w.p)
		if n > 0 {
			w.p = w.p[n:]
		}
		switch {
		case err == nil:
		case errors.Is(err, syscall.EINTR):
		case errors.Is(err, syscall.EAGAIN):
			return true
		default:
			w.err = err
			return true
		}
	}
	return true
}
