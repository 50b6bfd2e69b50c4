package transport

import (
	"context"
	"encoding/json"

	"github.com/tickerd/tickerd/message"
)

// command is what a client sends on a two-way transport:
//
//	{"type":"subscribe","id":1,"topics":["stocks.AAPL"],"cursor":"C"}
//	{"type":"unsubscribe","id":2,"topics":["stocks.AAPL"]}
type command struct {
	Type   string          `json:"type"`
	ID     json.RawMessage `json:"id"`
	Topics []string        `json:"topics"`
	Cursor string          `json:"cursor"`
}

// Command carries out one client command on s and queues its answer: an
// ack, or an error with the command's id. Nothing a client sends ends the
// session; only a failing stream or the session's own end is returned.
func (h *Hub) Command(ctx context.Context, s *Session, raw []byte) error {
	var c command
	if err := json.Unmarshal(raw, &c); err != nil {
		s.Send(ErrorFrame(nil, CodeBadRequest, "malformed command: "+err.Error()))
		return nil
	}
	id := decodeID(c.ID)
	fail := func(code, msg string) error {
		s.Send(ErrorFrame(id, code, msg))
		return nil
	}
	switch c.Type {
	case "subscribe", "unsubscribe":
	case "":
		return fail(CodeBadRequest, `command has no "type"`)
	default:
		return fail(CodeUnknownType, "unknown command type "+quote(c.Type))
	}
	if len(c.Topics) == 0 {
		return fail(CodeBadRequest, `command has no "topics"`)
	}
	patterns, err := message.CleanPatterns(c.Topics)
	if err != nil {
		return fail(CodeBadTopic, err.Error())
	}
	if c.Type == "unsubscribe" {
		h.Unsubscribe(s, patterns)
		s.Send(AckFrame(id))
		return nil
	}
	have := h.Patterns(s)
	var from *message.Cursor
	if c.Cursor != "" {
		cur, err := message.ParseCursor(c.Cursor)
		if err != nil {
			return fail(CodeBadCursor, err.Error())
		}
		if have > 0 {
			// Replaying behind live updates would move the client's
			// position backwards.
			return fail(CodeBadRequest, "a cursor is only taken on a connection's first subscription")
		}
		from = &cur
	}
	if _, err := h.fresh(s, patterns); err != nil {
		return fail(CodeTooManyTopic, err.Error())
	}
	// The ack goes first so that it comes before the snapshot or replay.
	// What can still fail is the server's (a stream read), and ends the
	// session: the subscriber reconnects with its cursor.
	s.Send(AckFrame(id))
	return h.Subscribe(ctx, s, patterns, from)
}

// Open queues the hello and subscribes s to what the connection asked
// for. A bad request is reported to the client as an error message and
// leaves the session open and unsubscribed.
func (h *Hub) Open(ctx context.Context, s *Session, hello Hello, req Request, reqErr error) error {
	hello.Limits.MaxTopics = h.opts.MaxTopics
	hello.Limits.Queue = h.opts.QueueSize
	s.Send(HelloFrame(hello))
	if reqErr != nil {
		code, _ := ErrorCode(reqErr)
		s.Send(ErrorFrame(nil, code, reqErr.Error()))
		return nil
	}
	if len(req.Patterns) == 0 {
		return nil
	}
	return h.Subscribe(ctx, s, req.Patterns, req.From)
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}
