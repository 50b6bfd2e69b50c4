package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

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
