package wire

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tickerd/tickerd/message"
)

// Request is what a subscriber asks for when it connects: the patterns and
// where to start. Every transport reads it the same way.
type Request struct {
	Patterns []string
	// From is where to resume; nil asks for a snapshot first.
	From *message.Cursor
	// MaxRate is ?max_rate=N: at most N updates a second per state topic
	// for the connection; 0 is no limit.
	MaxRate float64
}

// ParseRequest reads ?topics=a,b&cursor=C&max_rate=N from a raw query (URL.RawQuery),
// with at most maxTopics distinct patterns (see ParseTopics). lastEventID,
// when not empty, wins over the cursor parameter (SSE's Last-Event-ID),
// which is then not read.
func ParseRequest(rawQuery, lastEventID string, maxTopics int) (Request, error) {
	patterns, err := ParseTopics(rawQuery, maxTopics)
	if err != nil {
		return Request{}, err
	}
	req := Request{Patterns: patterns}
	rate, err := QueryParam(rawQuery, "max_rate")
	if err == nil {
		req.MaxRate, err = ParseMaxRate(rate)
	}
	if err != nil {
		return Request{}, err
	}
	raw := lastEventID
	if raw == "" {
		if raw, err = param(rawQuery, "cursor"); err != nil {
			return Request{}, err
		}
		dec, ok := unescape(raw)
		if !ok {
			return Request{}, badEscape(ErrBadCursor, "cursor", raw)
		}
		raw = dec
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

// ParseTopics reads ?topics=a,b from a raw query: valid patterns, without
// duplicates, in the order given. The list is read item by item, in time
// linear in the part read: it stops at the first bad item, and as soon as
// more than max distinct patterns are read (too_many_topics), without
// reading the rest. max < 1 is no limit. A bad percent-escape in the list
// is bad_topic.
func ParseTopics(rawQuery string, max int) ([]string, error) {
	raw, err := param(rawQuery, "topics")
	if err != nil {
		return nil, err
	}
	var set message.PatternSet
	for raw != "" {
		var item string
		item, raw, _ = strings.Cut(raw, ",")
		dec, ok := unescape(item)
		if !ok {
			return nil, badEscape(ErrBadTopic, "topics", item)
		}
		// An escaped comma (%2C) separates items too.
		for more := true; more; {
			var p string
			p, dec, more = strings.Cut(dec, ",")
			if err := set.Add(p); err != nil {
				return nil, err
			}
			if max > 0 && set.Len() > max {
				return nil, TooManyTopics(max)
			}
		}
	}
	return set.Patterns(), nil
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

// ParseTimeout reads a long poll's ?timeout=N (seconds) from a raw query:
// def when absent, capped at max, however large N is.
func ParseTimeout(rawQuery string, def, max time.Duration) (time.Duration, error) {
	raw, err := param(rawQuery, "timeout")
	if err != nil {
		return 0, err
	}
	s, ok := unescape(raw)
	if !ok {
		return 0, badEscape(ErrBadRequest, "timeout", raw)
	}
	if s == "" {
		return def, nil
	}
	n, ok := wholeNumber(s, 0)
	if !ok {
		return 0, errTimeout
	}
	if n > int64(max/time.Second) {
		return max, nil // before multiplying, which could overflow
	}
	return min(time.Duration(n)*time.Second, max), nil
}

// TopicsPage is what GET /v1/topics asks for: the known topics that
// start with Prefix and sort after After, at most Limit of them.
type TopicsPage struct {
	Prefix, After string
	Limit         int
}

// Page sizes of GET /v1/topics.
const (
	DefaultTopicsLimit = 1000
	MaxTopicsLimit     = 10_000
)

var errLimit = ErrBadRequest.With(`"limit" must be a whole number, 1 or more`)

// ParseTopicsPage reads ?prefix=p&after=t&limit=n from a raw query. prefix
// and after are plain strings at most as long as a topic (a bad
// percent-escape is bad_topic); limit is DefaultTopicsLimit when absent
// and capped at MaxTopicsLimit.
func ParseTopicsPage(rawQuery string) (TopicsPage, error) {
	var pg TopicsPage
	var err error
	if pg.Prefix, err = topicParam(rawQuery, "prefix"); err != nil {
		return TopicsPage{}, err
	}
	if pg.After, err = topicParam(rawQuery, "after"); err != nil {
		return TopicsPage{}, err
	}
	s, err := QueryParam(rawQuery, "limit")
	if err != nil {
		return TopicsPage{}, err
	}
	pg.Limit = DefaultTopicsLimit
	if s != "" {
		n, ok := wholeNumber(s, 1)
		if !ok {
			return TopicsPage{}, errLimit
		}
		pg.Limit = int(min(n, MaxTopicsLimit))
	}
	return pg, nil
}

// topicParam reads a parameter that holds (the start of) a topic.
func topicParam(rawQuery, key string) (string, error) {
	raw, err := param(rawQuery, key)
	if err != nil {
		return "", err
	}
	v, ok := unescape(raw)
	if !ok {
		return "", badEscape(ErrBadTopic, key, raw)
	}
	if len(v) > message.MaxTopicLen {
		return "", ErrBadTopic.With(key + " is longer than a topic can be")
	}
	return v, nil
}

// wholeNumber reads a decimal count of at least least. One too large for
// an int64 reads as the largest: the callers cap it anyway, and a client
// asking for "as much as there is" should get that, not an error.
func wholeNumber(s string, least int64) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) && s[0] != '-' {
		return math.MaxInt64, true
	}
	return n, err == nil && n >= least
}
