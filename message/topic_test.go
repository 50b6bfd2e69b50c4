package message

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateTopic(t *testing.T) {
	long := strings.Repeat("a", 250) + ".bcdef" // 256 bytes
	tests := []struct {
		in      string
		topic   bool // valid as a topic
		pattern bool // valid as a pattern
	}{
		{"stocks.AAPL", true, true},
		{"sports.nba.g2611250001", true, true},
		{"sports.nba.g2611250001.events", true, true},
		{"a", true, true},
		{"A-b_9.x", true, true},
		{"a.b.c.d.e.f.g.h", true, true},
		{"a.b.c.d.e.f.g.h.i", false, false},
		{"", false, false},
		{".", false, false},
		{"a.", false, false},
		{".a", false, false},
		{"a..b", false, false},
		{"a b", false, false},
		{"stocks.AAPL$", false, false},
		{"stocks/AAPL", false, false},
		{"stöcks", false, false},
		{"*", false, true},
		{">", false, true},
		{"stocks.*", false, true},
		{"sports.>", false, true},
		{"*.nba.*.events", false, true},
		{"a.>.b", false, false},
		{"a.**", false, false},
		{"a.>>", false, false},
		{"a*", false, false},
		{long, false, false},
		{long[:255], true, true},
	}
	for _, tt := range tests {
		if err := ValidateTopic(tt.in); (err == nil) != tt.topic {
			t.Errorf("ValidateTopic(%q) = %v, want valid=%v", tt.in, err, tt.topic)
		} else if err != nil && !errors.Is(err, ErrBadTopic) {
			t.Errorf("ValidateTopic(%q) error %v does not wrap ErrBadTopic", tt.in, err)
		}
		if err := ValidatePattern(tt.in); (err == nil) != tt.pattern {
			t.Errorf("ValidatePattern(%q) = %v, want valid=%v", tt.in, err, tt.pattern)
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, topic string
		want           bool
	}{
		{"stocks.AAPL", "stocks.AAPL", true},
		{"stocks.AAPL", "stocks.MSFT", false},
		{"stocks.AAPL", "stocks.AAPL.x", false},
		{"stocks.AAPL.x", "stocks.AAPL", false},
		{"stocks.*", "stocks.AAPL", true},
		{"stocks.*", "stocks", false},
		{"stocks.*", "stocks.AAPL.x", false},
		{"*", "stocks", true},
		{"*", "stocks.AAPL", false},
		{">", "stocks", true},
		{">", "a.b.c", true},
		{"sports.>", "sports.nba.g1", true},
		{"sports.>", "sports.nba.g1.events", true},
		{"sports.>", "sports", false},
		{"sports.*.*.events", "sports.nba.g1.events", true},
		{"sports.*.*.events", "sports.nba.g1", false},
		{"sports.nba.*", "sports.nhl.g1", false},
		{"a.*.c", "a.b.c", true},
		{"a.*.c", "a.b.d", false},
		{"ab", "a", false},
		{"a", "ab", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.topic); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.topic, got, tt.want)
		}
	}
}

// matchSlow is the obvious token-by-token definition Match must agree with.
func matchSlow(p, t string) bool {
	pt, tt := strings.Split(p, "."), strings.Split(t, ".")
	for i, tok := range pt {
		if tok == ">" {
			return len(tt) > i
		}
		if i >= len(tt) || (tok != "*" && tok != tt[i]) {
			return false
		}
	}
	return len(pt) == len(tt)
}

func FuzzTopic(f *testing.F) {
	for _, s := range []string{"stocks.AAPL", "sports.>", "*.x", "a..b", "", ">", "a.>.b", "stocks.AAPL.trades"} {
		f.Add(s, "stocks.AAPL")
	}
	f.Fuzz(func(t *testing.T, p, topic string) {
		perr := ValidatePattern(p)
		terr := ValidateTopic(p)
		if terr == nil && perr != nil {
			t.Fatalf("%q is a topic but not a pattern", p)
		}
		if terr == nil && IsWildcard(p) {
			t.Fatalf("topic %q holds a wildcard", p)
		}
		if perr == nil && (len(p) > MaxTopicLen || strings.Count(p, ".") >= MaxTopicTokens) {
			t.Fatalf("pattern %q exceeds limits", p)
		}
		if perr != nil || ValidateTopic(topic) != nil {
			return
		}
		if got, want := Match(p, topic), matchSlow(p, topic); got != want {
			t.Fatalf("Match(%q, %q) = %v, want %v", p, topic, got, want)
		}
		if terr == nil && !Match(p, p) {
			t.Fatalf("topic %q does not match itself", p)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Match("sports.*.*.events", "sports.nba.g2611250001.events")
	}
}
