package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
)

// update returns the frame of a state update of topic at seq, epoch 9.
func update(topic string, seq uint64, data string) *Frame {
	u := message.Update{Topic: topic, Kind: message.State, Seq: seq, Data: json.RawMessage(data),
		Time: time.Date(2026, 11, 25, 8, 18, 2, 629e6, time.UTC)}
	return UpdateFrame(&u, 9)
}

// decode unmarshals b into a map, failing the test when it is not one JSON
// object.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %s: %v", b, err)
	}
	return m
}

func TestSnapshotFrame(t *testing.T) {
	c := message.Cursor{Epoch: 9, Seq: 42}
	items := []*Frame{update("stocks.AAPL", 40, `{"price":189.35}`), update("stocks.MSFT", 41, `{"price":402.1}`)}
	for _, reset := range []bool{false, true} {
		f := SnapshotFrame(c, reset, items)
		var got struct {
			Type   string `json:"type"`
			Cursor string `json:"cursor"`
			Reset  *bool  `json:"reset"`
			Items  []struct {
				Type, Topic, Cursor string
				Data                map[string]float64
			} `json:"items"`
		}
		if err := json.Unmarshal(f.JSON, &got); err != nil {
			t.Fatalf("%s: %v", f.JSON, err)
		}
		if got.Type != "snapshot" || f.Type != TypeSnapshot || got.Reset == nil || *got.Reset != reset {
			t.Errorf("snapshot reset=%v: %s", reset, f.JSON)
		}
		if got.Cursor != c.String() || string(f.Cursor) != got.Cursor || f.Seq != 42 {
			t.Errorf("cursor: JSON %q, Frame.Cursor %q, Seq %d; want %q", got.Cursor, f.Cursor, f.Seq, c)
		}
		if len(got.Items) != 2 || got.Items[0].Topic != "stocks.AAPL" || got.Items[1].Data["price"] != 402.1 ||
			got.Items[0].Type != "update" || got.Items[0].Cursor != string(items[0].Cursor) {
			t.Errorf("items: %+v", got.Items)
		}
	}
	// No items is an empty list, never null.
	if m := decode(t, SnapshotFrame(c, false, nil).JSON); fmt.Sprint(m["items"]) != "[]" || m["items"] == nil {
		t.Errorf("empty snapshot items = %#v", m["items"])
	}
}

func TestHelloFrame(t *testing.T) {
	tests := []struct {
		hello Hello
		want  string
	}{
		{Hello{Transport: "ws", Heartbeat: 25, Limits: HelloLimits{MaxTopics: 100, Queue: 256, MaxFrame: 4096}},
			`{"type":"hello","transport":"ws","heartbeat":25,"limits":{"max_topics":100,"queue":256,"max_frame":4096}}`},
		// SSE has no max_frame; a Type set by the caller is overwritten.
		{Hello{Type: "bogus", Transport: "sse", Heartbeat: 1, Limits: HelloLimits{MaxTopics: 5, Queue: 8}},
			`{"type":"hello","transport":"sse","heartbeat":1,"limits":{"max_topics":5,"queue":8}}`},
	}
	for _, tt := range tests {
		f := HelloFrame(tt.hello)
		if string(f.JSON) != tt.want || f.Type != TypeHello || f.Cursor != nil {
			t.Errorf("HelloFrame(%+v) = %s (type %q, cursor %q), want %s", tt.hello, f.JSON, f.Type, f.Cursor, tt.want)
		}
	}
}

func TestHeartbeatSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 0, time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2, 25 * time.Second: 25} {
		if got := HeartbeatSeconds(d); got != want {
			t.Errorf("HeartbeatSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestAckFrame(t *testing.T) {
	tests := []struct {
		id   ID
		want string
	}{
		{ID(`1`), `{"type":"ack","id":1}`},
		{ID(`"x-1"`), `{"type":"ack","id":"x-1"}`},
		{nil, `{"type":"ack"}`},
	}
	for _, tt := range tests {
		f := AckFrame(tt.id)
		if string(f.JSON) != tt.want || f.Type != TypeAck {
			t.Errorf("AckFrame(%s) = %s, want %s", tt.id, f.JSON, tt.want)
		}
	}
}

func TestErrorFrame(t *testing.T) {
	tests := []struct {
		name   string
		id     ID
		err    error
		wantID any // nil: absent
		code   string
	}{
		{"numeric id", ID(`7`), ErrBadTopic, 7.0, "bad_topic"},
		{"string id", ID(`"x"`), ErrBadCursor, "x", "bad_cursor"},
		{"no id", nil, ErrBadRequest, nil, "bad_request"},
		{"wrapped", ID(`1`), fmt.Errorf("%w: at most 3 per connection", ErrTooManyTopics), 1.0, "too_many_topics"},
		{"with", nil, ErrUnknownType.With(`unknown command type "x"`), nil, "unknown_type"},
		{"message package", nil, message.ValidatePattern("a b"), nil, "bad_topic"},
		{"message.ErrBadTopic", nil, message.ErrBadTopic, nil, "bad_topic"},
		{"unknown", nil, fmt.Errorf("stream read: %w", errTest), nil, "unavailable"},
		{"quotes and newline", nil, ErrBadRequest.With("a \"quoted\"\nline"), nil, "bad_request"},
	}
	for _, tt := range tests {
		f := ErrorFrame(tt.id, tt.err)
		if f.Type != TypeError || f.Cursor != nil || bytes.ContainsRune(f.JSON, '\n') {
			t.Errorf("%s: frame %q type %q cursor %q", tt.name, f.JSON, f.Type, f.Cursor)
		}
		m := decode(t, f.JSON)
		id, hasID := m["id"]
		if m["type"] != "error" || m["code"] != tt.code || m["message"] != tt.err.Error() ||
			hasID != (tt.wantID != nil) || id != tt.wantID || len(m) != 3+btoi(hasID) {
			t.Errorf("%s: ErrorFrame = %s, want code %s, message %q, id %v", tt.name, f.JSON, tt.code, tt.err, tt.wantID)
		}
	}
}

var errTest = errors.New("test failure")

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestItemAppendJSON(t *testing.T) {
	f := update("s.a", 3, `{"n":39}`)
	if got := (Item{Frame: f}).AppendJSON([]byte("prefix:")); string(got) != "prefix:"+string(f.JSON) {
		t.Errorf("unmerged item = %s", got)
	}
	got := Item{Frame: f, Merged: 7}.AppendJSON(nil)
	want := strings.TrimSuffix(string(f.JSON), "}") + `,"merged":7}`
	if string(got) != want {
		t.Errorf("merged item = %s, want %s", got, want)
	}
	if m := decode(t, got); m["merged"] != 7.0 || m["cursor"] != string(f.Cursor) || m["topic"] != "s.a" {
		t.Errorf("merged item decodes to %v", m)
	}
	// The frame is shared by every session: merging must not change it.
	if bytes.Contains(f.JSON, []byte("merged")) {
		t.Errorf("AppendJSON changed the shared frame: %s", f.JSON)
	}
}

func TestAppendLines(t *testing.T) {
	items := []Item{
		{Frame: HelloFrame(Hello{Transport: "ws", Heartbeat: 25})},
		{Frame: update("a.b", 1, `{"text":"two\nlines"}`)},
		{Frame: update("a.c", 2, `[1,2]`), Merged: 2},
		{Frame: ErrorFrame(ID(`"q"`), ErrBadTopic.With("line one\nline two"))},
	}
	out := AppendLines(nil, items)
	lines := strings.Split(string(out), "\n")
	if len(lines) != len(items) {
		t.Fatalf("%d lines for %d items:\n%s", len(lines), len(items), out)
	}
	for i, l := range lines {
		if want := string(items[i].AppendJSON(nil)); l != want {
			t.Errorf("line %d = %s, want %s", i, l, want)
		}
		decode(t, []byte(l))
	}
	if bytes.HasSuffix(out, []byte("\n")) {
		t.Error("AppendLines ends with a newline")
	}
	if got := AppendLines([]byte("x"), nil); string(got) != "x" {
		t.Errorf("AppendLines of nothing = %q", got)
	}
	if got := AppendLines(nil, items[:1]); string(got) != string(items[0].JSON) {
		t.Errorf("one item = %q", got)
	}
}

func TestPingFrame(t *testing.T) {
	// One line on WebSocket, an event scripts can listen for on SSE.
	if got := string(AppendLines(nil, []Item{{Frame: Ping}})); got != `{"type":"ping"}` {
		t.Fatalf("ws: %q", got)
	}
	if got := string(AppendSSEEvents(nil, []Item{{Frame: Ping}})); got != "event: ping\ndata: {\"type\":\"ping\"}\n\n" {
		t.Fatalf("sse: %q", got)
	}
}
