package sse_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/sse"
	"github.com/tickerd/tickerd/transport/wire"
)

// checkHead checks the stream's response headers.
func checkHead(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache, no-transform" {
		t.Errorf("Cache-Control %q", cc)
	}
	if xa := resp.Header.Get("X-Accel-Buffering"); xa != "no" {
		t.Errorf("X-Accel-Buffering %q", xa)
	}
}

// readOpening reads the start every stream has: the retry hint and the
// hello.
func readOpening(t *testing.T, r *reader) msg {
	t.Helper()
	r.expectLine("retry: 2000")
	e, h := r.expect("hello")
	if e.ID != nil {
		t.Errorf("hello has id %q", *e.ID)
	}
	if h.Transport != "sse" {
		t.Errorf("hello transport %q", h.Transport)
	}
	return h
}

// Over HTTP/1.1 the stream is a chunked response on a connection that
// closes with it: the retry hint, hello, a snapshot whose id is its
// cursor, then updates with their cursors as ids.
func TestHTTP11Stream(t *testing.T) {
	f := newFixture(t, transport.Options{QueueSize: 9, MaxTopics: 7}, sse.Options{Heartbeat: 3 * time.Second})
	f.publish("stocks.AAPL", message.State, `{"p":1}`)
	f.publish("stocks.MSFT", message.State, `{"p":2}`)
	f.publish("other.x", message.State, `{"p":3}`)

	resp := f.get("?topics=stocks.*", nil)
	checkHead(t, resp)
	if resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		t.Errorf("response protocol %s", resp.Proto)
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("Transfer-Encoding %v, want chunked", resp.TransferEncoding)
	}
	if !resp.Close {
		t.Error("the response does not close its connection")
	}
	r := newReader(t, resp.Body)
	h := readOpening(t, r)
	if h.Heartbeat != 3 || h.Limits["max_topics"] != 7 || h.Limits["queue"] != 9 {
		t.Errorf("hello %+v", h)
	}
	if _, ok := h.Limits["max_frame"]; ok {
		t.Errorf("SSE hello has max_frame: %v", h.Limits)
	}

	e, s := r.expect("snapshot")
	if e.ID == nil || *e.ID != s.Cursor || s.Cursor == "" {
		t.Fatalf("snapshot id %v, cursor %q", e.ID, s.Cursor)
	}
	if s.Reset || len(s.Items) != 2 || s.Items[0].Topic != "stocks.AAPL" || s.Items[1].Topic != "stocks.MSFT" {
		t.Fatalf("snapshot %+v", s)
	}

	seqs := []uint64{
		f.publish("stocks.AAPL", message.State, `{"p":4}`),
		f.publish("other.x", message.State, `{"p":5}`),
		f.publish("stocks.TSLA", message.Event, `{"p":6}`),
	}
	if u := r.expectUpdate("stocks.AAPL"); u.Cursor != f.cursor(seqs[0]) || string(u.Data) != `{"p":4}` {
		t.Errorf("first update %+v", u)
	}
	if u := r.expectUpdate("stocks.TSLA"); u.Cursor != f.cursor(seqs[2]) || u.Kind != "event" {
		t.Errorf("second update %+v", u)
	}
}

