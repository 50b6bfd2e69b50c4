package message

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []Cursor{
		{0, 0}, {1, 1}, {1764000000000000000, 42}, {^uint64(0), ^uint64(0)},
	} {
		s := c.String()
		if strings.ContainsAny(s, "+/=&?# ") {
			t.Errorf("%v encodes to %q, not URL-safe", c, s)
		}
		got, err := ParseCursor(s)
		if err != nil || got != c {
			t.Errorf("ParseCursor(%q) = %v, %v; want %v", s, got, err, c)
		}
		if string(c.AppendText([]byte("x"))) != "x"+s {
			t.Errorf("AppendText disagrees with String for %v", c)
		}
	}
}

func TestCursorRejectsGarbage(t *testing.T) {
	good := Cursor{Epoch: 1764000000000000000, Seq: 12345}.String()
	flipped := []byte(good)
	if flipped[3] == 'A' {
		flipped[3] = 'B'
	} else {
		flipped[3] = 'A'
	}
	for _, s := range []string{
		"", "x", "!!!!", "not-a-cursor", "AAAAAAAA", good[:len(good)-1], good + "A",
		string(flipped), strings.Repeat("A", 100), "12345",
	} {
		if _, err := ParseCursor(s); !errors.Is(err, ErrBadCursor) {
			t.Errorf("ParseCursor(%q) = %v, want ErrBadCursor", s, err)
		}
	}
}

func FuzzParseCursor(f *testing.F) {
	f.Add(Cursor{Epoch: 7, Seq: 9}.String())
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			return
		}
		if got, err := ParseCursor(c.String()); err != nil || got != c {
			t.Fatalf("re-encoding %q: %v %v", s, got, err)
		}
	})
}

func TestUpdateJSON(t *testing.T) {
	u := Update{
		Topic: "stocks.AAPL", Kind: State, Seq: 77,
		Data: json.RawMessage(`{"price":189.32,"change":-0.41}`),
		Time: time.Date(2026, 11, 25, 14, 3, 7, 123456789, time.FixedZone("x", 3600)),
	}
	js := u.AppendJSON(nil, 5)
	var got struct {
		Type, Topic, Kind, Time, Cursor string
		Data                            map[string]float64
		Merged                          int
	}
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	if got.Type != "update" || got.Topic != "stocks.AAPL" || got.Kind != "state" ||
		got.Time != "2026-11-25T13:03:07.123Z" || got.Data["price"] != 189.32 {
		t.Fatalf("decoded %+v from %s", got, js)
	}
	if c, err := ParseCursor(got.Cursor); err != nil || c != (Cursor{5, 77}) {
		t.Fatalf("cursor %q: %v %v", got.Cursor, c, err)
	}
	if err := json.Unmarshal(AppendMerged(nil, js, 3), &got); err != nil || got.Merged != 3 {
		t.Fatalf("merged: %v %+v", err, got)
	}
}

func BenchmarkUpdateJSON(b *testing.B) {
	u := Update{Topic: "stocks.AAPL", Kind: State, Seq: 77, Data: json.RawMessage(`{"price":189.32}`), Time: time.Now()}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = u.AppendJSON(buf[:0], 1764000000000000000)
	}
}
