package gateway

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// publishEvents publishes events from..to (inclusive) on topic, numbered
// by n, one request each, and returns the cursor after each.
func publishEvents(t *testing.T, base, topic string, from, to int) []string {
	t.Helper()
	var cursors []string
	for n := from; n <= to; n++ {
		code, body := publish(t, base, testToken, "", fmt.Sprintf(`{"topic":%q,"kind":"event","data":{"n":%d}}`, topic, n))
		if code != 200 {
			t.Errorf("publish: %d %s", code, body)
			return cursors
		}
		var r struct{ Cursor string }
		if err := json.Unmarshal([]byte(body), &r); err != nil || r.Cursor == "" {
			t.Errorf("publish response %s", body)
			return cursors
		}
		cursors = append(cursors, r.Cursor)
	}
	return cursors
}

// publishBackground runs publishEvents on its own goroutine; the test must
// call the returned wait before it ends, so no request outlives the server.
func publishBackground(t *testing.T, base, topic string, from, to int) (wait func()) {
	done := make(chan struct{})
	go func() { defer close(done); publishEvents(t, base, topic, from, to) }()
	return func() { <-done }
}

// readUntil feeds the ledger until done says so.
func readUntil(t *testing.T, s subscription, l *ledger, done func() bool) {
	t.Helper()
	for !done() {
		m, err := s.next(15 * time.Second)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		l.take(m)
	}
}

func lastEvent(l *ledger, topic string) int {
	seen := l.events[topic]
	if len(seen) == 0 {
		return -1
	}
	return seen[len(seen)-1]
}

// Fresh subscribe while events are being published: a snapshot, then every
// later event, nothing lost between the two.
func TestFreshSubscribeSnapshotThenLive(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			_, srv := testGateway(t, Config{})
			publishEvents(t, srv.URL, "ev.a", 0, 9)
			wait := publishBackground(t, srv.URL, "ev.a", 10, 79)
			defer wait()
			s := subscribe(t, tr, srv.URL, "ev.*", "")
			defer s.close()
			l := newLedger(t)
			m, err := s.next(10 * time.Second)
			if err != nil || m.Type != "snapshot" || m.Reset || len(m.Items) != 1 {
				t.Fatalf("first message %+v, %v; want a snapshot", m, err)
			}
			l.take(m)
			readUntil(t, s, l, func() bool { return lastEvent(l, "ev.a") == 79 })
		})
	}
}

// Resume within retention: everything after the cursor, no snapshot, in
// order, then live.
func TestResumeWithinRetention(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			_, srv := testGateway(t, Config{})
			cursors := publishEvents(t, srv.URL, "ev.a", 0, 9)
			publishEvents(t, srv.URL, "ev.a", 10, 19)
			s := subscribe(t, tr, srv.URL, "ev.a", cursors[9])
			defer s.close()
			m, err := s.next(10 * time.Second)
			if err != nil || m.Type != "update" || !strings.Contains(string(m.Data), `"n":10`) {
				t.Fatalf("first message after resume: %+v %v", m, err)
			}
			l := newLedger(t)
			l.take(m)
			defer publishBackground(t, srv.URL, "ev.a", 20, 24)()
			readUntil(t, s, l, func() bool { return lastEvent(l, "ev.a") == 24 })
		})
	}
}

// A cursor older than retention gets a snapshot with reset, then live.
func TestResumePastRetentionResets(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			cfg := Config{}
			cfg.Stream.MaxPerTopic = 5
			cfg.Hub.RingSize = 4
			_, srv := testGateway(t, cfg)
			// ev.b's one message keeps the stream's first sequence low:
			// ev.a loses its old events to its own limit only.
			publishEvents(t, srv.URL, "ev.b", 0, 0)
			cursors := publishEvents(t, srv.URL, "ev.a", 0, 29)
			s := subscribe(t, tr, srv.URL, "ev.a", cursors[1])
			defer s.close()
			m, err := s.next(10 * time.Second)
			if err != nil || m.Type != "snapshot" || !m.Reset || len(m.Items) != 1 ||
				!strings.Contains(string(m.Items[0].Data), `"n":29`) {
				t.Fatalf("got %+v %v; want a reset snapshot holding event 29", m, err)
			}
			l := newLedger(t)
			l.take(m)
			defer publishBackground(t, srv.URL, "ev.a", 30, 32)()
			readUntil(t, s, l, func() bool { return lastEvent(l, "ev.a") == 32 })
		})
	}
}

// A client switches WebSocket -> SSE -> long poll mid-stream with its
// cursor and sees every event exactly once, in order.
func TestSwitchTransportsMidStream(t *testing.T) {
	_, srv := testGateway(t, Config{})
	l := newLedger(t)
	for i, tr := range []string{"ws", "sse", "poll", "ws"} {
		s := subscribe(t, tr, srv.URL, "ev.a", l.cursor)
		if i == 0 {
			// Publishing starts once the first snapshot (empty) is read,
			// so that every event comes as an update.
			m, err := s.next(10 * time.Second)
			if err != nil || m.Type != "snapshot" || len(m.Items) != 0 {
				t.Fatalf("first message %+v, %v; want an empty snapshot", m, err)
			}
			l.take(m)
			defer publishBackground(t, srv.URL, "ev.a", 0, 149)()
		}
		target := 40 * (i + 1)
		if i == 3 {
			target = 149
		}
		readUntil(t, s, l, func() bool { return lastEvent(l, "ev.a") >= target })
		s.close()
	}
	if got := l.events["ev.a"]; got[0] != 0 || len(got) != 150 {
		t.Fatalf("saw %d events starting at %d", len(got), got[0])
	}
}

func TestStreamingEndpointsRefuseBadInput(t *testing.T) {
	_, srv := testGateway(t, Config{})
	var many []string
	for i := range 101 { // the default limit is 100
		many = append(many, fmt.Sprintf("t.%d", i))
	}
	manyTopics := strings.Join(many, ",")
	tests := []struct {
		path, lastEventID string
		status            int
		code              string
	}{
		{"/v1/sse?topics=a&cursor=nope", "", 400, "bad_cursor"},
		{"/v1/sse?topics=a", "nope", 400, "bad_cursor"},
		{"/v1/sse", "", 400, "bad_request"},
		{"/v1/sse?topics=a..b", "", 400, "bad_topic"},
		{"/v1/poll?topics=a&cursor=nope", "", 400, "bad_cursor"},
		{"/v1/poll?topics=a&timeout=soon", "", 400, "bad_request"},
		{"/v1/poll?topics=a&timeout=-1", "", 400, "bad_request"},
		{"/v1/poll", "", 400, "bad_request"},
		{"/v1/poll?topics=>,a.>.b", "", 400, "bad_topic"},
		{"/v1/sse?topics=" + manyTopics, "", 400, "too_many_topics"},
		{"/v1/poll?topics=" + manyTopics, "", 400, "too_many_topics"},
	}
	for _, tt := range tests {
		req := mustRequest(t, "GET", srv.URL+tt.path)
		if tt.lastEventID != "" {
			req.Header.Set("Last-Event-ID", tt.lastEventID)
		}
		status, body := do(t, req)
		var e apiError
		if status != tt.status || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != tt.code {
			t.Errorf("GET %s: %d %s, want %d %s", tt.path, status, body, tt.status, tt.code)
		}
	}
}
