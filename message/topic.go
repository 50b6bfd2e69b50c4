package message

import (
	"errors"
	"strings"
)

// Limits of the topic grammar.
const (
	// MaxTopicLen is the longest topic or pattern, in bytes.
	MaxTopicLen = 255
	// MaxTopicTokens is the most dot-separated tokens a topic or pattern has.
	MaxTopicTokens = 8
)

// Errors returned by ValidateTopic and ValidatePattern. They all wrap
// ErrBadTopic so callers can map them to the single bad_topic error code.
var (
	ErrBadTopic      = errors.New("bad topic")
	errEmptyTopic    = wrapTopic("topic is empty")
	errTopicTooLong  = wrapTopic("topic is longer than 255 bytes")
	errTooManyTokens = wrapTopic("topic has more than 8 tokens")
	errEmptyToken    = wrapTopic("topic has an empty token")
	errBadChar       = wrapTopic("topic tokens may hold only A-Z a-z 0-9 _ -")
	errWildcard      = wrapTopic("wildcards are allowed in patterns only")
	errGTNotLast     = wrapTopic("'>' may only be the last token")
)

type topicError string

func (e topicError) Error() string { return string(e) }
func (e topicError) Unwrap() error { return ErrBadTopic }

func wrapTopic(s string) error { return topicError(s) }

// ValidateTopic reports whether t is a concrete topic: 1 to 8 dot-separated
// tokens of [A-Za-z0-9_-], at most 255 bytes. Wildcards are refused.
func ValidateTopic(t string) error { return validate(t, false) }

// ValidatePattern reports whether p is a subscription pattern: a topic whose
// tokens may also be "*" (exactly one token) or, as the last token, ">" (one
// or more tokens), with the meaning NATS gives them.
func ValidatePattern(p string) error { return validate(p, true) }

func validate(s string, pattern bool) error {
	if s == "" {
		return errEmptyTopic
	}
	if len(s) > MaxTopicLen {
		return errTopicTooLong
	}
	tokens := 1
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			continue
		}
		tok := s[start:i]
		if err := validToken(tok, pattern, i == len(s)); err != nil {
			return err
		}
		if i < len(s) {
			tokens++
			if tokens > MaxTopicTokens {
				return errTooManyTokens
			}
		}
		start = i + 1
	}
	return nil
}

func validToken(tok string, pattern, last bool) error {
	if tok == "" {
		return errEmptyToken
	}
	if tok == "*" || tok == ">" {
		if !pattern {
			return errWildcard
		}
		if tok == ">" && !last {
			return errGTNotLast
		}
		return nil
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return errBadChar
		}
	}
	return nil
}

// IsWildcard reports whether a valid pattern holds "*" or ">": in a valid
// pattern they can only be whole tokens.
func IsWildcard(p string) bool { return strings.ContainsAny(p, "*>") }

// Match reports whether the valid pattern p matches the valid topic t.
// It does not allocate.
func Match(p, t string) bool {
	for {
		ptok, prest, pmore := strings.Cut(p, ".")
		if ptok == ">" {
			return t != ""
		}
		if t == "" {
			return false
		}
		ttok, trest, tmore := strings.Cut(t, ".")
		if ptok != "*" && ptok != ttok {
			return false
		}
		if pmore != tmore {
			return false
		}
		if !pmore {
			return true
		}
		p, t = prest, trest
	}
}

// Overlap reports whether some topic matches both valid patterns p and q.
func Overlap(p, q string) bool {
	for {
		ptok, prest, pmore := strings.Cut(p, ".")
		qtok, qrest, qmore := strings.Cut(q, ".")
		if ptok == ">" || qtok == ">" {
			return true
		}
		if ptok != "*" && qtok != "*" && ptok != qtok {
			return false
		}
		if pmore != qmore {
			return false
		}
		if !pmore {
			return true
		}
		p, q = prest, qrest
	}
}

// Overlapping reports whether any two of the patterns overlap.
func Overlapping(patterns []string) bool {
	for i, p := range patterns {
		for _, q := range patterns[i+1:] {
			if Overlap(p, q) {
				return true
			}
		}
	}
	return false
}
