package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tickerd/tickerd/api"
)

var noClientCaps = api.ClientLimits{MaxConns: -1, ConnRate: -1}

// At the connection budget, every new request and upgrade gets a fast 503
// overloaded with Retry-After and its connection closes, while the
// operations endpoints answer on the reserve; a connection that sends
// nothing is answered too; past the reserve /healthz gets 503; a reserve
// connection that stalls is gone within seconds; and once a stream ends, a
// new one is served.
func TestConnectionBudget(t *testing.T) {
	g, base := serveGateway(t, Config{MaxConns: 4, Clients: noClientCaps})
	c := from("127.0.0.1")
	var streams []*held
	for _, tr := range []string{"ws", "sse", "ws", "sse"} {
		s, a := openStream(t, c, base, tr, nil)
		if s == nil {
			t.Fatalf("%s within the budget: %+v", tr, a)
		}
		streams = append(streams, s)
	}
	open := func(n int64) func() bool { return func() bool { return g.edge.open.Load() == n } }
	eventually(t, 5*time.Second, "4 connections open", open(4))

	for _, tr := range []string{"ws", "sse"} {
		_, a := openStream(t, c, base, tr, nil)
		refused(t, tr+" at the budget", a, http.StatusServiceUnavailable, "overloaded")
		if !a.closes {
			t.Errorf("%s at the budget: the connection stays open", tr)
		}
	}
	for _, path := range []string{"/v1/snapshot?topics=a", "/v1/poll?topics=a&timeout=1", "/v1/topics", "/"} {
		a := get(t, c, base+path, nil)
		refused(t, path+" at the budget", a, http.StatusServiceUnavailable, "overloaded")
		if !a.closes {
			t.Errorf("%s at the budget: the connection stays open", path)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if a := get(t, c, base+path, nil); a.status != http.StatusOK || !a.closes || a.took > time.Second {
			t.Errorf("%s at the budget: %+v, want 200 and the connection closed", path, a)
		}
	}

	// A connection that sends nothing is answered once triage has waited
	// for its request line.
	addr := strings.TrimPrefix(base, "http://")
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	start := time.Now()
	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(silent)
	if took := time.Since(start); !strings.HasPrefix(string(b), "HTTP/1.1 503 Service Unavailable\r\n") || !strings.Contains(string(b), `"code":"overloaded"`) || err != nil || took > time.Second {
		t.Errorf("a silent connection at the budget read %q, %v in %v", b, err, took)
	}

	// Fill the reserve with operations requests that stall after their
	// request line: the next is answered 503 at once.
	eventually(t, 5*time.Second, "back to the 4 streams", open(4))
	var stalled []net.Conn
	for range healthReserve {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if _, err := nc.Write([]byte("GET /healthz HTTP/1.1\r\n")); err != nil {
			t.Fatal(err)
		}
		stalled = append(stalled, nc)
	}
	filled := time.Now()
	reserve := func(n int64) func() bool { return func() bool { return g.edge.reserve.Load() == n } }
	eventually(t, 5*time.Second, "the reserve filled", reserve(healthReserve))
	a := get(t, c, base+"/healthz", nil)
	refused(t, "/healthz past the reserve", a, http.StatusServiceUnavailable, "overloaded")
	if !a.closes {
		t.Error("past the reserve: the connection stays open")
	}
	// They have overBudgetTimeout to finish, not the 10s ReadHeaderTimeout.
	for _, nc := range stalled {
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(nc); err != nil {
			t.Fatalf("a stalled reserve connection: %v, want it closed", err)
		}
	}
	if took := time.Since(filled); took < overBudgetTimeout/2 || took > 2*overBudgetTimeout {
		t.Errorf("stalled reserve connections closed after %v, want about %v", took, overBudgetTimeout)
	}
	eventually(t, 5*time.Second, "the reserve emptied", reserve(0))
	if a := get(t, c, base+"/healthz", nil); a.status != http.StatusOK {
		t.Errorf("/healthz with the reserve free again: %+v", a)
	}
	if n := metric(t, g, "tickerd_connections_budget"); n != 4 {
		t.Errorf("tickerd_connections_budget %v, want 4", n)
	}
	if n := metric(t, g, "tickerd_connections_over_budget_total"); n < 10 {
		t.Errorf("tickerd_connections_over_budget_total %v, want every refusal counted", n)
	}

	// A stream ends: the next is served.
	streams[0].close()
	eventually(t, 5*time.Second, "the closed stream released", open(3))
	if s, a := openStream(t, c, base, "sse", nil); s == nil {
		t.Fatalf("after a stream ended: %+v", a)
	}
}

// A URL longer than MaxURL gets 414 uri_too_long on every endpoint; one of
// exactly MaxURL is served; a request head past the server's header limit
// gets net/http's 431.
func TestURLLimit(t *testing.T) {
	_, base := serveGateway(t, Config{})
	c := from("127.0.0.1")
	pad := func(path string, n int) string {
		path += "pad="
		return base + path + strings.Repeat("x", n-len(path))
	}
	for _, path := range []string{"/v1/snapshot?topics=a&", "/v1/sse?topics=a&", "/v1/poll?topics=a&timeout=1&", "/v1/topics?", "/healthz?", "/readyz?", "/nope?", "/?"} {
		if a := get(t, c, pad(path, api.DefaultMaxURL+1), nil); a.status != http.StatusRequestURITooLong || a.code != "uri_too_long" {
			t.Errorf("%s with a URL of %d bytes: %+v, want 414 uri_too_long", path, api.DefaultMaxURL+1, a)
		}
	}
	if a := get(t, c, pad("/v1/snapshot?topics=a&", api.DefaultMaxURL), nil); a.status != http.StatusOK {
		t.Errorf("snapshot with a URL of exactly %d bytes: %+v", api.DefaultMaxURL, a)
	}
	if a := get(t, c, pad("/v1/snapshot?topics=a&", 60<<10), nil); a.status != http.StatusRequestURITooLong {
		t.Errorf("a URL of 60 KiB: %+v, want 414", a)
	}
	if a := get(t, c, pad("/v1/snapshot?topics=a&", 200<<10), nil); a.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a URL of 200 KiB: %+v, want 431", a)
	}
	ws := "ws" + strings.TrimPrefix(pad("/v1/ws?topics=a&", api.DefaultMaxURL+1), "http")
	if _, resp, err := dialURL(ws); err == nil || resp == nil || resp.StatusCode != http.StatusRequestURITooLong {
		t.Errorf("WebSocket with a long URL: %v %v, want 414", resp, err)
	}
	req, _ := http.NewRequest(http.MethodPost, pad("/v1/publish?", api.DefaultMaxURL+1), strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+testToken)
	if code, body := do(t, req); code != http.StatusRequestURITooLong {
		t.Errorf("publish with a long URL: %d %s", code, body)
	}
}

// The budget derived from the open-file limit leaves the headroom.
func TestConnBudgetFromFileLimit(t *testing.T) {
	for limit, want := range map[uint64]int{
		1024:    1024 - 256 - 16 - 64,
		256:     256 - 128 - 16 - 64,
		65536:   65536 - 6553 - 16 - 64,
		1 << 20: 1<<20 - 104857 - 16 - 64,
		100:     1,
	} {
		if got := connBudget(0, limit); got != want {
			t.Errorf("file limit %d: budget %d, want %d", limit, got, want)
		}
	}
	if got := connBudget(500, 1024); got != 500 {
		t.Errorf("--max-conns 500: %d", got)
	}
}

func dialURL(u string) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return websocket.Dial(ctx, u, nil)
}
