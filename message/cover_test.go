package message

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestCovers(t *testing.T) {
	for _, tt := range []struct {
		cover, p string
		want     bool
	}{
		{"stocks.*", "stocks.AAPL", true},
		{"stocks.AAPL", "stocks.AAPL", true},
		{"stocks.AAPL", "stocks.>", false},
		{"stocks.AAPL", "stocks.*", false},
		{"stocks.>", "stocks.*", true},
		{"stocks.>", "stocks.a.b.>", true},
		{"stocks.*", "stocks.>", false},
		{"stocks.*.>", "stocks.>", false},
		{">", ">", true},
		{">", "a", true},
		{"*", ">", false},
		{"*.*", "a.*", true},
		{"a.*", "*.*", false},
		{"stocks.*", "stocks", false},
		{"stocks", "stocks.*", false},
		// A ">" in the eighth place stands for the one token left.
		{"a.b.c.d.e.f.g.*", "a.b.c.d.e.f.g.>", true},
		{"a.b.c.d.e.f.*.*", "a.b.c.d.e.f.>", false},
		{"a.b.c.d.e.f.g.h", "a.b.c.d.e.f.g.>", false},
	} {
		if got := Covers(tt.cover, tt.p); got != tt.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tt.cover, tt.p, got, tt.want)
		}
	}
}

// coversByTopics is Covers by its definition: no topic of topics that p
// matches escapes cover.
func coversByTopics(cover, p string, topics []string) bool {
	for _, t := range topics {
		if Match(p, t) && !Match(cover, t) {
			return false
		}
	}
	return true
}

// patternsOf lists every pattern of n tokens at most drawn from toks,
// with ">" allowed in the last place, each after prefix.
func patternsOf(prefix string, toks []string, n int) []string {
	var out []string
	var walk func(string, int)
	walk = func(s string, depth int) {
		for _, tok := range append(toks, ">") {
			p := s + tok
			out = append(out, p)
			if tok != ">" && depth < n {
				walk(p+".", depth+1)
			}
		}
	}
	walk(prefix, 1)
	return out
}

// topicsOf lists every topic of n tokens at most over toks, after prefix.
func topicsOf(prefix string, toks []string, n int) []string {
	var out []string
	var walk func(string, int)
	walk = func(s string, depth int) {
		for _, tok := range toks {
			out = append(out, s+tok)
			if depth < n {
				walk(s+tok+".", depth+1)
			}
		}
	}
	walk(prefix, 1)
	return out
}

// Every pair of patterns over {a, b, *, >} of up to three tokens, and of
// seven or eight tokens (where the token limit bounds ">"), against every
// topic that could tell them apart: over {a, b, c} (c stands for any token
// the patterns do not name), one token longer than the longer pattern.
func TestCoversExhaustive(t *testing.T) {
	const long = "a.a.a.a.a.a."
	short := patternsOf("", []string{"a", "b", "*"}, 3)
	patterns := append(short, patternsOf(long, []string{"a", "b", "*"}, 2)...)
	topics := append(topicsOf("", []string{"a", "b", "c"}, 4), topicsOf(long, []string{"a", "b", "c"}, 2)...)
	for _, p := range patterns {
		if err := ValidatePattern(p); err != nil {
			t.Fatalf("%q: %v", p, err)
		}
	}
	checked, covered := 0, 0
	for _, c := range patterns {
		for _, p := range patterns {
			want := coversByTopics(c, p, topics)
			if got := Covers(c, p); got != want {
				t.Errorf("Covers(%q, %q) = %v, the topics say %v", c, p, got, want)
			}
			checked++
			if want {
				covered++
			}
		}
	}
	if covered == 0 || covered == checked {
		t.Fatalf("%d of %d pairs covered: the enumeration tells nothing", covered, checked)
	}
}

// randomPattern draws a valid pattern of up to MaxTopicTokens tokens.
func randomPattern(r *rand.Rand, wild bool) string {
	n := 1 + r.IntN(MaxTopicTokens)
	toks := make([]string, n)
	for i := range toks {
		switch x := r.IntN(10); {
		case wild && x == 0:
			toks[i] = "*"
		case wild && x == 1 && i == n-1:
			toks[i] = ">"
		default:
			toks[i] = string(rune('a' + r.IntN(3)))
		}
	}
	return strings.Join(toks, ".")
}

// On random patterns and topics of every length the grammar allows, a
// cover never lets through a topic its pattern would not.
func TestCoversRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	topics := make([]string, 2000)
	for i := range topics {
		topics[i] = randomPattern(r, false)
	}
	covered := 0
	for range 20_000 {
		c, p := randomPattern(r, true), randomPattern(r, true)
		if !Covers(c, p) {
			continue
		}
		covered++
		for _, tp := range topics {
			if Match(p, tp) && !Match(c, tp) {
				t.Fatalf("Covers(%q, %q), but %q matches only the second", c, p, tp)
			}
		}
	}
	if covered < 100 {
		t.Fatalf("only %d covering pairs drawn", covered)
	}
}

func FuzzCovers(f *testing.F) {
	for _, s := range [][3]string{
		{"stocks.*", "stocks.AAPL", "stocks.AAPL"},
		{"stocks.AAPL", "stocks.>", "stocks.MSFT"},
		{"a.b.c.d.e.f.g.*", "a.b.c.d.e.f.g.>", "a.b.c.d.e.f.g.h"},
		{">", "*.*", "x.y"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, c, p, topic string) {
		if ValidatePattern(c) != nil || ValidatePattern(p) != nil {
			return
		}
		if !Covers(p, p) || !Covers(">", p) {
			t.Fatalf("%q is not covered by itself or by >", p)
		}
		if Covers(c, p) && ValidateTopic(topic) == nil && Match(p, topic) && !Match(c, topic) {
			t.Fatalf("Covers(%q, %q), but %q matches only the second", c, p, topic)
		}
	})
}

func BenchmarkCovers(b *testing.B) {
	for b.Loop() {
		Covers("sports.*.*.>", "sports.nba.g2611250001.events")
	}
}
