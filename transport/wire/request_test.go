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

func query(t testing.TB, s string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(s)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", s, err)
	}
	return q
}

func TestParseRequest(t *testing.T) {
	other := message.Cursor{Epoch: 3, Seq: 99}
	tests := []struct {
		name        string
		query       string
		lastEventID string
		code        string // "" for success
		patterns    []string
		from        *message.Cursor
	}{
		{name: "topics", query: "topics=stocks.AAPL,sports.nba.%3E", patterns: []string{"stocks.AAPL", "sports.nba.>"}},
		{name: "encoded comma and spaces", query: "topics=+a.b+%2C+c+,,a.b", patterns: []string{"a.b", "c"}},
		{name: "only the first topics", query: "topics=a&topics=b", patterns: []string{"a"}},
		{name: "no topics", query: "cursor=" + goodCursor.String(), from: &goodCursor},
		{name: "empty topics", query: "topics=,,", patterns: nil},
		{name: "bad topic", query: "topics=a,b..c", code: "bad_topic"},
		{name: "cursor", query: "topics=a&cursor=" + goodCursor.String(), patterns: []string{"a"}, from: &goodCursor},
		{name: "bad cursor", query: "topics=a&cursor=AAAA", code: "bad_cursor"},
		{name: "empty cursor", query: "topics=a&cursor=", patterns: []string{"a"}},
		{name: "Last-Event-ID", query: "topics=a", lastEventID: goodCursor.String(), patterns: []string{"a"}, from: &goodCursor},
		{name: "Last-Event-ID wins", query: "topics=a&cursor=" + other.String(), lastEventID: goodCursor.String(),
			patterns: []string{"a"}, from: &goodCursor},
		{name: "Last-Event-ID wins over a bad cursor", query: "topics=a&cursor=garbage", lastEventID: goodCursor.String(),
			patterns: []string{"a"}, from: &goodCursor},
		{name: "bad Last-Event-ID", query: "topics=a&cursor=" + goodCursor.String(), lastEventID: "garbage", code: "bad_cursor"},
		{name: "bad topic before bad cursor", query: "topics=a+b&cursor=garbage", code: "bad_topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ParseRequest(query(t, tt.query), tt.lastEventID)
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
	got, err := ParseTopics(query(t, "topics=b.*,a,b.*"))
	if err != nil || !slices.Equal(got, []string{"b.*", "a"}) {
		t.Errorf("ParseTopics = %q, %v", got, err)
	}
	_, err = ParseTopics(query(t, "topics=ok,st%C3%B6cks"))
	if Lookup(err) != ErrBadTopic || !strings.Contains(err.Error(), "st") {
		t.Errorf("ParseTopics(bad) = %v", err)
	}
	if got, err := ParseTopics(url.Values{}); err != nil || len(got) != 0 {
		t.Errorf("ParseTopics(none) = %q, %v", got, err)
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
		{"timeout=60", max, false},
		{"timeout=61", max, false},
		{"timeout=3600", max, false},
		// Seconds that overflow a Duration are still capped, not wrapped.
		{"timeout=" + strconv.FormatInt(math.MaxInt64/int64(time.Second)+1, 10), max, false},
		{"timeout=" + strconv.Itoa(math.MaxInt), max, false},
		{"timeout=-1", 0, true},
		{"timeout=1.5", 0, true},
		{"timeout=abc", 0, true},
		{"timeout=5s", 0, true},
		// More seconds than an int64 holds is still only "a long wait".
		{"timeout=99999999999999999999999", max, false},
		{"timeout=-99999999999999999999999", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseTimeout(query(t, tt.query), def, max)
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
	if got, err := ParseTimeout(query(t, "timeout=1"), 0, 1500*time.Millisecond); err != nil || got != time.Second {
		t.Errorf("ParseTimeout(1, max 1.5s) = %v, %v", got, err)
	}
	if got, err := ParseTimeout(query(t, "timeout=2"), 0, 1500*time.Millisecond); err != nil || got != 1500*time.Millisecond {
		t.Errorf("ParseTimeout(2, max 1.5s) = %v, %v", got, err)
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add("topics=stocks.AAPL,sports.nba.%3E&cursor="+goodCursor.String(), "")
	f.Add("topics=a&cursor=garbage", goodCursor.String())
	f.Add("topics=a&timeout=9223372037", "x")
	f.Add("topics=a..b&timeout=-1", "")
	f.Add("topics=%zz;&&=", "")
	f.Add("topics="+strings.Repeat("a.", 200), "")
	f.Fuzz(func(t *testing.T, raw, lastEventID string) {
		q, _ := url.ParseQuery(raw) // what parsed is what a handler sees
		req, err := ParseRequest(q, lastEventID)
		if err != nil {
			if e := Lookup(err); e.Status != 400 || e.Code == "" {
				t.Fatalf("ParseRequest(%q, %q): %v maps to %s %d, not a 400 row", raw, lastEventID, err, e.Code, e.Status)
			}
		} else {
			for _, p := range req.Patterns {
				if message.ValidatePattern(p) != nil {
					t.Fatalf("accepted pattern %q", p)
				}
			}
			if err := req.NeedTopics(); err != nil && Lookup(err).Status != 400 {
				t.Fatalf("NeedTopics: %v", err)
			}
		}
		const max = time.Minute
		d, err := ParseTimeout(q, 25*time.Second, max)
		if err != nil {
			if Lookup(err).Status != 400 {
				t.Fatalf("ParseTimeout(%q): %v is not a 400 row", raw, err)
			}
		} else if d < 0 || d > max {
			t.Fatalf("ParseTimeout(%q) = %v, outside [0, %v]", raw, d, max)
		}
	})
}

func TestParseLimit(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  int
		bad   bool
	}{
		{"", 1000, false},
		{"limit=", 1000, false},
		{"limit=1", 1, false},
		{"limit=10000", 10_000, false},
		{"limit=10001", 10_000, false},
		{"limit=99999999999999999999999", 10_000, false},
		{"limit=0", 0, true},
		{"limit=-1", 0, true},
		{"limit=-99999999999999999999999", 0, true},
		{"limit=1.5", 0, true},
		{"limit=ten", 0, true},
	} {
		got, err := ParseLimit(query(t, tt.query), DefaultTopicsLimit, MaxTopicsLimit)
		if tt.bad {
			if e := Lookup(err); err == nil || e.Code != "bad_request" || e.Status != 400 || !strings.Contains(err.Error(), "limit") {
				t.Errorf("ParseLimit(%s) = %v, %v; want bad_request", tt.query, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseLimit(%s) = %v, %v; want %v", tt.query, got, err, tt.want)
		}
	}
}
