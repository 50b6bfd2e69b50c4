package transport

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

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
// wins over the cursor parameter (SSE's Last-Event-ID).
func ParseRequest(r *http.Request, lastEventID string) (Request, error) {
	q := r.URL.Query()
	patterns, err := message.ParsePatterns(q.Get("topics"))
	if err != nil {
		return Request{}, err
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

// ErrorCode maps an error to the contract's error code and HTTP status.
func ErrorCode(err error) (code string, status int) {
	switch {
	case errors.Is(err, message.ErrBadTopic):
		return CodeBadTopic, http.StatusBadRequest
	case errors.Is(err, message.ErrBadCursor):
		return CodeBadCursor, http.StatusBadRequest
	case errors.Is(err, ErrTooManyTopics):
		return CodeTooManyTopic, http.StatusBadRequest
	case errors.Is(err, ErrSlowConsumer):
		return CodeSlowConsumer, http.StatusServiceUnavailable
	case errors.Is(err, ErrShutdown):
		return CodeShutdown, http.StatusServiceUnavailable
	case errors.Is(err, ErrNotReady):
		return CodeUnavailable, http.StatusServiceUnavailable
	}
	return CodeUnavailable, http.StatusServiceUnavailable
}

// WriteError writes the contract's HTTP error body:
// {"error":{"code":"bad_topic","message":".."}}.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	b := []byte(`{"error":{"code":`)
	b = strconv.AppendQuote(b, code)
	b = append(b, `,"message":`...)
	b, _ = appendJSONString(b, msg)
	WriteJSON(w, status, append(b, "}}\n"...))
}

// WriteJSON writes a JSON body that no cache may keep.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteErr writes err with the code and status ErrorCode gives it.
func WriteErr(w http.ResponseWriter, err error) {
	code, status := ErrorCode(err)
	WriteError(w, status, code, err.Error())
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
