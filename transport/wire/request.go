package wire

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

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
func ParseRequest(q url.Values, lastEventID string) (Request, error) {
	patterns, err := ParseTopics(q)
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

// ParseTopics reads ?topics=a,b: valid patterns, without duplicates.
func ParseTopics(q url.Values) ([]string, error) {
	return message.ParsePatterns(q.Get("topics"))
}

// TooManyTopics is ErrTooManyTopics with the limit that was passed.
func TooManyTopics(max int) error {
	return fmt.Errorf("%w: at most %d per connection", ErrTooManyTopics, max)
}

// NeedTopics is ErrNoTopics when r names no pattern: a stream or poll
// without topics has nothing to serve (a WebSocket may subscribe later).
func (r Request) NeedTopics() error {
	if len(r.Patterns) == 0 {
		return ErrNoTopics
	}
	return nil
}

var errTimeout = ErrBadRequest.With(`"timeout" must be a whole number of seconds, 0 or more`)

// ParseTimeout reads a long poll's ?timeout=N (seconds): def when absent,
// capped at max.
func ParseTimeout(q url.Values, def, max time.Duration) (time.Duration, error) {
	s := q.Get("timeout")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errTimeout
	}
	return min(time.Duration(min(n, 1<<30))*time.Second, max), nil // 1<<30 s cannot overflow
}
