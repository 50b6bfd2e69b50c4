// Package ws is the WebSocket transport: a thin adapter that moves a
// transport.Session's queue onto a WebSocket and client commands into the hub.
//
// Each WebSocket text message carries one or more server messages, one JSON
// object per line: what is queued when the writer wakes goes out as one
// message, so a burst costs one frame and one system call, not one each.
package ws

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/tickerd/tickerd/transport"
)

// Close codes this transport ends a connection with, beyond RFC 6455's.
const (
	// CloseServiceRestart (1012): the gateway is shutting down; reconnect,
	// to another gateway, with the cursor.
	CloseServiceRestart = websocket.StatusServiceRestart
	// CloseSlowConsumer (4001): events overflowed the subscriber's queue;
	// reconnect with the cursor and nothing is lost.
	CloseSlowConsumer websocket.StatusCode = 4001
)

// Options configure the WebSocket handler. Zero fields take the defaults.
type Options struct {
	// Heartbeat is how often the server pings; a connection whose pong does
	// not come back within another Heartbeat is closed. Default 25s.
	Heartbeat time.Duration
	// WriteTimeout bounds one write to a client. Default 10s.
	WriteTimeout time.Duration
	// MaxFrame bounds a message from the client, in bytes; a larger one
	// closes the connection with 1009. Default 4096.
	MaxFrame int64
	// OriginPatterns are the origins allowed to connect from a browser
	// (host patterns as path.Match takes them). Empty allows any origin:
	// the ticker is embedded on other sites by design.
	OriginPatterns []string
	// Logger receives the handler's logs. Default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Heartbeat <= 0 {
		o.Heartbeat = 25 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.MaxFrame <= 0 {
		o.MaxFrame = 4096
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Handler serves GET /v1/ws.
type Handler struct {
	hub  *transport.Hub
	opts Options
}

// New returns the WebSocket handler over hub.
func New(hub *transport.Hub, opts Options) *Handler {
	return &Handler{hub: hub, opts: opts.withDefaults()}
}

// ServeHTTP upgrades the request and serves the session until either side
// ends it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, reqErr := transport.ParseRequest(r, "")
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns:     h.opts.OriginPatterns,
		InsecureSkipVerify: len(h.opts.OriginPatterns) == 0,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has answered the request
	}
	c.SetReadLimit(h.opts.MaxFrame)
	s := h.hub.NewSession("ws")
	defer s.Close()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go h.read(ctx, cancel, c, s, req, reqErr)
	h.write(ctx, c, s)
}

// read subscribes what the URL asked for, then carries out commands until
// the connection fails; it cancels ctx when it stops.
func (h *Handler) read(ctx context.Context, cancel context.CancelFunc, c *websocket.Conn, s *transport.Session, req transport.Request, reqErr error) {
	defer cancel()
	hello := transport.Hello{
		Transport: "ws",
		Heartbeat: int(h.opts.Heartbeat / time.Second),
		Limits:    transport.HelloLimits{MaxFrame: int(h.opts.MaxFrame)},
	}
	if err := h.hub.Open(ctx, s, hello, req, reqErr); err != nil {
		h.fail(s, err)
		return
	}
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			s.Send(transport.ErrorFrame(nil, transport.CodeBadRequest, "commands are JSON text messages"))
			continue
		}
		if err := h.hub.Command(ctx, s, data); err != nil {
			h.fail(s, err)
			return
		}
	}
}

// fail reports an error that is the server's, not the client's, and lets
// the client reconnect.
func (h *Handler) fail(s *transport.Session, err error) {
	if s.Err() != nil || errors.Is(err, context.Canceled) {
		return
	}
	code, _ := transport.ErrorCode(err)
	s.Send(transport.ErrorFrame(nil, code, err.Error()))
	h.opts.Logger.Warn("websocket subscription failed", "err", err)
}

// write sends what the session queues, one WebSocket message per wake-up,
// and pings on the heartbeat.
func (h *Handler) write(ctx context.Context, c *websocket.Conn, s *transport.Session) {
	ping := time.NewTicker(h.opts.Heartbeat)
	defer ping.Stop()
	var items []transport.Item
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			c.CloseNow()
			return
		case <-ping.C:
			go func() {
				pctx, cancel := context.WithTimeout(ctx, h.opts.Heartbeat)
				defer cancel()
				if c.Ping(pctx) != nil {
					c.CloseNow()
				}
			}()
		case <-s.Wake():
			var end error
			items, end = s.Take(items)
			if errors.Is(end, transport.ErrSlowConsumer) {
				c.Close(CloseSlowConsumer, "slow consumer: resume from your cursor")
				return
			}
			if len(items) > 0 {
				buf = buf[:0]
				for i, it := range items {
					if i > 0 {
						buf = append(buf, '\n')
					}
					buf = it.AppendJSON(buf)
				}
				clear(items)
				wctx, cancel := context.WithTimeout(ctx, h.opts.WriteTimeout)
				err := c.Write(wctx, websocket.MessageText, buf)
				cancel()
				if err != nil {
					c.CloseNow()
					return
				}
			}
			switch {
			case errors.Is(end, transport.ErrShutdown):
				c.Close(CloseServiceRestart, "gateway restarting: reconnect with your cursor")
				return
			case end != nil:
				c.Close(websocket.StatusNormalClosure, "")
				return
			}
		}
	}
}
