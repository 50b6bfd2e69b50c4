package wire

import (
	"errors"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
)

func TestParseRequest(t *testing.T) {
	other := message.Cursor{Epoch: 3, Seq: 99}
	tests := []struct {
		name        string
		query       string
		lastEventID string
		max         int
		code        string // "" for success
		patterns    []string
		from        *message.Cursor
	}{
		{name: "topics", query: "topics=stocks.AAPL,sports.nba.%3E", patterns: []string{"stocks.AAPL", "sports.nba.>"}},
		{name: "encoded comma and spaces", query: "topics=+a.b+%2C+c+,,a.b", patterns: []string{"a.b", "c"}},
		{name: "encoded key", query: "%74opics=a&cur%73or=" + goodCursor.String(), patterns: []string{"a"}, from: &goodCursor},
		{name: "only the first topics", query: "topics=a&topics=b", patterns: []string{"a"}},
		{name: "no topics", query: "cursor=" + goodCursor.String(), from: &goodCursor},
		{name: "empty topics", query: "topics=,,", patterns: nil},
		{name: "empty query", query: "", patterns: nil},
		{name: "bad topic", query: "topics=a,b..c", code: "bad_topic"},
		{name: "cursor", query: "topics=a&cursor=" + goodCursor.String(), patterns: []string{"a"}, from: &goodCursor},
		{name: "bad cursor", query: "topics=a&cursor=AAAA", code: "bad_cursor"},
		{name: "empty cursor", query: "topics=a&cursor=", patterns: []string{"a"}},
		{name: "Last-Event-ID", query: "topics=a", lastEventID: goodCursor.String(), patterns: []string{"a"}, from: &goodCursor},
		{name: "Last-Event-ID wins", query: "topics=a&cursor=" + other.String(), lastEventID: goodCursor.String(),
			patterns: []string{"a"}, from: &goodCursor},
		{name: "Last-Event-ID wins over a bad cursor", query: "topics=a&cursor=garbage", lastEventID: goodCursor.String(),
			patterns: []string{"a"}, from: &goodCursor},
		{name: "Last-Event-ID wins over a mangled cursor", query: "topics=a&cursor=%%%", lastEventID: goodCursor.String(),
			patterns: []string{"a"}, from: &goodCursor},
		{name: "bad Last-Event-ID", query: "topics=a&cursor=" + goodCursor.String(), lastEventID: "garbage", code: "bad_cursor"},
		{name: "bad topic before bad cursor", query: "topics=a+b&cursor=garbage", code: "bad_topic"},

		// Bad escapes: net/url would drop the pair and read "no cursor".
		{name: "cursor %%%", query: "topics=a&cursor=%%%", code: "bad_cursor"},
		{name: "cursor bad escape after a good cursor", query: "topics=a&cursor=" + goodCursor.String() + "%", code: "bad_cursor"},
		{name: "cursor %zz", query: "cursor=%zz", code: "bad_cursor"},
		{name: "cursor escaped but good", query: "topics=a&cursor=" + url.QueryEscape(goodCursor.String()), patterns: []string{"a"}, from: &goodCursor},
		{name: "cursor with a semicolon", query: "topics=a&cursor=" + goodCursor.String() + ";x=1", code: "bad_cursor"},
		{name: "topics bad escape", query: "topics=a,%G1&cursor=" + goodCursor.String(), code: "bad_topic"},
		{name: "topics truncated escape", query: "topics=a%2", code: "bad_topic"},
		{name: "bad escape in a key", query: "topics=a&cursor%=x", code: "bad_request"},
		{name: "bad escape in a key before topics", query: "%=1&topics=a", code: "bad_request"},
		{name: "bad escape in another value is not read", query: "topics=a&utm=%%%&x", patterns: []string{"a"}},

		// The limit counts distinct patterns, and is checked while reading.
		{name: "at the limit", query: "topics=a,b,a,c", max: 3, patterns: []string{"a", "b", "c"}},
		{name: "past the limit", query: "topics=a,b,c,d", max: 3, code: "too_many_topics"},
		{name: "past the limit before a bad item", query: "topics=a,b,c,d,e..f", max: 3, code: "too_many_topics"},
		{name: "past the limit in one escaped item", query: "topics=a%2Cb%2Cc%2Cd", max: 3, code: "too_many_topics"},
		{name: "bad item before the limit", query: "topics=a,b..c,d,e", max: 3, code: "bad_topic"},
		{name: "duplicates do not count", query: "topics=" + strings.Repeat("a,", 1000) + "b", max: 2, patterns: []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseRequest(tt.query, tt.lastEventID, tt.max)
			if tt.code != "" {
				if e := Lookup(err); err == nil || e.Code != tt.code || e.Status != 400 {
					t.Fatalf("err = %v (%s), want %s", err, e.Code, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(req.Patterns, tt.patterns) {
				t.Errorf("Patterns = %q, want %q", req.Patterns, tt.patterns)
			}
			if (req.From == nil) != (tt.from == nil) || req.From != nil && *req.From != *tt.from {
				t.Errorf("From = %v, want %v", req.From, tt.from)
			}
			if needErr := req.NeedTopics(); (needErr == nil) != (len(tt.patterns) > 0) {
				t.Errorf("NeedTopics() = %v with patterns %q", needErr, req.Patterns)
			}
		})
	}
}

func TestParseTopics(t *testing.T) {
	got, err := ParseTopics("topics=b.*,a,b.*", 100)
	if err != nil || !slices.Equal(got, []string{"b.*", "a"}) {
		t.Errorf("ParseTopics = %q, %v", got, err)
	}
	_, err = ParseTopics("topics=ok,st%C3%B6cks", 100)
	if Lookup(err) != ErrBadTopic || !strings.Contains(err.Error(), "st") {
		t.Errorf("ParseTopics(bad) = %v", err)
	}
	_, err = ParseTopics("topics=ok,%%41", 100)
	if Lookup(err).Code != "bad_topic" || !strings.Contains(err.Error(), `"%%41"`) {
		t.Errorf("ParseTopics(bad escape) = %v, want bad_topic naming the item", err)
	}
	if got, err := ParseTopics("", 100); err != nil || len(got) != 0 {
		t.Errorf("ParseTopics(none) = %q, %v", got, err)
	}
	_, err = ParseTopics("topics=a,b,c", 2)
	if !errors.Is(err, ErrTooManyTopics) || !strings.Contains(err.Error(), "at most 2") {
		t.Errorf("ParseTopics(3 of 2) = %v", err)
	}
}

// hugeTopics is a topics list of n distinct three-byte patterns, n*4
// bytes: the attack is 240k of them in a 950 KB URL.
func hugeTopics(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, 0, len("topics=")+4*n)
	b = append(b, "topics="...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, alphabet[i>>12&63], alphabet[i>>6&63], alphabet[i&63])
	}
	return string(b)
}

