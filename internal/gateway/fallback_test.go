package gateway

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSSEHeadersAndLastEventID(t *testing.T) {
	_, srv := testGateway(t, Config{})
	cursors := publishEvents(t, srv.URL, "ev.a", 0, 9)
	// Last-Event-ID (after event 5) wins over the cursor parameter (after 2).
	s := dialSSE(t, srv.URL, "?topics=ev.a&cursor="+cursors[2], cursors[5])
	defer s.close()
	h := s.resp.Header
	if h.Get("Content-Type") != "text/event-stream; charset=utf-8" ||
		h.Get("Cache-Control") != "no-cache, no-transform" || h.Get("X-Accel-Buffering") != "no" {
		t.Fatalf("headers %v", h)
	}
	m, err := s.next(5 * time.Second)
	if err != nil || m.Type != "update" || string(m.Data) != `{"n":6}` {
		t.Fatalf("first event %+v %v, want event 6", m, err)
	}
}

func TestSSEOverHTTP2(t *testing.T) {
	// The stream idles past the write timeout (a heartbeat comes first):
	// on HTTP/2 a write deadline left set would reset it.
	cfg := Config{}
	cfg.SSE.WriteTimeout = 100 * time.Millisecond
	cfg.SSE.Heartbeat = 400 * time.Millisecond
	g, plain := testGateway(t, cfg)
	srv := httptest.NewUnstartedServer(g.Handler())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	publishEvents(t, plain.URL, "ev.a", 0, 0)

	req, _ := http.NewRequest("GET", srv.URL+"/v1/sse?topics=ev.a", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
	}
	br := bufio.NewReader(resp.Body)
	want := []string{"event: hello", "event: snapshot", "event: ping", "event: update"}
	for len(want) > 0 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (still want %v)", err, want)
		}
		if strings.TrimSpace(line) == want[0] {
			if want = want[1:]; len(want) == 1 {
				// Live after the snapshot: publish only now.
				defer publishBackground(t, plain.URL, "ev.a", 1, 1)()
			}
		}
	}
	// The client goes: its session ends with it.
	resp.Body.Close()
	deadline := time.After(10 * time.Second)
	for g.Hub().SessionCount() != 0 {
		select {
		case <-deadline:
			t.Fatalf("%d sessions after the client went", g.Hub().SessionCount())
		case <-time.After(5 * time.Millisecond): // the server notices; nothing to await here
		}
	}
}

