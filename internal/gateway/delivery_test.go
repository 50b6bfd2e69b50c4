package gateway

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	"github.com/tickerd/tickerd/message"
)

func TestPublishToWebSocket(t *testing.T) {
	_, srv := testGateway(t, Config{})
	mustPublish(t, srv.URL, `{"topic":"stocks.AAPL","kind":"state","data":{"price":189.32}}`)

	ws := dialWS(t, srv.URL, "?topics=stocks.*")
	hello := ws.expect("hello")
	if hello.Transport != "ws" || hello.Heartbeat <= 0 {
		t.Fatalf("hello = %+v", hello)
	}
	snap := ws.expect("snapshot")
	if snap.Reset || len(snap.Items) != 1 || snap.Items[0].Topic != "stocks.AAPL" ||
		string(snap.Items[0].Data) != `{"price":189.32}` {
		t.Fatalf("snapshot = %+v", snap)
	}
	last := mustCursor(t, snap.Cursor)

	// Only the matching topic arrives, in order, each with a newer cursor.
	mustPublish(t, srv.URL, `[{"topic":"sports.nba.g1","kind":"state","data":{"home":1}},
		{"topic":"stocks.MSFT","kind":"state","data":{"price":420.5}},
		{"topic":"stocks.AAPL","kind":"event","data":{"trade":1}}]`)
	for _, want := range []struct{ topic, kind string }{{"stocks.MSFT", "state"}, {"stocks.AAPL", "event"}} {
		u := ws.expect("update")
		if u.Topic != want.topic || u.Kind != want.kind || u.Time == "" {
			t.Fatalf("update = %+v, want %v", u, want)
		}
		c := mustCursor(t, u.Cursor)
		if c.Seq <= last.Seq || c.Epoch != last.Epoch {
			t.Fatalf("cursor %v does not follow %v", c, last)
		}
		last = c
	}

	// Subscribing to more topics acks with the id, then snapshots them.
	ws.send(`{"type":"subscribe","id":7,"topics":["sports.>"]}`)
	if ack := ws.expect("ack"); string(ack.ID) != "7" {
		t.Fatalf("ack id = %s", ack.ID)
	}
	snap = ws.expect("snapshot")
	if len(snap.Items) != 1 || snap.Items[0].Topic != "sports.nba.g1" {
		t.Fatalf("snapshot of added topics = %+v", snap)
	}
	mustPublish(t, srv.URL, `{"topic":"sports.nba.g1.events","kind":"event","data":{"type":"score"}}`)
	if u := ws.expect("update"); u.Topic != "sports.nba.g1.events" {
		t.Fatalf("update = %+v", u)
	}

	// After unsubscribing, that topic no longer arrives; the rest still do.
	ws.send(`{"type":"unsubscribe","id":"u1","topics":["sports.>"]}`)
	if ack := ws.expect("ack"); string(ack.ID) != `"u1"` {
		t.Fatalf("ack id = %s", ack.ID)
	}
	mustPublish(t, srv.URL, `{"topic":"sports.nba.g1","kind":"state","data":{"home":3}}
{"topic":"stocks.TSLA","kind":"state","data":{"price":250}}`)
	if u := ws.expect("update"); u.Topic != "stocks.TSLA" {
		t.Fatalf("got %+v after unsubscribing sports", u)
	}
}

// A topic matched by two of a connection's patterns arrives once.
func TestOverlappingPatternsDeliverOnce(t *testing.T) {
	_, srv := testGateway(t, Config{})
	ws := dialWS(t, srv.URL, "?topics=stocks.AAPL,stocks.*,>")
	ws.expect("hello")
	ws.expect("snapshot")
	for i := range 5 {
		mustPublish(t, srv.URL, fmt.Sprintf(`{"topic":"stocks.AAPL","kind":"event","data":{"n":%d}}`, i))
	}
	mustPublish(t, srv.URL, `{"topic":"zzz","kind":"event","data":{"end":true}}`)
	for i := range 5 {
		u := ws.expect("update")
		if string(u.Data) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("update %d = %s", i, u.Data)
		}
	}
	if u := ws.expect("update"); u.Topic != "zzz" {
		t.Fatalf("got %+v, want the end marker", u)
	}
}

func TestWebSocketResume(t *testing.T) {
	for _, tc := range []struct {
		name string
		ring int // small rings send the resume to JetStream
	}{{"from memory", 0}, {"from stream", 4}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{}
			cfg.Hub.RingSize = tc.ring
			_, srv := testGateway(t, cfg)
			ws := dialWS(t, srv.URL, "?topics=sports.>")
			ws.expect("hello")
			ws.expect("snapshot")
			var cursors []string
			for i := range 20 {
				mustPublish(t, srv.URL, fmt.Sprintf(`[{"topic":"sports.nba.g1.events","kind":"event","data":{"n":%d}},
					{"topic":"stocks.AAPL","kind":"state","data":{"p":%d}}]`, i, i))
				cursors = append(cursors, ws.expect("update").Cursor)
			}
			// Resume after event 4 on a new connection: events 5..19, in
			// order, no snapshot, no duplicate.
			ws2 := dialWS(t, srv.URL, "?topics=sports.>&cursor="+url.QueryEscape(cursors[4]))
			ws2.expect("hello")
			for i := 5; i < 20; i++ {
				u := ws2.expect("update")
				if string(u.Data) != fmt.Sprintf(`{"n":%d}`, i) || u.Cursor != cursors[i] {
					t.Fatalf("resumed update = %+v, want n=%d", u, i)
				}
			}
			mustPublish(t, srv.URL, `{"topic":"sports.nba.g1.events","kind":"event","data":{"n":20}}`)
			if u := ws2.expect("update"); string(u.Data) != `{"n":20}` {
				t.Fatalf("live after resume = %+v", u)
			}
			// The same resume by command on a connection opened with no
			// topics: how a client probes WebSocket before switching to it.
			ws3 := dialWS(t, srv.URL, "")
			ws3.expect("hello")
			ws3.send(`{"type":"subscribe","id":1,"topics":["sports.>"],"cursor":"` + cursors[14] + `"}`)
			ws3.expect("ack")
			for i := 15; i <= 20; i++ {
				if u := ws3.expect("update"); string(u.Data) != fmt.Sprintf(`{"n":%d}`, i) {
					t.Fatalf("resume by command: %+v, want n=%d", u, i)
				}
			}
		})
	}
}

func TestResumeFromOtherStreamResets(t *testing.T) {
	_, srv := testGateway(t, Config{})
	mustPublish(t, srv.URL, `{"topic":"stocks.AAPL","kind":"state","data":{"p":1}}`)
	foreign := message.Cursor{Epoch: 12345, Seq: 1}.String()
	ws := dialWS(t, srv.URL, "?topics=stocks.AAPL&cursor="+foreign)
	ws.expect("hello")
	snap := ws.expect("snapshot")
	if !snap.Reset || len(snap.Items) != 1 {
		t.Fatalf("snapshot = %+v, want a reset with the latest value", snap)
	}
	// A cursor from the future of this stream resets too.
	future := mustCursor(t, snap.Cursor)
	future.Seq += 1000
	ws2 := dialWS(t, srv.URL, "?topics=stocks.AAPL&cursor="+future.String())
	ws2.expect("hello")
	if snap := ws2.expect("snapshot"); !snap.Reset {
		t.Fatalf("future cursor: %+v", snap)
	}
}

func mustCursor(t *testing.T, s string) message.Cursor {
	t.Helper()
	c, err := message.ParseCursor(s)
	if err != nil {
		t.Fatalf("cursor %q: %v", s, err)
	}
	return c
}

func decodeData(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
