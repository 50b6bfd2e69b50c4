package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/proxytest"
)

// SSE and long polling through nginx as a site would first put it in front:
// proxy_pass and nothing else (HTTP/1.0 to the upstream, response
// buffering on). The SSE stream is still live because the gateway sends
// X-Accel-Buffering: no.
func TestThroughDefaultNginx(t *testing.T) {
	_, srv := testGateway(t, Config{})
	base := proxytest.Nginx{Upstreams: []string{strings.TrimPrefix(srv.URL, "http://")}}.Start(t)
	publishEvents(t, srv.URL, "ev.a", 0, 4)
	next := 5

	for _, tr := range []string{"sse", "poll"} {
		t.Run(tr, func(t *testing.T) {
			s := subscribe(t, tr, base, "ev.a", "")
			defer s.close()
			l := newLedger(t)
			m, err := s.next(10 * time.Second)
			if err != nil || m.Type != "snapshot" {
				t.Fatalf("through nginx: %+v %v", m, err)
			}
			l.take(m)
			// Live: each event arrives through the proxy before the next
			// is published, so nothing waits in a buffer.
			for range 5 {
				n := next
				next++
				publishEvents(t, srv.URL, "ev.a", n, n)
				readUntil(t, s, l, func() bool { return lastEvent(l, "ev.a") == n })
			}
		})
	}

	// A WebSocket upgrade cannot pass: without proxy_set_header Upgrade and
	// Connection, nginx forwards a plain HTTP/1.0 GET and the gateway
	// answers 426 Upgrade Required. This is the case the browser client
	// falls back to SSE for.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/ws?topics=ev.a", nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("WebSocket upgraded through nginx without upgrade headers")
	}
	if resp == nil || resp.StatusCode != 426 {
		t.Fatalf("WebSocket through default nginx: %v %v, want 426 from the gateway", resp, err)
	}
	t.Logf("nginx without upgrade headers: the gateway saw no Upgrade and answered %d", resp.StatusCode)
}

// Behind HAProxy balancing round-robin with no stickiness, consecutive
// polls, SSE reconnects and WebSocket connections land on alternating
// gateways; the cursor alone carries the client through.
func TestRoundRobinWithoutStickiness(t *testing.T) {
	ns := natstest.Server(t)
	ga, a := testGateway(t, Config{NATSURL: ns.ClientURL()})
	gb, b := testGateway(t, Config{NATSURL: ns.ClientURL()})
	base := proxytest.HAProxy{Upstreams: []string{
		strings.TrimPrefix(a.URL, "http://"), strings.TrimPrefix(b.URL, "http://"),
	}}.Start(t)

	l := newLedger(t)
	var start struct{ Cursor string }
	getJSON(t, a.URL+"/v1/snapshot?topics=ev.a", &start)
	l.cursor = start.Cursor
	next := 0
	for round := range 12 {
		tr := transports[round%3]
		publishEvents(t, []string{a.URL, b.URL}[round%2], "ev.a", next, next+4)
		next += 5
		s := subscribe(t, tr, base, "ev.a", l.cursor)
		readUntil(t, s, l, func() bool { return lastEvent(l, "ev.a") == next-1 })
		s.close()
	}
	if got := l.events["ev.a"]; len(got) != next || got[0] != 0 {
		t.Fatalf("saw %d of %d events from %d", len(got), next, got[0])
	}
	for url, g := range map[string]*Gateway{a.URL: ga, b.URL: gb} {
		for _, tr := range transports {
			served := metric(t, g, `tickerd_sessions_opened_total{transport="`+tr+`"}`)
			if tr == "poll" {
				served += metric(t, g, `tickerd_polls_from_ring_total`) // polls that needed no session
			}
			if served == 0 {
				t.Errorf("gateway %s served no %s session: the proxy did not spread the load", url, tr)
			}
		}
	}
}