func TestPollBatchesAndWaits(t *testing.T) {
	cfg := Config{}
	cfg.Poll.MaxMessages = 50
	_, srv := testGateway(t, cfg)
	cursors := publishEvents(t, srv.URL, "ev.a", 0, 119)

	// No cursor: the snapshot at once.
	r, err := longPoll(srv.URL, "ev.a", "", 20)
	if err != nil || len(r.Messages) != 1 || r.Messages[0].Type != "snapshot" || r.Cursor != r.Messages[0].Cursor {
		t.Fatalf("poll without cursor: %+v %v", r, err)
	}
	// A backlog comes in pages of at most the cap, each continuing the last.
	l := newLedger(t)
	l.cursor = cursors[9]
	pages := 0
	for lastEvent(l, "ev.a") < 119 {
		r, err := longPoll(srv.URL, "ev.a", l.cursor, 20)
		if err != nil || len(r.Messages) == 0 || len(r.Messages) > 50 {
			t.Fatalf("page %d: %d messages, %v", pages, len(r.Messages), err)
		}
		for _, m := range r.Messages {
			l.take(m)
		}
		if r.Cursor != l.cursor {
			t.Fatalf("response cursor %s is not the last message's %s", r.Cursor, l.cursor)
		}
		pages++
	}
	if pages != 3 || l.events["ev.a"][0] != 10 {
		t.Fatalf("%d pages from event %d", pages, l.events["ev.a"][0])
	}

	// Nothing new: the poll waits, and wakes for the next event.
	got := make(chan pollResponse, 1)
	go func() {
		r, err := longPoll(srv.URL, "ev.a", l.cursor, 30)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	publishEvents(t, srv.URL, "ev.a", 120, 120)
	select {
	case r := <-got:
		if len(r.Messages) != 1 || string(r.Messages[0].Data) != `{"n":120}` {
			t.Fatalf("woken poll: %+v", r)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("poll did not wake for a new event")
	}

	// timeout=0 answers at once with nothing, keeping a usable cursor.
	r, err = longPoll(srv.URL, "ev.a", cursors[119], 0)
	if err != nil || len(r.Messages) != 1 {
		t.Fatalf("short poll: %+v %v", r, err)
	}
	r, err = longPoll(srv.URL, "nothing.here", r.Cursor, 0)
	if err != nil || len(r.Messages) != 0 || r.Cursor == "" {
		t.Fatalf("empty short poll: %+v %v", r, err)
	}
	resp, _ := http.Get(srv.URL + "/v1/poll?topics=ev.a&timeout=0&cursor=" + r.Cursor)
	resp.Body.Close()
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("poll Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
}

// Shutdown: polls return at once, SSE streams end with a shutdown error
// and a short retry, WebSockets close with 1012 (cmd/tickerd tests that).
func TestShutdownTellsPollAndSSE(t *testing.T) {
	g, srv := testGateway(t, Config{})
	cursors := publishEvents(t, srv.URL, "ev.a", 0, 0)
	s := dialSSE(t, srv.URL, "?topics=ev.a", cursors[0])
	polled := make(chan error, 1)
	go func() {
		_, err := longPoll(srv.URL, "ev.a", cursors[0], 60)
		polled <- err
	}()
	// Both are in: the SSE stream said hello; the poll's session is open.
	for g.Hub().SessionCount() < 2 {
		select {
		case <-time.After(time.Millisecond):
		case <-time.After(10 * time.Second):
			t.Fatal("subscribers did not arrive")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Hub().Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-polled; err != nil {
		t.Fatalf("poll during shutdown: %v", err)
	}
	m, err := s.next(5 * time.Second)
	if err != nil || m.Type != "error" || m.Code != "shutdown" {
		t.Fatalf("SSE end: %+v %v", m, err)
	}
	// A poll that arrives now, with no cursor, has no snapshot to get
	// here: a 503 that says why, so the client goes elsewhere.
	status, body := do(t, mustRequest(t, "GET", srv.URL+"/v1/poll?topics=ev.a"))
	if status != http.StatusServiceUnavailable || !strings.Contains(body, `"code":"shutdown"`) {
		t.Fatalf("poll without cursor after shutdown: %d %s", status, body)
	}
}

func TestCORS(t *testing.T) {
	_, open := testGateway(t, Config{})
	req := mustRequest(t, "OPTIONS", open.URL+"/v1/sse?topics=a")
	req.Header.Set("Origin", "https://news.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	req.Header.Set("Access-Control-Request-Headers", "last-event-id")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 || resp.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	_, closed := testGateway(t, Config{AllowedOrigins: []string{"https://*.example.com"}})
	for origin, allowed := range map[string]bool{
		"https://www.example.com": true,
		"https://evil.test":       false,
		"http://www.example.com":  false, // the scheme counts too
	} {
		req := mustRequest(t, "GET", closed.URL+"/v1/snapshot?topics=a")
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin") == origin; got != allowed {
			t.Errorf("snapshot from %s: allowed %v, want %v", origin, got, allowed)
		}
		// The event stream's head carries it too.
		req = mustRequest(t, "GET", closed.URL+"/v1/sse?topics=a")
		req.Header.Set("Origin", origin)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin") == origin; got != allowed || resp.StatusCode != 200 {
			t.Errorf("SSE from %s: %d, allowed %v, want %v", origin, resp.StatusCode, got, allowed)
		}
		hdr := http.Header{"Origin": {origin}}
		c, wsResp, err := dialHeader(closed.URL, "?topics=a", hdr)
		if c != nil {
			c.CloseNow()
		}
		if (err == nil) != allowed {
			t.Errorf("WebSocket from %s: err %v, want allowed %v", origin, err, allowed)
		}
		if !allowed && (wsResp == nil || wsResp.StatusCode != http.StatusForbidden) {
			t.Errorf("WebSocket from %s: %v, want 403", origin, wsResp)
		}
	}
}
