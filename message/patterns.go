package message

import "strings"

// PatternSet gathers a list of patterns as clients send them: each item
// trimmed, empty items dropped, each validated, duplicates dropped, kept
// in the order first given. Adding costs time linear in the item's
// length, whatever the set holds, so a caller can read a list item by
// item and stop as soon as Len passes its limit. The zero value is empty.
type PatternSet struct {
	list []string
	seen map[string]struct{}
}

// Add adds one item. Its error, a *PatternError, names an item that is
// not a valid pattern; the set is then unchanged.
func (s *PatternSet) Add(item string) error {
	p := strings.TrimSpace(item)
	if p == "" {
		return nil
	}
	if err := ValidatePattern(p); err != nil {
		return &PatternError{Pattern: p, Err: err}
	}
	if _, dup := s.seen[p]; dup {
		return nil
	}
	if s.seen == nil {
		s.seen = make(map[string]struct{})
	}
	// p may be a slice of a large request; the set may outlive it.
	p = strings.Clone(p)
	s.seen[p] = struct{}{}
	s.list = append(s.list, p)
	return nil
}

// Len is how many distinct patterns the set holds.
func (s *PatternSet) Len() int { return len(s.list) }

// Patterns returns the patterns in the order first given; nil when none.
func (s *PatternSet) Patterns() []string { return s.list }

// CleanPatterns trims, validates and de-duplicates a list of patterns,
// keeping the order given. It returns the first invalid pattern's error,
// naming it.
func CleanPatterns(in []string) ([]string, error) {
	var s PatternSet
	for _, p := range in {
		if err := s.Add(p); err != nil {
			return nil, err
		}
	}
	return s.Patterns(), nil
}

// PatternError names the pattern that failed validation.
type PatternError struct {
	Pattern string
	Err     error
}

func (e *PatternError) Error() string { return e.Err.Error() + ": " + quote(e.Pattern) }
func (e *PatternError) Unwrap() error { return e.Err }

// quote keeps user input in messages short and printable.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return "\"" + strings.ToValidUTF8(s, "?") + "\""
}
