package wire

import (
	"errors"
	"net/http"

	"github.com/tickerd/tickerd/message"
)

// Error is one row of the contract's error table: a failure with its code
// and how each transport tells it. A client sees Code in every error
// message and HTTP error body; Status is the HTTP status; Close, when not
// zero, is the WebSocket close code of a session that ends for it; an SSE
// stream that ends for it writes an `error` event, preceded by a short
// `retry:` when RetrySoon is set. Resume marks an end that is no failure:
// the client reconnects at once with its cursor (static/ticker.js does,
// and TestClientResumesOnTheTablesEnds holds it to this table).
//
// The named errors below are the rows. Use them as they are, wrapped with
// fmt.Errorf("%w: ...") for detail, or with With for another message; any
// of these forms finds its row with Lookup.
type Error struct {
	Code      string
	Status    int
	Close     CloseCode
	RetrySoon bool
	Resume    bool
	// RetryAfter, when not zero, is the Retry-After (seconds) an HTTP
	// answer carries unless the handler set its own: how soon trying
	// again may succeed.
	RetryAfter int

	msg       string
	closeText string // the close frame's text, when not "<code>: reconnect with your cursor"
	row       *Error // the table row this error is a variant of; nil for a row
}

func (e *Error) Error() string { return e.msg }

// Is makes a variant made by With match its row.
func (e *Error) Is(target error) bool { return e.row != nil && target == e.row }

// With returns e with another message for people; its code and endings
// are e's.
func (e *Error) With(msg string) error {
	return &Error{Code: e.Code, Status: e.Status, Close: e.Close, RetrySoon: e.RetrySoon, Resume: e.Resume, RetryAfter: e.RetryAfter, row: e.base(), msg: msg}
}

func (e *Error) base() *Error {
	if e.row != nil {
		return e.row
	}
	return e
}

