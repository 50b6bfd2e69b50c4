package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestPublishRefusesBadInput(t *testing.T) {
	cfg := Config{MaxBody: 4096}
	_, srv := testGateway(t, cfg)
	ok := `{"topic":"stocks.AAPL","kind":"state","data":{"p":1}}`
	tests := []struct {
		name, token, body string
		status            int
		code              string
	}{
		{"no token", "", ok, 401, "unauthorized"},
		{"wrong token", "nope", ok, 401, "unauthorized"},
		{"empty body", testToken, "", 400, "bad_request"},
		{"not json", testToken, "hello", 400, "bad_request"},
		{"broken json", testToken, `{"topic":"a"`, 400, "bad_request"},
		{"bad topic", testToken, `{"topic":"a..b","kind":"state","data":1}`, 400, "bad_topic"},
		{"wildcard topic", testToken, `{"topic":"stocks.*","kind":"state","data":1}`, 400, "bad_topic"},
		{"no kind", testToken, `{"topic":"a","data":1}`, 400, "bad_kind"},
		{"bad kind", testToken, `{"topic":"a","kind":"quote","data":1}`, 400, "bad_kind"},
		{"no data", testToken, `{"topic":"a","kind":"state"}`, 400, "bad_request"},
		{"null data", testToken, `{"topic":"a","kind":"state","data":null}`, 400, "bad_request"},
		{"bad item in array", testToken, `[` + ok + `,{"topic":"","kind":"state","data":1}]`, 400, "bad_topic"},
		{"bad line in ndjson", testToken, ok + "\n{nope}\n", 400, "bad_request"},
		{"huge body", testToken, `{"topic":"a","kind":"state","data":"` + strings.Repeat("x", 5000) + `"}`, 413, "too_large"},
		{"scalar body", testToken, `42`, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := publish(t, srv.URL, tt.token, "application/json", tt.body)
			if status != tt.status || !strings.Contains(body, `"code":"`+tt.code+`"`) {
				t.Fatalf("got %d %s, want %d %s", status, body, tt.status, tt.code)
			}
		})
	}
	// Nothing of a refused body was published: only the good one that
	// came with the bad array item is absent too.
	var snap struct{ Items []msg }
	getJSON(t, srv.URL+"/v1/snapshot?topics=>", &snap)
	if len(snap.Items) != 0 {
		t.Fatalf("refused bodies published %+v", snap.Items)
	}
	// And the service goes on; the scheme's case does not matter.
	req := mustRequest(t, http.MethodPost, srv.URL+"/v1/publish")
	req.Body = io.NopCloser(strings.NewReader(ok))
	req.Header.Set("Authorization", "bearer "+testToken)
	if status, body := do(t, req); status != 200 || !strings.Contains(body, `"published":1`) {
		t.Fatalf("good publish after bad ones: %d %s", status, body)
	}
}

// A body without a length (chunked) that grows past the limit is a 413 as
// well, found while it is read.
func TestPublishHugeChunkedBody(t *testing.T) {
	_, srv := testGateway(t, Config{})
	line := `{"topic":"a","kind":"event","data":"` + strings.Repeat("x", 1000) + `"}` + "\n"
	body := io.MultiReader(strings.NewReader(strings.Repeat(line, 2000))) // hides the length
	req := mustRequest(t, http.MethodPost, srv.URL+"/v1/publish")
	req.Body = io.NopCloser(body)
	req.Header.Set("Authorization", "Bearer "+testToken)
	status, resp := do(t, req)
	if status != http.StatusRequestEntityTooLarge || !strings.Contains(resp, `"code":"too_large"`) {
		t.Fatalf("got %d %s, want 413 too_large", status, resp)
	}
}

func TestPublishTooManyUpdates(t *testing.T) {
	_, srv := testGateway(t, Config{})
	var b strings.Builder
	for i := range 1001 {
		fmt.Fprintf(&b, `{"topic":"t.x%d","kind":"state","data":1}`+"\n", i)
	}
	status, body := publish(t, srv.URL, testToken, "application/x-ndjson", b.String())
	if status != 413 || !strings.Contains(body, "too_large") {
		t.Fatalf("got %d %s", status, body)
	}
}

func TestRESTRefusesBadInput(t *testing.T) {
	_, srv := testGateway(t, Config{})
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/snapshot", 400, "bad_request"},
		{"GET", "/v1/snapshot?topics=a..b", 400, "bad_topic"},
		{"GET", "/v1/snapshot?topics=" + strings.Repeat("a", 300), 400, "bad_topic"},
		{"GET", "/v1/topics?prefix=" + strings.Repeat("a", 300), 400, "bad_topic"},
		{"GET", "/v1/nope", 404, "not_found"},
		{"DELETE", "/v1/snapshot?topics=a", 405, "method_not_allowed"},
		{"GET", "/v1/publish", 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(b), `"code":"`+tt.code+`"`) {
			t.Errorf("%s %s: %d %s, want %d %s", tt.method, tt.path, resp.StatusCode, b, tt.status, tt.code)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tt.method, tt.path, ct)
		}
	}
}

