package transport

import (
	"context"
	"errors"
	"time"

	"github.com/tickerd/tickerd/transport/wire"
)

// Info describes a connection to Hub.Connect: what the hello tells the
// subscriber and how the session's writer serves it.
type Info struct {
	// Transport names the transport ("ws", "sse", "poll"), for the hello
	// and the metrics.
	Transport string
	// Principal is who the subscriber is (PrincipalFrom the request).
	Principal Principal
	// Heartbeat is how long a connection may stay quiet before the writer
	// calls Conn.Heartbeat; the hello tells it to the client. Zero: no
	// heartbeat (a long poll).
	Heartbeat time.Duration
	// Hello says the connection starts with a hello message: every
	// streaming transport does, a long-poll response does not.
	Hello bool
	// MaxFrame is the largest message the client may send, told in the
	// hello; zero for transports that take none.
	MaxFrame int
	// Queue bounds the session's queue; zero takes Options.QueueSize. A
	// long poll's is the most messages one response carries.
	Queue int
	// ReplayWait bounds how long a resume waits for a slot to read the
	// stream (Options.MaxReplays) before the session fails with
	// wire.ErrOverloaded. Zero waits as long as the session lasts: a
	// streaming connection has nothing better to do meanwhile.
	ReplayWait time.Duration
}

// Connect opens a session for a subscriber whose connection is c: it is
// the one call a transport makes into the hub when a subscriber arrives.
// The session's writer hands what is queued to c, and only while
// something is: an idle connection costs no goroutine here. Connect queues
// the hello when info asks for one, then serves req, which must have
// passed Admit (or reports reqErr, a request the transport refused, as an
// error message) on its own
// goroutine, since a resume may wait for the client to read; Opened is
// closed when that is done. ctx bounds the subscribing; the transport
// calls Close when its connection goes.
func (h *Hub) Connect(ctx context.Context, c Conn, info Info, req wire.Request, reqErr error) *Session {
	limit := info.Queue
	if limit <= 0 {
		limit = h.opts.QueueSize
	}
	w := newWriter(context.WithoutCancel(ctx), c, info.Heartbeat)
	s := h.newSession(info.Transport, info.Principal, limit, w.wake)
	s.replayWait = info.ReplayWait
	w.s = s
	s.setPrincipal(info.Principal) // may end it at once, which starts the writer
	if info.Heartbeat > 0 {
		w.beat = time.AfterFunc(info.Heartbeat, w.onBeat)
	}
	h.register(s) // may end it at once, which starts the writer
	go s.open(ctx, info, req, reqErr)
	return s
}

// open serves what the connection asked for when it connected.
func (s *Session) open(ctx context.Context, info Info, req wire.Request, reqErr error) {
	defer close(s.opened)
	h := s.hub
	if info.Hello {
		s.sendForced(wire.HelloFrame(wire.Hello{
			Transport: info.Transport,
			Heartbeat: wire.HeartbeatSeconds(info.Heartbeat),
			Limits:    wire.HelloLimits{MaxTopics: h.opts.MaxTopics, Queue: h.opts.QueueSize, MaxFrame: info.MaxFrame},
			Expires:   expires(info.Principal),
		}))
	}
	if reqErr != nil {
		s.Refuse(reqErr)
		return
	}
	s.setMaxRate(req.MaxRate)
	// req passed Admit, and a new session holds no pattern yet: all of
	// its patterns are fresh and within the limit.
	err := h.start(ctx, s, req.Patterns, req.From, nil)
	if errors.Is(err, wire.ErrTooManyMatches) {
		// The topics grew past the snapshot limit since Admit, or a
		// reset's snapshot would pass it: a connection that takes
		// commands is told and stays for others; a stream of these
		// patterns alone ends with it.
		if info.MaxFrame > 0 {
			s.Refuse(err)
		} else {
			s.end(err)
		}
		return
	}
	s.fail(err)
}

// Command carries out one client command and queues its answer: an ack,
// or an error with the command's id. A bad command is answered, not a
// reason to end the session; but answers count against the queue, so a
// client that sends commands and does not read the answers ends as a slow
// consumer (see send). A failure of the server's (a stream read during a
// resume) ends it too, and the subscriber reconnects with its cursor. It
// waits until the connection's own request is served, so that commands
// come after it.
func (s *Session) Command(ctx context.Context, raw []byte) {
	select {
	case <-s.opened:
	case <-ctx.Done():
		return
	}
	cmd, err := wire.ParseCommand(raw)
	if err != nil {
		s.send(wire.ErrorFrame(cmd.ID, err))
		return
	}
	h := s.hub
	switch cmd.Type {
	case wire.CommandAuth:
		s.send(s.authenticate(ctx, cmd))
		return
	case wire.CommandUnsubscribe:
		h.unsubscribe(s, cmd.Patterns)
		s.send(wire.AckFrame(cmd.ID))
		return
	}
	if cmd.From != nil && h.patternCount(s) > 0 {
		s.send(wire.ErrorFrame(cmd.ID, wire.ErrCursorNotFirst))
		return
	}
	fresh, err := h.admit(ctx, s, cmd.Patterns)
	if err != nil {
		s.send(wire.ErrorFrame(cmd.ID, err))
		return
	}
	if cmd.MaxRate != nil {
		// The connection's rate, for every state topic it holds: one
		// subscriber's topics share a link.
		s.setMaxRate(*cmd.MaxRate)
	}
	// The ack comes before the snapshot or replay; a snapshot past its
	// limit answers the command in its place.
	err = h.start(ctx, s, fresh, cmd.From, wire.AckFrame(cmd.ID))
	if errors.Is(err, wire.ErrTooManyMatches) {
		s.send(wire.ErrorFrame(cmd.ID, err))
		return
	}
	s.fail(err)
}
