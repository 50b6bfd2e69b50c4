package ws

import (
	"bufio"
	"net"
	"net/http"
	"time"

	"github.com/tickerd/tickerd/transport/socket"
)

// sizedHijacker hands the WebSocket library a read buffer of the size the
// options ask for instead of net/http's 4 KiB, and a write buffer only as
// large as a control frame, over the connection's frameWriter: the library
// writes nothing else (see frameWriter). A connection keeps them for its
// life, so on a box that holds tens of thousands of mostly idle
// subscribers they are much of its memory.
type sizedHijacker struct {
	http.ResponseWriter
	read         int
	writeTimeout time.Duration
	conn         net.Conn      // once hijacked
	br           *bufio.Reader // once hijacked: the connection's read buffer
	// early: the client sent bytes ahead of the response. The library
	// moves them from br into a reader in front of the socket, where the
	// poller cannot see them, so they are read before any wait.
	early bool
	w     *socket.Writer // once hijacked
}

// controlBuffer holds any control frame a server sends: a 2-byte header
// and at most 125 bytes, so that each is flushed whole.
const controlBuffer = 128

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
	h.w = socket.NewWriter(c, h.writeTimeout)
	r := brw.Reader
	h.early = r.Buffered() > 0
	if !h.early {
		r = bufio.NewReaderSize(c, h.read)
	}
	h.br = r
	return c, bufio.NewReadWriter(r, bufio.NewWriterSize(frameWriter{h.w}, controlBuffer)), nil
}
