package transport

import (
	"encoding/json"
	"net/http"

	"github.com/tickerd/tickerd/message"
)

// Request is what a subscriber asks for when it connects: the patterns and
// where to start. Every transport reads it the same way.
type Request struct {
	Patterns []string
	// From is where to resume; nil asks for a snapshot first.
	From *message.Cursor
}

// ParseRequest reads ?topics=a,b&cursor=C. lastEventID, when not empty,
// wins over the cursor parameter (SSE's Last-Event-ID). More patterns than a
// session may have is ErrTooManyTopics, refused before anything streams.
func (h *Hub) ParseRequest(r *http.Request, lastEventID string) (Request, error) {
	q := r.URL.Query()
	patterns, err := message.ParsePatterns(q.Get("topics"))
	if err != nil {
		return Request{}, err
	}
	if len(patterns) > h.opts.MaxTopics {
		return Request{}, h.tooManyTopics()
	}
	req := Request{Patterns: patterns}
	raw := q.Get("cursor")
	if lastEventID != "" {
		raw = lastEventID
	}
	if raw != "" {
		c, err := message.ParseCursor(raw)
		if err != nil {
			return Request{}, err
		}
		req.From = &c
	}
	return req, nil
}

// NeedTopics is ErrNoTopics when r names no pattern: a stream or poll
// without topics has nothing to serve (a WebSocket may subscribe later).
func (r Request) NeedTopics() error {
	if len(r.Patterns) == 0 {
		return ErrNoTopics
	}
	return nil
}

// decodeID keeps a command id only if it is a JSON number or string, so
// that echoing it back cannot inject anything.
func decodeID(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	switch v.(type) {
	case float64, string:
		return raw
	}
	return nil
}
