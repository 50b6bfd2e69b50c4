package wire

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/message"
)

var goodCursor = message.Cursor{Epoch: 3, Seq: 17}

type commandCase struct {
	name     string
	raw      string
	code     string   // the error's code; "" when the command is good
	id       string   // the ID kept, as raw JSON; "" for none
	patterns []string // on success
	from     *message.Cursor
	token    string // an auth command's, on success
	msg      string // a part of the error message, when it matters
}

var commandCases = []commandCase{
	// Commands that are not JSON objects.
	{name: "malformed", raw: `{"type":`, code: "bad_request", msg: "malformed command"},
	{name: "not json", raw: `subscribe stocks.AAPL`, code: "bad_request"},
	{name: "array", raw: `[{"type":"subscribe"}]`, code: "bad_request"},
	{name: "string", raw: `"subscribe"`, code: "bad_request"},
	{name: "empty", raw: ``, code: "bad_request"},
	{name: "null", raw: `null`, code: "bad_request"},
	// A field of the wrong type: still an object, so its id is answered.
	{name: "topics not a list", raw: `{"type":"subscribe","id":7,"topics":"stocks.AAPL"}`, code: "bad_request", id: `7`},
	{name: "type not a string", raw: `{"type":1,"id":"t","topics":["a"]}`, code: "bad_request", id: `"t"`},

	{name: "no type", raw: `{"id":1,"topics":["a"]}`, code: "bad_request", id: `1`, msg: `"type"`},
	{name: "unknown type", raw: `{"type":"login","id":2,"topics":["a"]}`, code: "unknown_type", id: `2`, msg: `"login"`},
	{name: "long unknown type", raw: `{"type":"` + strings.Repeat("x", 200) + `","id":3}`, code: "unknown_type", id: `3`,
		msg: `"` + strings.Repeat("x", 64) + `..."`},
	{name: "type is case-sensitive", raw: `{"type":"Subscribe","topics":["a"]}`, code: "unknown_type"},

	{name: "no topics", raw: `{"type":"subscribe","id":4}`, code: "bad_request", id: `4`, msg: `"topics"`},
	{name: "empty topics", raw: `{"type":"unsubscribe","id":4,"topics":[]}`, code: "bad_request", id: `4`},
	{name: "null topics", raw: `{"type":"subscribe","id":4,"topics":null}`, code: "bad_request", id: `4`},
	{name: "only blank topics", raw: `{"type":"subscribe","id":4,"topics":[""," "]}`, code: "bad_request", id: `4`, msg: `"topics"`},
	{name: "bad topic", raw: `{"type":"subscribe","id":5,"topics":["ok","bad topic"]}`, code: "bad_topic", id: `5`, msg: `"bad topic"`},
	{name: "gt not last", raw: `{"type":"unsubscribe","topics":["a.>.b"]}`, code: "bad_topic"},
	{name: "topic too long", raw: `{"type":"subscribe","topics":["` + strings.Repeat("a", 256) + `"]}`, code: "bad_topic"},

	{name: "subscribe", raw: `{"type":"subscribe","id":1,"topics":["stocks.AAPL","sports.nba.>"]}`, id: `1`,
		patterns: []string{"stocks.AAPL", "sports.nba.>"}},
	{name: "duplicates cleaned", raw: `{"type":"subscribe","topics":[" a.b ","a.b","","*.c","a.b"]}`,
		patterns: []string{"a.b", "*.c"}},
	{name: "unsubscribe", raw: `{"type":"unsubscribe","id":"u","topics":["a"]}`, id: `"u"`, patterns: []string{"a"}},
	{name: "unsubscribe ignores a bad cursor", raw: `{"type":"unsubscribe","topics":["a"],"cursor":"garbage"}`,
		patterns: []string{"a"}},
	{name: "subscribe with cursor", raw: `{"type":"subscribe","id":1,"topics":["a"],"cursor":"` + goodCursor.String() + `"}`,
		id: `1`, patterns: []string{"a"}, from: &goodCursor},
	{name: "subscribe with bad cursor", raw: `{"type":"subscribe","id":1,"topics":["a"],"cursor":"garbage"}`,
		code: "bad_cursor", id: `1`},
	{name: "empty cursor is none", raw: `{"type":"subscribe","topics":["a"],"cursor":""}`, patterns: []string{"a"}},
	{name: "unknown fields ignored", raw: `{"type":"subscribe","topics":["a"],"token":"t","extra":{"x":[1]}}`,
		patterns: []string{"a"}},

	// auth takes a token, and nothing else.
	{name: "auth", raw: `{"type":"auth","id":9,"token":"a.b.c"}`, id: `9`, token: "a.b.c"},
	{name: "auth ignores topics", raw: `{"type":"auth","token":"t","topics":["bad topic"]}`, token: "t"},
	{name: "auth without token", raw: `{"type":"auth","id":9}`, code: "bad_request", id: `9`, msg: `"token"`},
	{name: "auth with empty token", raw: `{"type":"auth","id":9,"token":""}`, code: "bad_request", id: `9`},
	{name: "auth token not a string", raw: `{"type":"auth","id":9,"token":7}`, code: "bad_request", id: `9`},
	{name: "auth token too long", raw: `{"type":"auth","id":9,"token":"` + strings.Repeat("x", MaxToken+1) + `"}`,
		code: "bad_request", id: `9`},

	// Ids: numbers and strings are echoed as sent, anything else dropped.
	{name: "id number", raw: `{"type":"subscribe","id":-1.5e3,"topics":["a"]}`, id: `-1.5e3`, patterns: []string{"a"}},
	{name: "id string", raw: `{"type":"subscribe","id":"a\"b\u00e9","topics":["a"]}`, id: `"a\"b\u00e9"`, patterns: []string{"a"}},
	{name: "id object", raw: `{"type":"subscribe","id":{"x":1},"topics":["a"]}`, patterns: []string{"a"}},
	{name: "id array", raw: `{"type":"subscribe","id":[1],"topics":["a"]}`, patterns: []string{"a"}},
	{name: "id bool", raw: `{"type":"subscribe","id":true,"topics":["a"]}`, patterns: []string{"a"}},
	{name: "id null", raw: `{"type":"subscribe","id":null,"topics":["a"]}`, patterns: []string{"a"}},
	{name: "id object on error", raw: `{"type":"subscribe","id":{"x":1}}`, code: "bad_request"},
}

