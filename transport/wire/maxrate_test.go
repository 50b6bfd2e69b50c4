package wire

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
)

// max_rate is read on the URL and in a subscribe alike: a number of
// updates a second, fractions allowed, 0 or absent for none; anything
// else is bad_request.
func TestMaxRateParsed(t *testing.T) {
	for q, want := range map[string]float64{"": 0, "&max_rate=1": 1, "&max_rate=0.5": 0.5, "&max_rate=0": 0, "&max_rate=1000": 1000} {
		req, err := ParseRequest("topics=a"+q, "", 10)
		if err != nil || req.MaxRate != want {
			t.Errorf("%q: %v %v, want %v", q, req.MaxRate, err, want)
		}
	}
	for _, q := range []string{"-1", "x", "1001", "NaN", "Inf", "%zz"} {
		if _, err := ParseRequest("topics=a&max_rate="+q, "", 10); !errors.Is(err, ErrBadRequest) {
			t.Errorf("max_rate=%s: %v, want bad_request", q, err)
		}
	}
	cmd, err := ParseCommand([]byte(`{"type":"subscribe","id":1,"topics":["a"],"max_rate":2.5}`))
	if err != nil || cmd.MaxRate == nil || *cmd.MaxRate != 2.5 {
		t.Fatalf("subscribe with max_rate: %+v %v", cmd, err)
	}
	if cmd, err := ParseCommand([]byte(`{"type":"subscribe","id":1,"topics":["a"]}`)); err != nil || cmd.MaxRate != nil {
		t.Fatalf("subscribe without max_rate: %+v %v", cmd, err)
	}
	if _, err := ParseCommand([]byte(`{"type":"subscribe","id":1,"topics":["a"],"max_rate":-1}`)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("subscribe with max_rate -1: %v", err)
	}
}

// A restamped update is the same message with its cursor moved forward.
func TestRestamp(t *testing.T) {
	u := message.Update{Topic: "a.b", Kind: message.State, Data: []byte(`{"x":1}`), Time: time.Unix(1, 0), Seq: 7}
	f := UpdateFrame(&u, 42)
	g := Restamp(f, 9)
	want := message.Cursor{Epoch: 42, Seq: 9}.AppendText(nil)
	if g.Seq != 9 || string(g.Cursor) != string(want) || !strings.HasSuffix(string(g.JSON), `"cursor":"`+string(want)+`"}`) {
		t.Fatalf("restamped %s (cursor %s), want cursor %s", g.JSON, g.Cursor, want)
	}
	if string(g.JSON[:len(g.JSON)-2-len(g.Cursor)]) != string(f.JSON[:len(f.JSON)-2-len(f.Cursor)]) {
		t.Fatalf("restamp changed more than the cursor: %s vs %s", g.JSON, f.JSON)
	}
	if Restamp(f, 7) != f {
		t.Fatal("a restamp that moves nothing copies")
	}
}
