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
	// {1, 1} is 5 bytes in 7 characters: the last one's 2 low bits are
	// padding, zero in what String makes.
	short := Cursor{Epoch: 1, Seq: 1}.String()
	last := strings.IndexByte(cursorAlphabet, short[len(short)-1])
	padded := short[:len(short)-1] + string(cursorAlphabet[last|1])
	for _, s := range []string{
		good[:5] + "\n" + good[5:], good + "\r\n", padded,
		"", "x", "!!!!", "not-a-cursor", "AAAAAAAA", good[:len(good)-1], good + "A",
		string(flipped), strings.Repeat("A", 100), "12345",
	} {
		if _, err := ParseCursor(s); !errors.Is(err, ErrBadCursor) {
			t.Errorf("ParseCursor(%q) = %v, want ErrBadCursor", s, err)
		}
	}
}

const cursorAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func FuzzParseCursor(f *testing.F) {
	f.Add(Cursor{Epoch: 7, Seq: 9}.String())
	f.Add(Cursor{Epoch: 1764000000000000000, Seq: 12345}.String())
	f.Add("garbage")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) || c != (Cursor{}) {
				t.Fatalf("ParseCursor(%q) = %v, %v; want ErrBadCursor and no position", s, c, err)
			}
			return
		}
		// What is accepted is short and URL-safe, so a cursor never needs
		// escaping, and it names the position its own encoding names.
		if len(s) > 64 || strings.Trim(s, cursorAlphabet) != "" {
			t.Fatalf("accepted %q", s)
		}
		if got, err := ParseCursor(c.String()); err != nil || got != c {
			t.Fatalf("re-encoding %q: %v %v", s, got, err)
		}
	})
}

func FuzzCursorRoundTrip(f *testing.F) {
	f.Add(uint64(0), uint64(0))
	f.Add(uint64(1764000000000000000), uint64(42))
	f.Add(^uint64(0), ^uint64(0))
	f.Fuzz(func(t *testing.T, epoch, seq uint64) {
		c := Cursor{Epoch: epoch, Seq: seq}
		s := c.String()
		if got, err := ParseCursor(s); err != nil || got != c {
			t.Fatalf("ParseCursor(%q) = %v, %v; want %v", s, got, err, c)
		}
		if string(c.AppendText(nil)) != s {
			t.Fatalf("AppendText disagrees with String for %v", c)
		}
		// Every shorter prefix is refused: a truncated cursor is not read
		// as another position.
		for i := range len(s) {
			if got, err := ParseCursor(s[:i]); err == nil {
				t.Fatalf("prefix %q of %q read as %v", s[:i], s, got)
			}
		}
	})
}