func TestParseCommand(t *testing.T) {
	for _, tt := range commandCases {
		t.Run(tt.name, func(t *testing.T) {
			cmd, err := ParseCommand([]byte(tt.raw))
			if string(cmd.ID) != tt.id {
				t.Errorf("ID = %q, want %q", cmd.ID, tt.id)
			}
			if tt.code != "" {
				if err == nil {
					t.Fatalf("no error; got %+v", cmd)
				}
				if got := Lookup(err).Code; got != tt.code {
					t.Errorf("error %q has code %s, want %s", err, got, tt.code)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("error %q does not mention %s", err, tt.msg)
				}
				// The answer a session sends is one valid line naming the id.
				m := decode(t, ErrorFrame(cmd.ID, err).JSON)
				if _, has := m["id"]; has != (tt.id != "") {
					t.Errorf("error frame id present = %v, want %v", has, tt.id != "")
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v (%s)", err, Lookup(err).Code)
			}
			if cmd.Token != tt.token {
				t.Errorf("Token = %q, want %q", cmd.Token, tt.token)
			}
			if !slices.Equal(cmd.Patterns, tt.patterns) {
				t.Errorf("Patterns = %q, want %q", cmd.Patterns, tt.patterns)
			}
			if (cmd.From == nil) != (tt.from == nil) || cmd.From != nil && *cmd.From != *tt.from {
				t.Errorf("From = %v, want %v", cmd.From, tt.from)
			}
			var typ struct{ Type string }
			_ = json.Unmarshal([]byte(tt.raw), &typ)
			if cmd.Type != typ.Type {
				t.Errorf("Type = %q, want %q", cmd.Type, typ.Type)
			}
			if ack := AckFrame(cmd.ID); !json.Valid(ack.JSON) {
				t.Errorf("ack %s is not JSON", ack.JSON)
			}
		})
	}
}

func TestErrCursorNotFirst(t *testing.T) {
	if e := Lookup(ErrCursorNotFirst); e.Code != "bad_request" || e.Status != 400 || !strings.Contains(ErrCursorNotFirst.Error(), "cursor") {
		t.Errorf("ErrCursorNotFirst = %q (%s %d)", ErrCursorNotFirst, e.Code, e.Status)
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, tt := range commandCases {
		f.Add([]byte(tt.raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		cmd, err := ParseCommand(raw)
		if len(cmd.ID) > 0 {
			var v any
			if json.Unmarshal(cmd.ID, &v) != nil {
				t.Fatalf("ID %q is not JSON", cmd.ID)
			}
			switch v.(type) {
			case float64, string:
			default:
				t.Fatalf("ID %q is neither a number nor a string", cmd.ID)
			}
		}
		if err != nil {
			if Lookup(err).Code == "" {
				t.Fatalf("error %v has no code", err)
			}
			if Lookup(err).Status != 400 {
				t.Fatalf("error %v is %d, not a client error", err, Lookup(err).Status)
			}
			f := ErrorFrame(cmd.ID, err)
			if !json.Valid(f.JSON) || strings.Contains(string(f.JSON), "\n") {
				t.Fatalf("error frame is not one line of JSON: %q", f.JSON)
			}
			return
		}
		if cmd.Type == CommandAuth {
			if cmd.Token == "" || len(cmd.Token) > MaxToken || cmd.Patterns != nil || cmd.From != nil {
				t.Fatalf("accepted auth %+v", cmd)
			}
			return
		}
		if cmd.Type != CommandSubscribe && cmd.Type != CommandUnsubscribe {
			t.Fatalf("accepted type %q", cmd.Type)
		}
		if len(cmd.Patterns) == 0 {
			t.Fatalf("accepted %q with no patterns", raw)
		}
		for i, p := range cmd.Patterns {
			if err := message.ValidatePattern(p); err != nil {
				t.Fatalf("accepted pattern %q: %v", p, err)
			}
			if slices.Contains(cmd.Patterns[:i], p) {
				t.Fatalf("pattern %q twice in %q", p, cmd.Patterns)
			}
		}
		if cmd.From != nil && cmd.Type != CommandSubscribe {
			t.Fatalf("%s with a cursor", cmd.Type)
		}
		if !json.Valid(AckFrame(cmd.ID).JSON) {
			t.Fatalf("ack for id %q is not JSON", cmd.ID)
		}
	})
}