// An HTTP/1.0 request (nginx's default to upstreams) gets a body that is
// not chunked and ends when the connection does.
func TestHTTP10CloseDelimited(t *testing.T) {
	f := newFixture(t, transport.Options{}, sse.Options{})
	f.publish("x", message.State, `{"v":1}`)
	nc, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(nc, "GET /?topics=x HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	status, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.") || !strings.Contains(status, " 200 ") {
		t.Fatalf("status line %q: %v", status, err)
	}
	hdr := map[string]string{}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the head: %v", err)
		}
		if l == "\r\n" {
			break
		}
		k, v, _ := strings.Cut(strings.TrimRight(l, "\r\n"), ":")
		hdr[http.CanonicalHeaderKey(k)] = strings.TrimSpace(v)
	}
	if te, ok := hdr["Transfer-Encoding"]; ok {
		t.Errorf("HTTP/1.0 response has Transfer-Encoding %q", te)
	}
	if cl, ok := hdr["Content-Length"]; ok {
		t.Errorf("HTTP/1.0 response has Content-Length %q", cl)
	}
	if !strings.HasPrefix(hdr["Content-Type"], "text/event-stream") || hdr["Connection"] != "close" {
		t.Errorf("head %v", hdr)
	}

	r := newReader(t, br)
	readOpening(t, r)
	if _, s := r.expect("snapshot"); len(s.Items) != 1 || s.Items[0].Topic != "x" {
		t.Fatalf("snapshot %+v", s)
	}
	f.publish("x", message.State, `{"v":2}`)
	if u := r.expectUpdate("x"); string(u.Data) != `{"v":2}` {
		t.Fatalf("update %+v", u)
	}
	// The end is the connection's: the shutdown event, then EOF with no
	// chunk terminator in between.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = f.hub.Shutdown(ctx)
	}()
	if e, m := r.expect("error"); m.Code != "shutdown" || e.Retry != "250" {
		t.Fatalf("end event %+v %+v", e, m)
	}
	rest, err := io.ReadAll(br)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after the end event: %q, %v; want the connection closed", rest, err)
	}
}

// Over HTTP/2 the stream is an ordinary response stream, with the same
// events, and it ends when the session does.
func TestHTTP2Stream(t *testing.T) {
	f := newHTTP2Fixture(t, transport.Options{}, sse.Options{})
	f.publish("a.b", message.State, `{"v":1}`)
	resp := f.get("?topics=a.>", nil)
	if resp.ProtoMajor != 2 {
		t.Fatalf("response protocol %s, want HTTP/2", resp.Proto)
	}
	checkHead(t, resp)
	r := newReader(t, resp.Body)
	readOpening(t, r)
	e, s := r.expect("snapshot")
	if e.ID == nil || *e.ID != s.Cursor || len(s.Items) != 1 || string(s.Items[0].Data) != `{"v":1}` {
		t.Fatalf("snapshot %+v %+v", e, s)
	}
	seq := f.publish("a.b.c", message.Event, `{"v":2}`)
	if u := r.expectUpdate("a.b.c"); u.Cursor != f.cursor(seq) {
		t.Fatalf("update %+v", u)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- f.hub.Shutdown(ctx)
	}()
	if e, m := r.expect("error"); m.Code != "shutdown" || e.Retry != "250" || e.ID != nil {
		t.Fatalf("end event %+v %+v", e, m)
	}
	r.expectEnd()
	if err := <-done; err != nil {
		t.Errorf("shutdown did not drain the HTTP/2 stream: %v", err)
	}
}

// Last-Event-ID resumes after that cursor, with no snapshot, and wins over
// the cursor parameter, which is then not even read.
func TestLastEventIDResumes(t *testing.T) {
	f := newFixture(t, transport.Options{}, sse.Options{})
	first := f.publish("r.x", message.Event, `{"n":1}`)
	second := f.publish("r.x", message.Event, `{"n":2}`)
	third := f.publish("r.x", message.Event, `{"n":3}`)

	resp := f.get("?topics=r.*&cursor=garbage", http.Header{"Last-Event-Id": {f.cursor(first)}})
	checkHead(t, resp)
	r := newReader(t, resp.Body)
	readOpening(t, r)
	if u := r.expectUpdate("r.x"); u.Cursor != f.cursor(second) || string(u.Data) != `{"n":2}` {
		t.Fatalf("first resumed update %+v", u)
	}
	if u := r.expectUpdate("r.x"); u.Cursor != f.cursor(third) || string(u.Data) != `{"n":3}` {
		t.Fatalf("second resumed update %+v", u)
	}
	// Nothing else was owed: the next event is the next update.
	fourth := f.publish("r.x", message.Event, `{"n":4}`)
	if u := r.expectUpdate("r.x"); u.Cursor != f.cursor(fourth) {
		t.Fatalf("live update after the resume %+v", u)
	}
}

