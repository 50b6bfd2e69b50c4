package feed

import (
	"encoding/json"
	"testing"
)

func TestAppendCents(t *testing.T) {
	for c, want := range map[int64]string{
		0: "0.00", 1: "0.01", 5: "0.05", 10: "0.10", 99: "0.99", 100: "1.00",
		18932: "189.32", -41: "-0.41", -100: "-1.00", -18932: "-189.32",
	} {
		if got := string(appendCents(nil, c)); got != want {
			t.Errorf("appendCents(%d) = %q, want %q", c, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "Apple Inc.", `a"b\c`, "tab\there\n", "\x00\x1f\x7f", "Nestlé", "\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendString(%q) = %s: %v", s, b, err)
		}
		// encoding/json replaces invalid UTF-8 the same way.
		want, _ := json.Marshal(s)
		var w string
		_ = json.Unmarshal(want, &w)
		if got != w {
			t.Fatalf("appendString(%q) decodes to %q, want %q", s, got, w)
		}
	})
}
