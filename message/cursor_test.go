package message

import (
	"errors"
	"strings"
	"testing"
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
