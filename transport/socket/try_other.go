//go:build !unix

package socket

import (
	"net"
	"syscall"
)

// Raw is nil where writes without blocking are not built: every write
// then waits under a deadline.
func Raw(net.Conn) syscall.RawConn { return nil }

func (w *Writer) attempt(uintptr) bool { return true }
