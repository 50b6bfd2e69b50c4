package message

import (
	"errors"
	"flag"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCleanPatterns(t *testing.T) {
	got, err := CleanPatterns([]string{" stocks.AAPL", " ", "sports.>", "stocks.AAPL", "\tsports.> ", "*.b"})
	if err != nil || !slices.Equal(got, []string{"stocks.AAPL", "sports.>", "*.b"}) {
		t.Fatalf("CleanPatterns = %q, %v", got, err)
	}
	_, err = CleanPatterns([]string{"stocks.AAPL", "bad topic", "a..b"})
	var pe *PatternError
	if !errors.As(err, &pe) || pe.Pattern != "bad topic" || !errors.Is(err, ErrBadTopic) {
		t.Fatalf("err = %v, want a PatternError naming the first bad pattern", err)
	}
	if !strings.Contains(err.Error(), `"bad topic"`) {
		t.Errorf("error %q does not name the pattern", err)
	}
	for _, in := range [][]string{nil, {}, {"", "  "}} {
		if got, err := CleanPatterns(in); err != nil || len(got) != 0 {
			t.Errorf("CleanPatterns(%q) = %q, %v", in, got, err)
		}
	}
}

func TestPatternSet(t *testing.T) {
	var s PatternSet
	if s.Len() != 0 || s.Patterns() != nil {
		t.Fatalf("zero set holds %q", s.Patterns())
	}
	big := "x." + strings.Repeat("y", 100)
	for _, item := range []string{"b", " a ", "", "b", big[:50], "a"} {
		if err := s.Add(item); err != nil {
			t.Fatalf("Add(%q): %v", item, err)
		}
	}
	if want := []string{"b", "a", big[:50]}; s.Len() != 3 || !slices.Equal(s.Patterns(), want) {
		t.Fatalf("set = %q, want %q", s.Patterns(), want)
	}
	if err := s.Add("c..d"); !errors.Is(err, ErrBadTopic) || s.Len() != 3 {
		t.Fatalf("Add(bad) = %v, Len %d", err, s.Len())
	}
	// A long pattern is refused by its length, and the message stays short.
	err := s.Add(strings.Repeat("a", 100_000))
	if !errors.Is(err, ErrBadTopic) || len(err.Error()) > 200 {
		t.Fatalf("Add(100k bytes) = %.300v", err)
	}
}

// cleanPatternsQuadratic is CleanPatterns as it was before issue 9: each
// pattern compared with every one kept. Kept as the reference the fuzz
// target holds the set to, and for the benchmark's before/after figure.
func cleanPatternsQuadratic(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, p := range in {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if err := ValidatePattern(p); err != nil {
			return nil, &PatternError{Pattern: p, Err: err}
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func FuzzCleanPatterns(f *testing.F) {
	for _, s := range []string{"stocks.AAPL,sports.>,stocks.AAPL", " a , ,b,a", "a..b,c", "*,>,*.*", "", ",,,", "a,\u00a0a\u00a0,a", "st\xffcks"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		in := strings.Split(list, ",")
		got, err := CleanPatterns(in)
		want, wantErr := cleanPatternsQuadratic(in)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("CleanPatterns(%q) error %v, the reference %v", in, err, wantErr)
		}
		if err != nil {
			var pe *PatternError
			if !errors.As(err, &pe) || !errors.Is(err, ErrBadTopic) || ValidatePattern(pe.Pattern) == nil {
				t.Fatalf("error %v does not name a bad pattern", err)
			}
			return
		}
		if !slices.Equal(got, want) {
			t.Fatalf("CleanPatterns(%q) = %q, the reference %q", in, got, want)
		}
		seen := map[string]bool{}
		for _, p := range got {
			if ValidatePattern(p) != nil || seen[p] || strings.TrimSpace(p) != p {
				t.Fatalf("CleanPatterns(%q) kept %q", in, p)
			}
			seen[p] = true
		}
		// Cleaning is idempotent.
		if again, err := CleanPatterns(got); err != nil || !slices.Equal(again, got) {
			t.Fatalf("cleaning %q again gives %q, %v", got, again, err)
		}
	})
}

// distinctPatterns returns n distinct valid patterns of three bytes each,
// as short as a list of n can be: what an attacker sends.
func distinctPatterns(n int) []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	out := make([]string, n)
	for i := range out {
		out[i] = string([]byte{alphabet[i>>12&63], alphabet[i>>6&63], alphabet[i&63]})
	}
	return out
}

// quadratic240k runs the old algorithm on 240k patterns too: about a
// minute of CPU for one iteration.
var quadratic240k = flag.Bool("quadratic240k", false, "BenchmarkCleanPatterns: also time the quadratic algorithm on 240k patterns (about a minute)")

// BenchmarkCleanPatterns compares the linear set with the quadratic
// algorithm it replaced:
//
//	go test -run='^$' -bench=CleanPatterns -benchtime=1x ./message -args -quadratic240k
func BenchmarkCleanPatterns(b *testing.B) {
	for _, n := range []int{100, 10_000, 240_000} {
		in := distinctPatterns(n)
		b.Run("linear/"+strconv.Itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if out, err := CleanPatterns(in); err != nil || len(out) != n {
					b.Fatal(len(out), err)
				}
			}
		})
		if n > 10_000 && !*quadratic240k {
			continue
		}
		b.Run("quadratic/"+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				if out, err := cleanPatternsQuadratic(in); err != nil || len(out) != n {
					b.Fatal(len(out), err)
				}
			}
		})
	}
}
