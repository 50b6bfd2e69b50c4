package wire

import (
	"errors"
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
// capped at max, however large N is.
func ParseTimeout(q url.Values, def, max time.Duration) (time.Duration, error) {
	s := q.Get("timeout")
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) && s[0] != '-' {
		return max, nil // more seconds than an int64 holds
	}
	if err != nil || n < 0 {
		return 0, errTimeout
	}
	if n > int64(max/time.Second) {
		return max, nil // before multiplying, which could overflow
	}
	return min(time.Duration(n)*time.Second, max), nil
}

// Page sizes of GET /v1/topics.
const (
	DefaultTopicsLimit = 1000
	MaxTopicsLimit     = 10_000
)

var errLimit = ErrBadRequest.With(`"limit" must be a whole number, 1 or more`)

// ParseLimit reads a listing's ?limit=N: def when absent, capped at max.
func ParseLimit(q url.Values, def, max int) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) && s[0] != '-' {
		return max, nil
	}
	if err != nil || n < 1 {
		return 0, errLimit
	}
	return int(min(n, int64(max))), nil
}