// A list far past the limit costs what reading up to the limit costs,
// not what the whole list would.
func TestParseTopicsStopsAtTheLimit(t *testing.T) {
	q := hugeTopics(240_000) + "&cursor=" + goodCursor.String()
	if len(q) < 950_000 {
		t.Fatalf("query of %d bytes", len(q))
	}
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := ParseRequest(q, "", 100); !errors.Is(err, ErrTooManyTopics) {
			t.Fatalf("ParseRequest(240k patterns, max 100) = %v", err)
		}
	})
	// One allocation per pattern kept, and a few for the set and the
	// error: nothing per pattern of the part not read.
	if allocs > 150 {
		t.Errorf("%.0f allocations to refuse 240k patterns with a limit of 100", allocs)
	}
}

// BenchmarkParseRequest is the cost of refusing the 240k-pattern
// list at the default limit, of reading it whole with no limit, and of
// reading a list at the limit:
//
//	go test -run='^$' -bench=ParseRequest ./transport/wire
func BenchmarkParseRequest(b *testing.B) {
	for _, tc := range []struct {
		name   string
		n, max int
	}{{"240k-max100", 240_000, 100}, {"240k-nomax", 240_000, 0}, {"100-max100", 100, 100}} {
		q := hugeTopics(tc.n) + "&cursor=" + goodCursor.String()
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(q)))
			for b.Loop() {
				_, err := ParseRequest(q, "", tc.max)
				if (err != nil) != (tc.max > 0 && tc.n > tc.max) {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestNeedTopics(t *testing.T) {
	err := Request{}.NeedTopics()
	if !errors.Is(err, ErrNoTopics) || Lookup(err).Code != "bad_request" || Lookup(err).Status != 400 {
		t.Errorf("NeedTopics() on no patterns = %v", err)
	}
	if err := (Request{Patterns: []string{"a"}}).NeedTopics(); err != nil {
		t.Errorf("NeedTopics() = %v", err)
	}
}

func TestParseTimeout(t *testing.T) {
	const def, max = 25 * time.Second, 60 * time.Second
	tests := []struct {
		query string
		want  time.Duration
		bad   bool
	}{
		{"", def, false},
		{"timeout=", def, false},
		{"timeout=0", 0, false},
		{"timeout=1", time.Second, false},
		{"timeout=%31", time.Second, false},
		{"topics=a&timeout=60", max, false},
		{"timeout=61", max, false},
		{"timeout=3600", max, false},
		// Seconds that overflow a Duration are still capped, not wrapped.
		{"timeout=" + strconv.FormatInt(math.MaxInt64/int64(time.Second)+1, 10), max, false},
		{"timeout=" + strconv.Itoa(math.MaxInt), max, false},
		{"timeout=-1", 0, true},
		{"timeout=1.5", 0, true},
		{"timeout=abc", 0, true},
		{"timeout=5s", 0, true},
		{"timeout=+5", 0, true}, // "+" is a space
		{"timeout=%", 0, true},
		{"timeout=5%", 0, true},
		{"timeout=%%35", 0, true},
		// More seconds than an int64 holds is still only "a long wait".
		{"timeout=99999999999999999999999", max, false},
		{"timeout=-99999999999999999999999", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseTimeout(tt.query, def, max)
		if tt.bad {
			if e := Lookup(err); err == nil || e.Code != "bad_request" || e.Status != 400 || !strings.Contains(err.Error(), "timeout") {
				t.Errorf("ParseTimeout(%s) = %v, %v; want bad_request", tt.query, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseTimeout(%s) = %v, %v; want %v", tt.query, got, err, tt.want)
		}
	}
	// A cap below a second is kept, not rounded.
	if got, err := ParseTimeout("timeout=1", 0, 1500*time.Millisecond); err != nil || got != time.Second {
		t.Errorf("ParseTimeout(1, max 1.5s) = %v, %v", got, err)
	}
	if got, err := ParseTimeout("timeout=2", 0, 1500*time.Millisecond); err != nil || got != 1500*time.Millisecond {
		t.Errorf("ParseTimeout(2, max 1.5s) = %v, %v", got, err)
	}
}

func TestParseTopicsPage(t *testing.T) {
	long := strings.Repeat("a", 255)
	tests := []struct {
		query string
		want  TopicsPage
		code  string
	}{
		{"", TopicsPage{Limit: 1000}, ""},
		{"prefix=stocks.", TopicsPage{Prefix: "stocks.", Limit: 1000}, ""},
		{"prefix=sto%63ks+x&after=stocks.A", TopicsPage{Prefix: "stocks x", After: "stocks.A", Limit: 1000}, ""},
		{"prefix=" + long + "&after=" + long, TopicsPage{Prefix: long, After: long, Limit: 1000}, ""},
		{"prefix=" + long + "a", TopicsPage{}, "bad_topic"},
		{"after=" + long + "a", TopicsPage{}, "bad_topic"},
		{"prefix=%%%", TopicsPage{}, "bad_topic"},
		{"after=%zz", TopicsPage{}, "bad_topic"},
		{"prefix=a&%zz=1", TopicsPage{}, "bad_request"},
		{"limit=", TopicsPage{Limit: 1000}, ""},
		{"limit=1", TopicsPage{Limit: 1}, ""},
		{"limit=10000", TopicsPage{Limit: 10_000}, ""},
		{"limit=10001", TopicsPage{Limit: 10_000}, ""},
		{"limit=99999999999999999999999", TopicsPage{Limit: 10_000}, ""},
		{"limit=0", TopicsPage{}, "bad_request"},
		{"limit=-1", TopicsPage{}, "bad_request"},
		{"limit=-99999999999999999999999", TopicsPage{}, "bad_request"},
		{"limit=1.5", TopicsPage{}, "bad_request"},
		{"limit=ten", TopicsPage{}, "bad_request"},
		{"limit=%zz", TopicsPage{}, "bad_request"},
	}
	for _, tt := range tests {
		got, err := ParseTopicsPage(tt.query)
		if got != tt.want || Lookup(err).Code != tt.code && (err != nil || tt.code != "") {
			t.Errorf("ParseTopicsPage(%.40q) = %+v, %v; want %+v, %s", tt.query, got, err, tt.want, tt.code)
		}
	}
}

func TestQueryParam(t *testing.T) {
	tests := []struct {
		query, key, want string
		bad              bool
	}{
		{"a=1&b=2", "b", "2", false},
		{"a=1&a=2", "a", "1", false},
		{"a", "a", "", false},
		{"a=x%20y+z", "a", "x y z", false},
		{"%61=1", "a", "1", false},
		{"a+b=1", "a b", "1", false},
		{"b=1", "a", "", false},
		{"a=%zz", "a", "", true},
		{"a=1&%zz", "a", "", true},
		{"a=1&b=%zz", "a", "1", false},
		{"a=1;b=2", "a", "1;b=2", false},
		{"&&a=1&&", "a", "1", false},
	}
	for _, tt := range tests {
		got, err := QueryParam(tt.query, tt.key)
		if tt.bad != (err != nil) || got != tt.want || err != nil && Lookup(err).Code != "bad_request" {
			t.Errorf("QueryParam(%q, %q) = %q, %v", tt.query, tt.key, got, err)
		}
	}
}

// referenceRequest is how requests were read before issue 9, through
// url.Values: right whenever the query is well-formed.
func referenceRequest(q url.Values, lastEventID string) ([]string, *message.Cursor, error) {
	list := q.Get("topics")
	var patterns []string
	if list != "" {
		var err error
		if patterns, err = message.CleanPatterns(strings.Split(list, ",")); err != nil {
			return nil, nil, err
		}
	}
	raw := q.Get("cursor")
	if lastEventID != "" {
		raw = lastEventID
	}
	if raw == "" {
		return patterns, nil, nil
	}
	c, err := message.ParseCursor(raw)
	if err != nil {
		return nil, nil, err
	}
	return patterns, &c, nil
}

func FuzzParseRequest(f *testing.F) {
	f.Add("topics=stocks.AAPL,sports.nba.%3E&cursor="+goodCursor.String(), "", 100)
	f.Add("topics=a&cursor=garbage", goodCursor.String(), 100)
	f.Add("topics=a&timeout=9223372037", "x", 1)
	f.Add("topics=a..b&timeout=-1", "", 0)
	f.Add("topics=%zz;&&=", "", 5)
	f.Add("topics="+strings.Repeat("a.", 200), "", 100)
	f.Add("topics=a,b,c,d&cursor=%%%", "", 3)
	f.Add("%74opics=a%2Cb&%63ursor="+goodCursor.String(), "", 2)
	f.Add("topics=a&cursor%=1", "", 2)
	f.Fuzz(func(t *testing.T, raw, lastEventID string, max int) {
		max %= 200
		req, err := ParseRequest(raw, lastEventID, max)
		if err != nil {
			if e := Lookup(err); e.Status != 400 || e.Code == "" || e.Code == ErrUnavailable.Code {
				t.Fatalf("ParseRequest(%q, %q): %v maps to %s %d, not a 400 row", raw, lastEventID, err, e.Code, e.Status)
			}
		} else {
			if max > 0 && len(req.Patterns) > max {
				t.Fatalf("ParseRequest(%q, max %d) kept %d patterns", raw, max, len(req.Patterns))
			}
			for i, p := range req.Patterns {
				if message.ValidatePattern(p) != nil || slices.Contains(req.Patterns[:i], p) {
					t.Fatalf("accepted pattern %q in %q", p, req.Patterns)
				}
			}
			if err := req.NeedTopics(); err != nil && Lookup(err).Status != 400 {
				t.Fatalf("NeedTopics: %v", err)
			}
		}

		// Where url.ParseQuery finds nothing wrong, the answer is the one
		// the old url.Values path gave, except that a list past the limit
		// is refused, possibly before a bad item beyond it is seen.
		if q, qerr := url.ParseQuery(raw); qerr == nil {
			patterns, from, refErr := referenceRequest(q, lastEventID)
			switch {
			case errors.Is(err, ErrTooManyTopics):
				if refErr == nil && len(patterns) <= max {
					t.Fatalf("ParseRequest(%q, max %d) = %v; the reference read %d patterns", raw, max, err, len(patterns))
				}
			case refErr == nil && max > 0 && len(patterns) > max:
				t.Fatalf("ParseRequest(%q, max %d) = %v; the reference read %d patterns", raw, max, err, len(patterns))
			case (err == nil) != (refErr == nil) || err != nil && Lookup(err).Code != Lookup(refErr).Code:
				t.Fatalf("ParseRequest(%q, %q) = %v; the reference: %v", raw, lastEventID, err, refErr)
			case err == nil && (!slices.Equal(req.Patterns, patterns) || (req.From == nil) != (from == nil) ||
				from != nil && *req.From != *from):
				t.Fatalf("ParseRequest(%q, %q) = %q %v; the reference: %q %v", raw, lastEventID, req.Patterns, req.From, patterns, from)
			}
		}

		const maxWait = time.Minute
		d, err := ParseTimeout(raw, 25*time.Second, maxWait)
		if err != nil {
			if Lookup(err).Status != 400 {
				t.Fatalf("ParseTimeout(%q): %v is not a 400 row", raw, err)
			}
		} else if d < 0 || d > maxWait {
			t.Fatalf("ParseTimeout(%q) = %v, outside [0, %v]", raw, d, maxWait)
		}
	})
}
