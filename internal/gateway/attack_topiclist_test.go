package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tickerd/tickerd/transport/wire"
)

// attackTopics is a topics list of n distinct three-byte patterns, n*4
// bytes: the attack is 240k of them in a 950 KB URL, which cost
// 66 s of CPU when de-duplication was quadratic and ran before the limit.
func attackTopics(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	b := make([]byte, 0, len("topics=")+4*n)
	b = append(b, "topics="...)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, alphabet[i>>12&63], alphabet[i>>6&63], alphabet[i&63])
	}
	return string(b)
}

// cpuTime is the process's user and system CPU so far: the gateway's,
// plus the small part the in-process client costs.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// refusal checks that an error code and status is a client error of the
// table: the list is refused at the limit (too_many_topics), or, in front
// of the parser, for its length (uri_too_long).
func refusal(t *testing.T, what string, status int, code string) {
	t.Helper()
	var row *wire.Error
	for _, e := range wire.Table {
		if e.Code == code && e.Status == status {
			row = e
		}
	}
	if row == nil || status/100 != 4 || code != "too_many_topics" && code != "uri_too_long" {
		t.Errorf("%s: refused with %d %q, want a 4xx of the table (too_many_topics or uri_too_long)", what, status, code)
	}
}

// TestAttackHugeTopicList sends the 240k-pattern list once to
// each endpoint that takes topics: the four requests together must cost
// at most 1 s of CPU, and each is refused with a client error.
func TestAttackHugeTopicList(t *testing.T) {
	_, srv := testGateway(t, Config{})
	q := attackTopics(240_000)
	if len(q) < 950_000 {
		t.Fatalf("query of %d bytes", len(q))
	}
	client := &http.Client{Timeout: 30 * time.Second}

	before := cpuTime(t)
	start := time.Now()
	for _, path := range []string{"/v1/snapshot", "/v1/poll", "/v1/sse"} {
		resp, err := client.Get(srv.URL + path + "?" + q)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		var body apiError
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET %s: %d, body: %v", path, resp.StatusCode, err)
		}
		refusal(t, path, resp.StatusCode, body.Error.Code)
	}
	// A WebSocket is upgraded and told in an error after the hello (a
	// browser cannot read an HTTP error), unless it is refused before.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/ws?" + q
	c, resp, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial /v1/ws: %v", err)
		}
		var body apiError
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&body)
		refusal(t, "/v1/ws", resp.StatusCode, body.Error.Code)
	} else {
		ws := &wsClient{t: t, c: c}
		ws.expect("hello")
		e := ws.expect("error")
		refusal(t, "/v1/ws", http.StatusBadRequest, e.Code)
		c.CloseNow()
	}
	cpu, wall := cpuTime(t)-before, time.Since(start)
	t.Logf("4 requests of %d bytes: %v of CPU in %v", len(q), cpu, wall)
	if cpu > time.Second {
		t.Errorf("4 requests with 240k patterns cost %v of CPU, want at most 1s", cpu)
	}

	// The gateway goes on serving.
	var snap struct{ Cursor string }
	if code := getJSON(t, srv.URL+"/v1/snapshot?topics=>", &snap); code != 200 || snap.Cursor == "" {
		t.Fatalf("snapshot after the attack: %d %+v", code, snap)
	}
}
