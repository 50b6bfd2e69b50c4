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
	"strconv"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
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
}

// New returns the long-poll handler over hub.
func New(hub *transport.Hub, opts Options) *Handler {
	return &Handler{hub: hub, opts: opts.withDefaults()}
}

// ServeHTTP answers one poll: {"cursor":C2,"messages":[..]}. Without a
// cursor the snapshot returns at once; with one, whatever is newer returns
// at once, or the request waits up to timeout seconds for it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := h.hub.ParseRequest(r, "")
	if err == nil {
		err = req.NeedTopics()
	}
	if err != nil {
		transport.WriteErr(w, err)
		return
	}
	timeout, err := h.timeout(r.URL.Query().Get("timeout"))
	if err != nil {
		transport.WriteError(w, http.StatusBadRequest, transport.CodeBadRequest, err.Error())
		return
	}

	// The wait for new messages starts once the subscription has queued
	// the backlog, so even timeout=0 returns what is already there; the
	// backlog itself is bounded by the request and replayLimit.
	ctx, cancel := context.WithTimeout(r.Context(), timeout+replayLimit)
	defer cancel()
	s := h.hub.NewSessionLimit("poll", h.opts.MaxMessages)
	subscribed := make(chan error, 1)
	go func() { subscribed <- h.hub.Subscribe(ctx, s, req.Patterns, req.From) }()

	var subErr error
	var wait, linger <-chan time.Time
	for done := false; !done; {
		select {
		case <-s.Wake():
			if s.Err() != nil || s.Len() >= h.opts.MaxMessages || req.From == nil {
				done = true
			} else if linger == nil {
				linger = time.After(h.opts.Linger)
			}
		case <-linger:
			done = true
		case subErr = <-subscribed:
			subscribed = nil
			if subErr != nil {
				done = true
			} else if linger == nil {
				wait = time.After(timeout)
			}
		case <-wait:
			done = true
		case <-ctx.Done():
			done = true
		}
	}
	s.Close()
	items, _ := s.Take(nil)
	if subscribed != nil {
		cancel()
		if err := <-subscribed; err != nil && !errors.Is(err, transport.ErrClosed) && !errors.Is(err, context.Canceled) &&
			!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, transport.ErrNotReady) {
			subErr = err
		}
	}
	// A resume's handover may queue past the limit; the rest comes with the
	// next poll, which starts after the last message returned (every
	// update and snapshot carries its cursor).
	items = items[:min(len(items), h.opts.MaxMessages)]
	if len(items) == 0 && r.Context().Err() == nil {
		if subErr == nil && req.From == nil {
			// No snapshot to give: the gateway is going, or not loaded yet.
			subErr = transport.ErrNotReady
			if errors.Is(s.Err(), transport.ErrShutdown) {
				subErr = transport.ErrShutdown
			}
		}
		if subErr != nil {
			h.opts.Logger.Warn("poll subscription failed", "err", subErr)
			transport.WriteErr(w, subErr)
			return
		}
	}
	h.respond(w, items, h.position(s, items, req.From))
}

// position is the cursor to continue from: after the last message
// returned, or, when none was, as far as the session saw, or where the
// request started.
func (h *Handler) position(s *transport.Session, items []transport.Item, from *message.Cursor) []byte {
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

func (h *Handler) respond(w http.ResponseWriter, items []transport.Item, cursor []byte) {
	n := 64
	for _, it := range items {
		n += len(it.JSON) + 16
	}
	b := make([]byte, 0, n)
	b = append(b, `{"cursor":"`...)
	b = append(b, cursor...)
	b = append(b, `","messages":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = it.AppendJSON(b)
	}
	transport.WriteJSON(w, http.StatusOK, append(b, "]}\n"...))
}

// replayLimit bounds how long a poll may spend reading its backlog.
const replayLimit = 10 * time.Second

var errTimeout = errors.New(`"timeout" must be a whole number of seconds, 0 or more`)

func (h *Handler) timeout(q string) (time.Duration, error) {
	if q == "" {
		return h.opts.DefaultTimeout, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 0 {
		return 0, errTimeout
	}
	return min(time.Duration(n)*time.Second, h.opts.MaxTimeout), nil
}