// Requests that cannot be served get a JSON error, not a stream.
func TestRefusedBeforeStreaming(t *testing.T) {
	f := newFixture(t, transport.Options{MaxTopics: 2}, sse.Options{})
	for _, c := range []struct {
		query, lastEventID string
		code               string
	}{
		{"", "", "bad_request"},
		{"?topics=", "", "bad_request"},
		{"?topics=,,", "", "bad_request"},
		{"?topics=a..b", "", "bad_topic"},
		{"?topics=a&cursor=nope", "", "bad_cursor"},
		{"?topics=a", "nope", "bad_cursor"},
		{"?topics=a,b,c", "", "too_many_topics"},
	} {
		var hdr http.Header
		if c.lastEventID != "" {
			hdr = http.Header{"Last-Event-Id": {c.lastEventID}}
		}
		resp := f.get(c.query, hdr)
		b, _ := io.ReadAll(resp.Body)
		var e serverError
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(b, &e) != nil || e.Error.Code != c.code {
			t.Errorf("%q (Last-Event-ID %q): %d %s, want 400 %s", c.query, c.lastEventID, resp.StatusCode, b, c.code)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%q: Content-Type %q", c.query, ct)
		}
	}
}

// Shutdown ends a stream with a short retry and a shutdown error event,
// after which the chunked body ends cleanly; a stream opened afterwards
// gets the same end and no hello.
func TestShutdownEndsStream(t *testing.T) {
	f := newFixture(t, transport.Options{}, sse.Options{})
	resp := f.get("?topics=a", nil)
	r := newReader(t, resp.Body)
	readOpening(t, r)
	r.expect("snapshot")

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- f.hub.Shutdown(ctx)
	}()
	e, m := r.expect("error")
	if e.Retry != "250" || m.Code != "shutdown" || e.ID != nil || m.Message == "" {
		t.Fatalf("end event %+v %+v, want retry 250 and code shutdown", e, m)
	}
	r.expectEnd()
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}

	late := f.get("?topics=a", nil)
	checkHead(t, late)
	lr := newReader(t, late.Body)
	lr.expectLine("retry: 2000")
	if e, m := lr.expect("error"); m.Code != "shutdown" || e.Retry != "250" {
		t.Fatalf("stream opened during shutdown: %+v %+v", e, m)
	}
	lr.expectEnd()
}

// A quiet stream gets a ping event within about a heartbeat, and one every
// heartbeat after: an event EventSource hands to scripts, as it does not
// comments.
func TestHeartbeatPingEvent(t *testing.T) {
	const hb = 300 * time.Millisecond
	f := newFixture(t, transport.Options{}, sse.Options{Heartbeat: hb})
	resp := f.get("?topics=quiet", nil)
	r := newReader(t, resp.Body)
	if h := readOpening(t, r); h.Heartbeat != 1 {
		t.Errorf("hello heartbeat %d, want 1 (rounded up)", h.Heartbeat)
	}
	r.expect("snapshot")
	last := time.Now()
	for range 3 {
		if e, _ := r.expect("ping"); e.ID != nil || len(e.Comments) != 0 {
			t.Fatalf("ping event %+v: want no id and no comment", e)
		}
		// Allow a second's slack on a loaded machine.
		if d := time.Since(last); d > hb+time.Second {
			t.Fatalf("ping after %v of quiet, heartbeat %v", d, hb)
		}
		last = time.Now()
	}
}

// A stream whose topics the Authorizer refuses is 403 before streaming.
func TestAuthorizerForbids(t *testing.T) {
	forbid := transport.AuthorizerFunc(func(_ context.Context, _ transport.Principal, patterns []string) error {
		for _, p := range patterns {
			if strings.HasPrefix(p, "secret.") {
				return wire.ErrForbidden
			}
		}
		return nil
	})
	f := newFixture(t, transport.Options{Authorizer: forbid}, sse.Options{})
	resp := f.get("?topics=public.a,secret.b", nil)
	b, _ := io.ReadAll(resp.Body)
	var e serverError
	if resp.StatusCode != http.StatusForbidden || json.Unmarshal(b, &e) != nil || e.Error.Code != "forbidden" {
		t.Fatalf("forbidden topics: %d %s, want 403 forbidden", resp.StatusCode, b)
	}
	ok := f.get("?topics=public.a", nil)
	checkHead(t, ok)
	readOpening(t, newReader(t, ok.Body))
}
