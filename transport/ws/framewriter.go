package ws

import (
	"github.com/tickerd/tickerd/transport/socket"
)

// frameWriter is the one way onto a connection's socket: the server owns
// the framing of what it sends, and every frame, data or control, goes out
// whole through one socket.Writer, so none interleaves with another.
//
// The server writes its data frames itself: an update's frame is built
// once and the same bytes go to every subscriber it is written to (see
// wire.Frame.WS), where the library would frame each message again per
// connection behind its own locks. The library still does the handshake,
// reads, and answers what it reads: pongs, the close handshake, protocol
// errors. It writes those through a small bufio.Writer over this
// frameWriter (see sizedHijacker); it flushes after every control frame
// and a control frame (at most 127 bytes from a server) fits that buffer,
// so each reaches Write whole, in one call. A data frame the socket did
// not take whole is finished before a control frame goes out. Once a
// close frame has passed, data frames are refused, as RFC 6455 §5.5.1
// asks.
type frameWriter struct {
	*socket.Writer
}

// opClose is the first byte of a final close frame.
const opClose = 0x88

// Write takes the library's control frames, one whole frame per call.
func (w frameWriter) Write(p []byte) (int, error) {
	var err error
	if len(p) > 0 && p[0] == opClose {
		err = w.WriteLast(p)
	} else {
		err = w.Writer.Write(p)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}