// The error table. docs/protocol.md section 5 is its description for
// client authors; TestErrorTableMatchesProtocol keeps the two together.
var (
	ErrBadRequest = &Error{Code: "bad_request", Status: http.StatusBadRequest, msg: "bad request"}
	// ErrNoTopics: a request that must name topics named none.
	ErrNoTopics      = &Error{Code: "bad_request", Status: http.StatusBadRequest, msg: `"topics" is required (">" for all)`}
	ErrBadTopic      = &Error{Code: "bad_topic", Status: http.StatusBadRequest, msg: "bad topic"}
	ErrBadCursor     = &Error{Code: "bad_cursor", Status: http.StatusBadRequest, msg: "cursor cannot be decoded"}
	ErrBadKind       = &Error{Code: "bad_kind", Status: http.StatusBadRequest, msg: `kind must be "state" or "event"`}
	ErrTooManyTopics = &Error{Code: "too_many_topics", Status: http.StatusBadRequest, msg: "too many topics"}
	ErrUnknownType   = &Error{Code: "unknown_type", Status: http.StatusBadRequest, msg: "unknown command type"}
	ErrUnauthorized  = &Error{Code: "unauthorized", Status: http.StatusUnauthorized, msg: "unauthorized"}
	ErrForbidden     = &Error{Code: "forbidden", Status: http.StatusForbidden, msg: "forbidden"}
	// ErrTokenExpired: the token presented, or the one a live stream
	// carries, has passed its exp. The client gets a new token, then
	// reconnects with its cursor (or renews with the WebSocket auth
	// command before exp, and nothing ends).
	ErrTokenExpired = &Error{Code: "token_expired", Status: http.StatusUnauthorized, Close: CloseTokenExpired, msg: "token expired",
		closeText: "token expired"}
	ErrNotFound         = &Error{Code: "not_found", Status: http.StatusNotFound, msg: "not found"}
	ErrMethodNotAllowed = &Error{Code: "method_not_allowed", Status: http.StatusMethodNotAllowed, msg: "method not allowed"}
	ErrTooLarge         = &Error{Code: "too_large", Status: http.StatusRequestEntityTooLarge, msg: "request body is larger than the limit"}
	// ErrURITooLong: the request's URL (its topics list, mostly) is
	// longer than the gateway reads.
	ErrURITooLong = &Error{Code: "uri_too_long", Status: http.StatusRequestURITooLong, msg: "the URL is longer than the limit"}
	// ErrTooManyMatches: a snapshot (REST, or the one a subscription
	// starts with) would hold more topics than the limit; ask for
	// narrower patterns.
	ErrTooManyMatches = &Error{Code: "too_many_matches", Status: http.StatusBadRequest, msg: "the patterns match more topics than one snapshot may hold"}
	// ErrTopicCapacity: a publish would add a topic past the number of
	// topics the gateway keeps.
	ErrTopicCapacity = &Error{Code: "topic_capacity", Status: http.StatusInsufficientStorage, msg: "the gateway holds as many topics as it may"}
	// ErrRateLimited: this client opened connections faster than its
	// per-IP rate, or holds as many as its per-IP cap.
	ErrRateLimited = &Error{Code: "rate_limited", Status: http.StatusTooManyRequests, RetryAfter: 1, msg: "too many connections from this client"}
	// ErrOverloaded: the gateway is at its connection budget; another
	// gateway, or this one shortly, will serve.
	ErrOverloaded = &Error{Code: "overloaded", Status: http.StatusServiceUnavailable, RetryAfter: 1, msg: "the gateway is at its connection budget"}
	// ErrSlowConsumer: the subscriber did not read fast enough and events
	// overflowed its queue. It resumes from its cursor.
	ErrSlowConsumer = &Error{Code: "slow_consumer", Status: http.StatusServiceUnavailable, Close: CloseSlowConsumer, Resume: true, msg: "slow consumer: queue overflowed",
		closeText: "slow consumer: resume from your cursor"}
	// ErrShutdown: the gateway is shutting down; reconnect elsewhere.
	ErrShutdown = &Error{Code: "shutdown", Status: http.StatusServiceUnavailable, Close: CloseServiceRestart, RetrySoon: true, Resume: true, msg: "gateway shutting down",
		closeText: "gateway restarting: reconnect with your cursor"}
	// ErrUnavailable: the server cannot serve this now (the stream is
	// unreachable, the latest values are not loaded yet).
	ErrUnavailable = &Error{Code: "unavailable", Status: http.StatusServiceUnavailable, Close: CloseInternalError, msg: "unavailable"}
	// ErrNotReady: the gateway has not loaded the stream yet.
	ErrNotReady = &Error{Code: "unavailable", Status: http.StatusServiceUnavailable, Close: CloseInternalError, msg: "hub has not loaded the stream yet"}
)

// Table lists every row, for documentation and tests.
var Table = []*Error{
	ErrBadRequest, ErrNoTopics, ErrBadTopic, ErrBadCursor, ErrBadKind, ErrTooManyTopics,
	ErrUnknownType, ErrUnauthorized, ErrForbidden, ErrTokenExpired, ErrNotFound, ErrMethodNotAllowed,
	ErrTooLarge, ErrURITooLong, ErrTooManyMatches, ErrTopicCapacity, ErrRateLimited, ErrOverloaded,
	ErrSlowConsumer, ErrShutdown, ErrUnavailable, ErrNotReady,
}

// Lookup finds err's row. Errors of the message package and an oversized
// body map to theirs; anything else is the server's failure: unavailable.
func Lookup(err error) *Error {
	var e *Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, message.ErrBadTopic):
		return ErrBadTopic
	case errors.Is(err, message.ErrBadCursor):
		return ErrBadCursor
	case errors.Is(err, message.ErrBadKind):
		return ErrBadKind
	case errors.As(err, &tooBig):
		return ErrTooLarge
	}
	return ErrUnavailable
}
