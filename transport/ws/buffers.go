package ws

import (
	"bufio"
	"net"
	"net/http"
)

// sizedHijacker hands the WebSocket library buffers of the sizes the
// options ask for instead of net/http's 4 KiB pair. A connection keeps them
// for its life, so on a box that holds tens of thousands of mostly idle
// subscribers they are most of its memory.
type sizedHijacker struct {
	http.ResponseWriter
	read, write int
	conn        net.Conn // once hijacked
}

// Hijack takes the connection over with new buffers. By then net/http has
// flushed the handshake response, so its writer is empty; bytes a client
// sent ahead of the response would be in its reader, and then that reader
// is kept (clients wait for the 101, so it almost never is).
func (h *sizedHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = c
	r := brw.Reader
	if r.Buffered() == 0 {
		r = bufio.NewReaderSize(c, h.read)
	}
	return c, bufio.NewReadWriter(r, bufio.NewWriterSize(c, h.write)), nil
}
