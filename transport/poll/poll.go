// Package poll is the HTTP long-polling transport. It holds no state between
// requests: the topics and cursor of a request are the whole of it, so any
// gateway can answer any poll. Each request is a short-lived
// transport.Session whose queue bound is the response's message cap.
package poll

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/wire"
)

// Options configure the poll handler. Zero fields take the defaults.
type Options struct {
	// DefaultTimeout is how long a poll waits for something new when the
	// request names no timeout. Default 25s.
	DefaultTimeout time.Duration
	// MaxTimeout caps the timeout a request may ask for. Default 60s.
	MaxTimeout time.Duration
	// Linger is how long a poll waits after the first new message, so a
	// burst goes out in one response. Default 15ms.
	Linger time.Duration
	// MaxMessages caps the messages of one response; the returned cursor
	// continues after the last. Default 256.
	MaxMessages int
	// Logger receives the handler's logs. Default slog.Default().
	Logger *slog.Logger
}

// Defaults of Options, which the serve command's flags show too.
const (
	DefaultTimeout     = 25 * time.Second
	DefaultMaxTimeout  = 60 * time.Second
	DefaultLinger      = 15 * time.Millisecond
	DefaultMaxMessages = 256
)

func (o Options) withDefaults() Options {
	if o.DefaultTimeout <= 0 {
		o.DefaultTimeout = DefaultTimeout
	}
	if o.MaxTimeout <= 0 {
		o.MaxTimeout = DefaultMaxTimeout
	}
	if o.Linger <= 0 {
		o.Linger = DefaultLinger
	}
	if o.MaxMessages <= 0 {
		o.MaxMessages = DefaultMaxMessages
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Handler serves GET /v1/poll.
type Handler struct {
	hub  *transport.Hub
	opts Options
	// session serves every poll with a session, never from the ring:
	// for tests that compare the two.
	session bool
}

// New returns the long-poll handler over hub.
func New(hub *transport.Hub, opts Options) *Handler {
	return &Handler{hub: hub, opts: opts.withDefaults()}
}

// ServeHTTP answers one poll: {"cursor":C2,"messages":[..]}. Without a
// cursor the snapshot returns at once; with one, whatever is newer returns
// at once, or the request waits up to timeout seconds for it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := transport.PrincipalFrom(r.Context())
	q := r.URL.RawQuery
	req, err := wire.ParseRequest(q, "", h.hub.MaxTopics())
	if err == nil {
		err = req.NeedTopics()
	}
	var timeout time.Duration
	if err == nil {
		timeout, err = wire.ParseTimeout(q, h.opts.DefaultTimeout, h.opts.MaxTimeout)
	}
	if err == nil {
		err = h.hub.Admit(r.Context(), p, req)
	}
	if err != nil {
		wire.WriteError(w, err)
		return
	}

	if h.fromRing(w, p, req) {
		return
	}

	// The wait for new messages starts once the subscription has queued
	// the backlog, so even timeout=0 returns what is already there; the
	// backlog itself is bounded by the request and replayLimit.
	ctx, cancel := context.WithTimeout(r.Context(), timeout+replayLimit)
	defer cancel()
	c := newResponse(h.opts.MaxMessages, req.From == nil)
	// A resume waits for a slot to read the stream no longer than the
	// poll would wait for news, and then answers 503 overloaded.
	s := h.hub.Connect(ctx, c, transport.Info{Transport: "poll", Principal: p, Queue: h.opts.MaxMessages,
		ReplayWait: max(timeout, minReplayWait)}, req, nil)
	opened, first := s.Opened(), c.first
	var wait, linger <-chan time.Time
	for done := false; !done; {
		select {
		case <-c.complete:
			done = true
		case <-first: // something new: wait a little for more of a burst
			first = nil
			linger = time.After(h.opts.Linger)
		case <-linger:
			done = true
		case <-opened:
			opened = nil
			if linger == nil {
				wait = time.After(timeout)
			}
		case <-wait:
			done = true
		case <-ctx.Done():
			done = true
		}
	}
	s.Close()
	<-c.ended // the writer has handed over everything queued
	items, reason := c.items, c.reason
	if len(items) == 0 && r.Context().Err() == nil {
		if err := failure(reason, req.From == nil); err != nil {
			if !errors.Is(err, wire.ErrShutdown) && !errors.Is(err, wire.ErrOverloaded) && !errors.Is(err, wire.ErrTokenExpired) {
				h.opts.Logger.Warn("poll subscription failed", "err", err)
			}
			wire.WriteError(w, err)
			return
		}
	}
	wire.WritePoll(w, position(s, items, req.From), items)
}

// fromRing answers a poll whose answer the hub's ring already holds: a
// cursor behind the head with matching updates after it. It writes the
// same messages, in the same order and with the same next cursor, that a
// session would gather, without a session, its goroutines and timers:
// most of what such a poll cost. The linger after the first message is
// not waited: a client that is behind gets what is there at once, and the
// rest with its next poll. It reports false, having written nothing, when
// a session must serve the poll.
func (h *Handler) fromRing(w http.ResponseWriter, p transport.Principal, req wire.Request) bool {
	if req.From == nil || h.session || !p.Expires.IsZero() && !time.Now().Before(p.Expires) {
		return false // a snapshot, or a session that would end at once
	}
	bp := scratch.Get().(*[]wire.Item)
	defer func() {
		clear(*bp) // hold no frame past the response
		scratch.Put(bp)
	}()
	items, ok := h.hub.Recent(*req.From, req.Patterns, h.opts.MaxMessages, (*bp)[:0])
	*bp = items
	if !ok || len(items) == 0 {
		return false
	}
	wire.WritePoll(w, items[len(items)-1].Cursor, items)
	return true
}

// scratch are the lists fromRing gathers a response in.
var scratch = sync.Pool{New: func() any { return new([]wire.Item) }}

// failure is the error a poll that got nothing answers with, or nil when
// an empty response is the answer. A session ended by a failure of the
// server's answers with it. Otherwise a resume continues from where it
// started, while a request without a cursor always had a snapshot to give,
// unless the gateway is going or not loaded yet.
func failure(reason error, snapshot bool) error {
	switch {
	case reason != nil && !errors.Is(reason, wire.ErrShutdown) &&
		!errors.Is(reason, wire.ErrSlowConsumer) && !errors.Is(reason, wire.ErrNotReady):
		return reason
	case !snapshot:
		return nil
	case errors.Is(reason, wire.ErrShutdown):
		return wire.ErrShutdown
	}
	return wire.ErrNotReady
}

// position is the cursor to continue from: after the last message
// returned, or, when none was, as far as the session saw, or where the
// request started.
func position(s *transport.Session, items []wire.Item, from *message.Cursor) []byte {
	for i := len(items) - 1; i >= 0; i-- {
		if len(items[i].Cursor) > 0 {
			return items[i].Cursor
		}
	}
	p := s.Position()
	if from != nil && (p.Seq < from.Seq || p.Epoch != from.Epoch) {
		p = *from
	}
	return p.AppendText(nil)
}

// replayLimit bounds how long a poll may spend reading its backlog.
const replayLimit = 10 * time.Second

// minReplayWait is how long even a poll with timeout 0 waits for a slot
// to read the stream.
const minReplayWait = time.Second

// response is a long poll's Conn: it gathers what the session's writer
// hands it, up to the response's cap, and tells the handler when to
// answer. The rest stays for the next poll, which starts after the last
// message returned (every update and snapshot carries its cursor).
type response struct {
	max      int
	snapshot bool // the request has no cursor: the first message is the answer

	mu       sync.Mutex
	items    []wire.Item
	reason   error
	first    chan struct{} // closed at the first message
	complete chan struct{} // closed when the response can go: full, a snapshot, or ended
	ended    chan struct{} // closed by End: nothing more comes
	closed   bool
}

func newResponse(max int, snapshot bool) *response {
	return &response{max: max, snapshot: snapshot, first: make(chan struct{}),
		complete: make(chan struct{}), ended: make(chan struct{})}
}

// Write keeps the items that fit.
func (c *response) Write(_ context.Context, items []wire.Item) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) == 0 && len(items) > 0 {
		close(c.first)
	}
	c.items = append(c.items, items[:min(len(items), c.max-len(c.items))]...)
	if len(c.items) >= c.max || c.snapshot {
		c.finish()
	}
	return nil
}

// Heartbeat is never called: a poll has none.
func (c *response) Heartbeat(context.Context) error { return nil }

// End records why the session ended; the handler answers with it when it
// has nothing else.
func (c *response) End(reason error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reason = reason
	c.finish()
	close(c.ended)
}

func (c *response) finish() {
	if !c.closed {
		c.closed = true
		close(c.complete)
	}
}