func TestWebSocketBadInputKeepsConnection(t *testing.T) {
	cfg := Config{}
	cfg.Hub.MaxTopics = 3
	_, srv := testGateway(t, cfg)

	// Bad query parameters: hello, an error, and the connection stays.
	for q, code := range map[string]string{
		"?cursor=garbage": "bad_cursor",
		"?topics=a..b":    "bad_topic",
		"?topics=a,b,c,d": "too_many_topics",
	} {
		ws := dialWS(t, srv.URL, q)
		ws.expect("hello")
		if e := ws.expect("error"); e.Code != code {
			t.Fatalf("%s: error %+v, want %s", q, e, code)
		}
		ws.send(`{"type":"subscribe","id":1,"topics":["x"]}`)
		ws.expect("ack")
		ws.expect("snapshot")
	}

	ws := dialWS(t, srv.URL, "")
	ws.expect("hello")
	for _, tc := range []struct{ send, code, id string }{
		{`{nope`, "bad_request", ""},
		{`[]`, "bad_request", ""},
		{`{"type":"dance","id":3}`, "unknown_type", "3"},
		{`{"id":4,"topics":["a"]}`, "bad_request", "4"},
		{`{"type":"subscribe","id":5}`, "bad_request", "5"},
		{`{"type":"subscribe","id":6,"topics":["a.>.b"]}`, "bad_topic", "6"},
		{`{"type":"subscribe","id":7,"topics":["a"],"cursor":"???"}`, "bad_cursor", "7"},
		{`{"type":"subscribe","id":8,"topics":["a","b","c","d"]}`, "too_many_topics", "8"},
		{`{"type":"subscribe","id":{"x":1},"topics":["a.>.b"]}`, "bad_topic", ""},
	} {
		ws.send(tc.send)
		e := ws.expect("error")
		if e.Code != tc.code || string(e.ID) != tc.id || e.Message == "" {
			t.Fatalf("%s: got %+v, want code %s id %q", tc.send, e, tc.code, tc.id)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ws.c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if e := ws.expect("error"); e.Code != "bad_request" {
		t.Fatalf("binary frame: %+v", e)
	}
	// Still subscribed and serving after all that.
	ws.send(`{"type":"subscribe","id":9,"topics":["stocks.AAPL"]}`)
	ws.expect("ack")
	snap := ws.expect("snapshot")
	// A cursor is for the first subscription only: replaying behind live
	// updates would move the client's position backwards.
	ws.send(`{"type":"subscribe","id":10,"topics":["b"],"cursor":"` + snap.Cursor + `"}`)
	if e := ws.expect("error"); e.Code != "bad_request" || string(e.ID) != "10" {
		t.Fatalf("cursor on a later subscription: %+v", e)
	}
	mustPublish(t, srv.URL, `{"topic":"stocks.AAPL","kind":"state","data":{"p":2}}`)
	ws.expect("update")
	// The limit counts patterns held once: at the limit, asking again for
	// held ones is fine; one more is not.
	ws.send(`{"type":"subscribe","id":11,"topics":["b","c"]}`)
	ws.expect("ack")
	ws.expect("snapshot")
	ws.send(`{"type":"subscribe","id":12,"topics":["stocks.AAPL","b"]}`)
	if a := ws.expect("ack"); string(a.ID) != "12" {
		t.Fatalf("re-subscribing held patterns: %+v", a)
	}
	ws.send(`{"type":"subscribe","id":13,"topics":["d"]}`)
	if e := ws.expect("error"); e.Code != "too_many_topics" || string(e.ID) != "13" {
		t.Fatalf("over the limit: %+v", e)
	}

	// A frame over the limit closes with 1009, as RFC 6455 says; others
	// are unaffected.
	big := `{"type":"subscribe","topics":["` + strings.Repeat("a", 5000) + `"]}`
	_ = ws.c.Write(ctx, websocket.MessageText, []byte(big))
	_, err := ws.read(5 * time.Second)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusMessageTooBig {
		t.Fatalf("oversized frame: %v, want close 1009", err)
	}
}

func TestWebSocketNeedsUpgrade(t *testing.T) {
	_, srv := testGateway(t, Config{})
	resp, err := http.Get(srv.URL + "/v1/ws?topics=a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 4 {
		t.Fatalf("plain GET on /v1/ws: %d, want a 4xx", resp.StatusCode)
	}
}

// A client that stops answering pings is dropped after the heartbeat.
func TestWebSocketIdleTimeout(t *testing.T) {
	cfg := Config{}
	cfg.WebSocket.Heartbeat = 100 * time.Millisecond
	g, srv := testGateway(t, cfg)
	// This client never reads, so it never answers a ping.
	_ = dialWS(t, srv.URL, "?topics=a")
	awaitSessions := func(want int) {
		deadline := time.After(10 * time.Second)
		for g.Hub().SessionCount() != want {
			select {
			case <-deadline:
				t.Fatalf("%d sessions, want %d", g.Hub().SessionCount(), want)
			case <-time.After(5 * time.Millisecond): // the server decides; nothing to await
			}
		}
	}
	awaitSessions(1)
	awaitSessions(0)
	// hello rounds the interval up to whole seconds: not 0, "none".
	c := dialWS(t, srv.URL, "")
	if h := c.expect("hello"); h.Heartbeat != 1 {
		t.Fatalf("hello.heartbeat %d for 100ms, want 1", h.Heartbeat)
	}
	awaitSessions(0) // and it too stops answering
}

// A command near the frame limit, several times the connection's read
// buffer, is read whole.
func TestWebSocketLargeCommand(t *testing.T) {
	_, srv := testGateway(t, Config{})
	ws := dialWS(t, srv.URL, "")
	ws.expect("hello")
	var topics []string
	for i := range 90 {
		topics = append(topics, fmt.Sprintf(`"large.command.topic.name.%03d"`, i))
	}
	cmd := `{"type":"subscribe","id":1,"topics":[` + strings.Join(topics, ",") + `]}`
	if len(cmd) < 2500 || len(cmd) > 4096 {
		t.Fatalf("command of %d bytes", len(cmd))
	}
	ws.send(cmd)
	if a := ws.expect("ack"); string(a.ID) != "1" {
		t.Fatalf("ack %+v", a)
	}
	ws.expect("snapshot")
}
