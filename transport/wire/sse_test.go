package wire

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestAppendSSERetry(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2 * time.Second:        "retry: 2000\n",
		250 * time.Millisecond: "retry: 250\n",
		0:                      "retry: 0\n",
	} {
		if got := string(AppendSSERetry([]byte("x"), d)); got != "x"+want {
			t.Errorf("AppendSSERetry(%v) = %q, want %q", d, got, "x"+want)
		}
	}
}

func TestAppendSSEEvents(t *testing.T) {
	up := update("stocks.AAPL", 5, `{"price":190}`)
	hello := HelloFrame(Hello{Transport: "sse", Heartbeat: 25})
	got := string(AppendSSEEvents([]byte(": start\n\n"), []Item{{Frame: hello}, {Frame: up, Merged: 2}}))
	want := ": start\n\n" +
		"event: hello\ndata: " + string(hello.JSON) + "\n\n" +
		"event: update\nid: " + string(up.Cursor) + "\ndata: " + string(Item{Frame: up, Merged: 2}.AppendJSON(nil)) + "\n\n"
	if got != want {
		t.Errorf("AppendSSEEvents =\n%q\nwant\n%q", got, want)
	}
	if AppendSSEEvents(nil, nil) != nil {
		t.Error("no items appended something")
	}
}

// sseEvent is one parsed SSE event.
type sseEvent struct{ event, id, data string }

// parseSSE splits a stream into its retry value ("" when none) and events,
// failing on lines an EventSource would not expect from the server.
func parseSSE(t *testing.T, s string) (retry string, events []sseEvent) {
	t.Helper()
	if !strings.HasSuffix(s, "\n\n") {
		t.Fatalf("stream does not end with a blank line: %q", s)
	}
	for block := range strings.SplitSeq(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		var ev sseEvent
		for line := range strings.SplitSeq(block, "\n") {
			field, value, ok := strings.Cut(line, ": ")
			if !ok {
				t.Fatalf("line %q has no field", line)
			}
			switch field {
			case "retry":
				retry = value
			case "event":
				ev.event = value
			case "id":
				ev.id = value
			case "data":
				if ev.data != "" {
					t.Fatalf("two data lines in %q", block)
				}
				ev.data = value
			default:
				t.Fatalf("unexpected field %q", field)
			}
		}
		if ev.event != "" {
			events = append(events, ev)
		}
	}
	return retry, events
}

func TestAppendSSEEnd(t *testing.T) {
	const retry = 250 * time.Millisecond
	if got := AppendSSEEnd([]byte("keep"), nil, retry); string(got) != "keep" {
		t.Errorf("AppendSSEEnd(nil) = %q", got)
	}
	tests := []struct {
		reason    error
		code      string
		wantRetry string
	}{
		{ErrShutdown, "shutdown", "250"},
		{fmt.Errorf("%w: draining", ErrShutdown), "shutdown", "250"},
		{ErrSlowConsumer, "slow_consumer", ""},
		{ErrUnavailable.With("stream read failed"), "unavailable", ""},
		{errors.New("jetstream: timeout"), "unavailable", ""},
	}
	for _, tt := range tests {
		out := string(AppendSSEEnd(nil, tt.reason, retry))
		gotRetry, events := parseSSE(t, out)
		if gotRetry != tt.wantRetry {
			t.Errorf("%v: retry %q, want %q in %q", tt.reason, gotRetry, tt.wantRetry, out)
		}
		if tt.wantRetry != "" && !strings.HasPrefix(out, "retry: ") {
			t.Errorf("%v: retry is not first: %q", tt.reason, out)
		}
		if len(events) != 1 || events[0].event != "error" || events[0].id != "" {
			t.Fatalf("%v: events %+v, want one error event without id", tt.reason, events)
		}
		m := decode(t, []byte(events[0].data))
		msg, _ := m["message"].(string)
		if m["type"] != "error" || m["code"] != tt.code || !strings.HasPrefix(msg, tt.reason.Error()) ||
			!strings.Contains(msg, "Last-Event-ID") {
			t.Errorf("%v: error event data %s", tt.reason, events[0].data)
		}
	}
}
