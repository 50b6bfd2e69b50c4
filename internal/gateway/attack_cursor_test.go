package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAttackMangledCursor: a cursor that cannot be decoded, a bad
// percent-escape included, is refused with bad_cursor on every transport;
// it is never read as "no cursor" (a fresh snapshot) or as another
// position.
func TestAttackMangledCursor(t *testing.T) {
	_, srv := testGateway(t, Config{})
	mustPublish(t, srv.URL, `{"topic":"stocks.AAPL","kind":"state","data":{"p":1}}`)
	var snap struct{ Cursor string }
	if code := getJSON(t, srv.URL+"/v1/snapshot?topics=stocks.AAPL", &snap); code != 200 {
		t.Fatalf("snapshot: %d", code)
	}
	good := snap.Cursor
	flipped := []byte(good)
	flipped[len(flipped)/2] ^= 'A' ^ 'B'
	mangled := []string{
		"%%%",        // the issue's: net/url drops the pair
		"%zz",        // not hex
		good + "%",   // a good cursor with a truncated escape
		"%" + good,   // an escape made of the cursor's first bytes
		good + "%0",  // truncated after one digit
		good + "%00", // a good escape of a byte no cursor holds
		good[:len(good)-1],
		string(flipped), // fails the checksum
		good + ";x=1",   // a semicolon is no separator here
		"AAAA",
	}
	for _, cur := range mangled {
		// SSE and poll: a JSON 400 before anything streams.
		for _, path := range []string{"/v1/sse", "/v1/poll"} {
			req := mustRequest(t, http.MethodGet, srv.URL+path+"?topics=stocks.AAPL&timeout=0&cursor="+cur)
			status, body := do(t, req)
			var e apiError
			if err := json.Unmarshal([]byte(body), &e); err != nil || status != 400 || e.Error.Code != "bad_cursor" {
				t.Errorf("%s cursor=%s: %d %s, want 400 bad_cursor", path, cur, status, body)
			}
			if strings.Contains(body, "snapshot") {
				t.Errorf("%s cursor=%s: answered with a snapshot: %s", path, cur, body)
			}
		}
		// WebSocket: hello, then the error, and the request's patterns are
		// not subscribed: the next message answers the next command.
		ws := dialWS(t, srv.URL, "?topics=stocks.AAPL&cursor="+cur)
		ws.expect("hello")
		if e := ws.expect("error"); e.Code != "bad_cursor" {
			t.Errorf("ws cursor=%s: error %+v, want bad_cursor", cur, e)
		}
		ws.send(`{"type":"unsubscribe","id":"next","topics":["none"]}`)
		if m := ws.next(); m.Type != "ack" || string(m.ID) != `"next"` {
			t.Errorf("ws cursor=%s: after the error came %+v, want the ack of the next command", cur, m)
		}
		ws.c.CloseNow()
	}

	// Last-Event-ID is a header, never unescaped: "%%%" is no cursor.
	req := mustRequest(t, http.MethodGet, srv.URL+"/v1/sse?topics=stocks.AAPL")
	req.Header.Set("Last-Event-ID", "%%%")
	if status, body := do(t, req); status != 400 || !strings.Contains(body, `"code":"bad_cursor"`) {
		t.Errorf("Last-Event-ID %%%%%%: %d %s, want 400 bad_cursor", status, body)
	}

	// Bad escapes elsewhere get their parameter's code.
	for _, tc := range []struct{ path, code string }{
		{"/v1/poll?topics=stocks.AAPL&timeout=%zz", "bad_request"},
		{"/v1/poll?topics=stocks.%41APL,%%&cursor=" + good, "bad_topic"},
		{"/v1/sse?topics=a%2", "bad_topic"},
		{"/v1/snapshot?topics=%G0", "bad_topic"},
		{"/v1/topics?prefix=st%", "bad_topic"},
		{"/v1/poll?topics=stocks.AAPL&cursor%=" + good, "bad_request"},
	} {
		status, body := do(t, mustRequest(t, http.MethodGet, srv.URL+tc.path))
		if status != 400 || !strings.Contains(body, `"code":"`+tc.code+`"`) {
			t.Errorf("%s: %d %s, want 400 %s", tc.path, status, body, tc.code)
		}
	}
	// And a good cursor, escaped or not, still resumes.
	for _, cur := range []string{good, strings.ReplaceAll(good, "A", "%41")} {
		var poll struct {
			Cursor   string
			Messages []msg
		}
		if code := getJSON(t, srv.URL+"/v1/poll?topics=stocks.AAPL&timeout=0&cursor="+cur, &poll); code != 200 || len(poll.Messages) != 0 || poll.Cursor != good {
			t.Errorf("poll cursor=%s: %d %+v, want nothing new at %s", cur, code, poll, good)
		}
	}
}
