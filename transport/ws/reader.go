package ws

import (
	"bufio"
	"context"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/tickerd/tickerd/transport"
)

// reader carries out what a client sends: commands, at most as fast as
// its rate allows, and pongs. It runs only while the client has sent
// something. Between messages the connection waits in the readiness
// poller (poller_linux.go) with no goroutine of its own, so an idle
// subscriber costs no stack; where there is no poller (a connection
// without a socket of its own, such as TLS, or not Linux) the reader runs
// on a goroutine for the connection's life, and waits in a shallow Peek.
//
// A client's ping or pong is taken off the buffer here, before the
// library reads: the library reads one data message per call and, having
// handled a control frame, waits in its deep read for the next data
// message, which an idle subscriber never sends.
type reader struct {
	ctx    context.Context
	cancel context.CancelFunc
	wc     *conn
	lim    *rate.Limiter
	br     *bufio.Reader
	raw    syscall.RawConn // nil: no poller; the reader has a goroutine
	id     uint64          // in the poller
	early  bool            // bytes came with the handshake (sizedHijacker)
	// watched: registered in the poller; set before the first wait,
	// under turning once turns run.
	watched bool

	// turning is held through a turn: the kernel orders one turn before
	// the next (a one-shot registration re-armed at the end of a turn),
	// but the race detector cannot see that.
	turning sync.Mutex

	throttled time.Time // since when every command had to wait for the rate

	mu       sync.Mutex
	s        *transport.Session // set by begin
	over     bool
	finished chan struct{} // closed by close
}

func newReader(ctx context.Context, cancel context.CancelFunc, wc *conn, lim *rate.Limiter, br *bufio.Reader, raw syscall.RawConn) *reader {
	return &reader{ctx: ctx, cancel: cancel, wc: wc, lim: lim, br: br, raw: raw, finished: make(chan struct{})}
}

// begin starts reading for s: at once if bytes came with the handshake,
// else once the client sends some.
func (r *reader) begin(s *transport.Session) {
	r.mu.Lock()
	r.s = s
	over := r.over
	r.mu.Unlock()
	if over {
		s.Close()
		return
	}
	p := thePoller()
	if p == nil || r.raw == nil {
		go r.loop()
		return
	}
	if r.early {
		go r.turn()
		return
	}
	r.watched = true
	if err := p.watch(r); err != nil {
		go r.loop()
	}
}

// loop is the reader on a goroutine of its own.
func (r *reader) loop() {
	for r.next() {
	}
}

// turn reads what the client sent, then waits in the poller again.
func (r *reader) turn() {
	r.turning.Lock()
	for {
		if !r.next() {
			r.turning.Unlock()
			return
		}
		if r.br.Buffered() == 0 {
			break
		}
	}
	// Re-armed, the poller reports bytes that came meanwhile at once. A
	// first turn, for bytes that came with the handshake, registers.
	var err error
	if r.watched {
		err = thePoller().rearm(r)
	} else {
		r.watched = true
		err = thePoller().watch(r)
	}
	r.turning.Unlock()
	if err != nil {
		r.close()
	}
}

// next reads one pong or one message and carries it out. It reports false
// once reading is over: the connection failed or closed, or the session
// ended (a failure of the server's, or a client that sent more than it
// read and overflowed its queue with answers). What the client sends then
// stays in the socket, so it costs nothing, while the writer tells it the
// reason and closes the connection. A client that breaks the WebSocket
// protocol is closed with 1002.
func (r *reader) next() bool {
	head, err := r.br.Peek(2)
	if err != nil {
		r.close()
		return false
	}
	if op, n := controlSize(head); n > 0 {
		frame, err := r.br.Peek(n)
		if err != nil {
			r.close()
			return false
		}
		if op == opPing {
			// Answered here, as the library would, so that it does
			// not wait for a data message after it.
			err = r.wc.w.Write(pongFrame(frame))
		} else {
			r.wc.ponged()
		}
		_, _ = r.br.Discard(n)
		if err != nil {
			r.close()
			return false
		}
		return true
	}
	s := r.s
	if r.lim != nil && !pace(r.lim, s, &r.throttled) {
		r.close()
		return false
	}
	typ, data, err := r.wc.c.Read(context.WithoutCancel(r.ctx))
	if err != nil {
		if brokeProtocol(err) {
			r.wc.closeProtocol(err)
		}
		r.close()
		return false
	}
	if typ != websocket.MessageText {
		s.Refuse(errBinary)
	} else {
		s.Command(r.ctx, data)
	}
	if s.Err() != nil {
		r.close()
		return false
	}
	return true
}

// close ends reading, once: the poller forgets the connection and its
// session is closed. Whoever closes the connection calls it, since a
// connection waiting in the poller is not told.
func (r *reader) close() {
	r.mu.Lock()
	if r.over {
		r.mu.Unlock()
		return
	}
	r.over = true
	s := r.s
	r.mu.Unlock()
	if p := thePoller(); p != nil {
		p.forget(r)
	}
	if s != nil {
		s.Close()
	}
	r.cancel()
	close(r.finished)
}

// The opcodes of the control frames a reader answers itself.
const (
	opPing = 0x9
	opPong = 0xA
)

// controlSize is the opcode and size of the frame that head starts when
// it is a whole, masked ping or pong (as a client sends them), else 0:
// anything else, the library reads, and judges.
func controlSize(head []byte) (op byte, size int) {
	const fin, masked = 0x80, 0x80
	op = head[0] &^ fin
	if head[0]&fin == 0 || op != opPing && op != opPong || head[1]&masked == 0 || head[1]&0x7F > 125 {
		return 0, 0
	}
	return op, 2 + 4 + int(head[1]&0x7F)
}

// pongFrame is the server's answer to a client's ping frame: the same
// payload, unmasked.
func pongFrame(ping []byte) []byte {
	mask, payload := ping[2:6], ping[6:]
	b := append(make([]byte, 0, 2+len(payload)), 0x80|opPong, byte(len(payload)))
	for i, x := range payload {
		b = append(b, x^mask[i%4])
	}
	return b
}
