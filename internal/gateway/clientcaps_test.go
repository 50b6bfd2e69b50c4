package gateway

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/internal/proxytest"
)

// One client address holds at most --max-conns-per-ip connections,
// streams included, whatever it sends on them; past it everything it opens
// is answered 429 at once; others are not affected; a stream that ends
// gives its place back.
func TestPerClientConnectionCap(t *testing.T) {
	_, base := serveGateway(t, Config{Clients: api.ClientLimits{MaxConns: 3, ConnRate: -1}})
	greedy := from("127.0.0.2")
	var sse *held
	for _, tr := range []string{"ws", "ws", "sse"} {
		s, a := openStream(t, greedy, base, tr, nil)
		if s == nil {
			t.Fatalf("%s within the cap: %+v", tr, a)
		}
		sse = s
	}
	for _, tr := range []string{"ws", "sse"} {
		_, a := openStream(t, greedy, base, tr, nil)
		refused(t, tr+" past the cap", a, http.StatusTooManyRequests, "rate_limited")
	}
	refused(t, "snapshot past the cap", get(t, greedy, base+"/v1/snapshot?topics=a", nil), http.StatusTooManyRequests, "rate_limited")

	// A connection that sends nothing is answered as it is accepted: idle
	// sockets cannot pile up.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	nc, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetReadDeadline(time.Now().Add(time.Second))
	b := make([]byte, 512)
	n, _ := nc.Read(b)
	if !strings.HasPrefix(string(b[:n]), "HTTP/1.1 429 Too Many Requests\r\n") || !strings.Contains(string(b[:n]), `"code":"rate_limited"`) || !strings.Contains(string(b[:n]), "Retry-After: 1\r\n") {
		t.Errorf("a silent connection past the cap read %q", b[:n])
	}

	if s, a := openStream(t, from("127.0.0.3"), base, "ws", nil); s == nil {
		t.Fatalf("another client: %+v", a)
	}
	sse.close()
	eventually(t, 5*time.Second, "the ended SSE stream's place given back", func() bool {
		s, _ := openStream(t, greedy, base, "sse", nil)
		return s != nil
	})
}

// One client address may make --conn-rate-per-ip requests a second to the
// subscription endpoints, the snapshot and the topic list, in bursts;
// health checks and publishing are not limited.
func TestPerClientRate(t *testing.T) {
	_, base := serveGateway(t, Config{Clients: api.ClientLimits{MaxConns: -1, ConnRate: 5}})
	c := from("127.0.0.4")
	for i := range 5 {
		if a := get(t, c, base+"/v1/snapshot?topics=a", nil); a.status != http.StatusOK {
			t.Fatalf("request %d of the burst: %+v", i, a)
		}
	}
	refused(t, "snapshot past the rate", get(t, c, base+"/v1/snapshot?topics=a", nil), http.StatusTooManyRequests, "rate_limited")
	refused(t, "topics past the rate", get(t, c, base+"/v1/topics", nil), http.StatusTooManyRequests, "rate_limited")
	_, a := openStream(t, c, base, "ws", nil)
	refused(t, "ws past the rate", a, http.StatusTooManyRequests, "rate_limited")
	if a := get(t, from("127.0.0.5"), base+"/v1/snapshot?topics=a", nil); a.status != http.StatusOK {
		t.Errorf("another client: %+v", a)
	}
	for range 20 {
		if a := get(t, c, base+"/healthz", nil); a.status != http.StatusOK {
			t.Fatalf("/healthz: %+v", a)
		}
	}
	for i := range 10 {
		mustPublish(t, base, `{"topic":"a.b","kind":"state","data":{"n":`+strconv.Itoa(i)+`}}`)
	}
	// The bucket refills: one token each 200ms.
	start := time.Now()
	eventually(t, 2*time.Second, "the bucket refilled", func() bool {
		return get(t, c, base+"/v1/snapshot?topics=a", nil).status == http.StatusOK
	})
	if took := time.Since(start); took > time.Second {
		t.Errorf("a token took %v", took)
	}
}

// From a trusted proxy, the caps count the client its X-Forwarded-For
// (or Forwarded) names, and a WebSocket or SSE stream holds its place
// until it ends, though the handler returned long before; from any other
// peer those headers change nothing.
func TestPerClientCapThroughTrustedProxy(t *testing.T) {
	proxies, _ := api.ParseProxies("127.0.0.10")
	_, base := serveGateway(t, Config{Clients: api.ClientLimits{MaxConns: 2, ConnRate: -1, TrustedProxies: proxies}})
	proxy := from("127.0.0.10")
	xff := func(v string) http.Header { return http.Header{"X-Forwarded-For": {v}} }

	sse, a := openStream(t, proxy, base, "sse", xff("203.0.113.7"))
	if sse == nil {
		t.Fatalf("first stream: %+v", a)
	}
	if s, a := openStream(t, proxy, base, "ws", xff("203.0.113.7")); s == nil {
		t.Fatalf("second stream: %+v", a)
	}
	for _, tr := range []string{"sse", "ws"} {
		_, a := openStream(t, proxy, base, tr, xff("203.0.113.7"))
		refused(t, tr+" past the client's cap", a, http.StatusTooManyRequests, "rate_limited")
		// A forged address left of what the proxy appended is not believed.
		_, a = openStream(t, proxy, base, tr, xff("198.51.100.1, 203.0.113.7"))
		refused(t, tr+" with a forged hop", a, http.StatusTooManyRequests, "rate_limited")
	}
	for _, tr := range []string{"sse", "ws"} {
		if s, a := openStream(t, proxy, base, tr, xff("203.0.113.8")); s == nil {
			t.Fatalf("another client behind the proxy, %s: %+v", tr, a)
		}
	}
	// Forwarded, and IPv6 clients counted by /64.
	fwd := func(v string) http.Header { return http.Header{"Forwarded": {v}} }
	for _, v := range []string{`for="[2001:db8:1:2::1]:4711"`, `for="[2001:db8:1:2::2]"`} {
		if s, a := openStream(t, proxy, base, "sse", fwd(v)); s == nil {
			t.Fatalf("Forwarded %s: %+v", v, a)
		}
	}
	_, a = openStream(t, proxy, base, "sse", fwd(`for="[2001:db8:1:2:ffff::9]"`))
	refused(t, "the same /64", a, http.StatusTooManyRequests, "rate_limited")
	if s, a := openStream(t, proxy, base, "sse", fwd(`for="[2001:db8:1:3::1]"`)); s == nil {
		t.Fatalf("the next /64: %+v", a)
	}

	// The hijacked stream's place comes back when it ends.
	sse.close()
	eventually(t, 5*time.Second, "the ended stream's place given back", func() bool {
		s, _ := openStream(t, proxy, base, "sse", xff("203.0.113.7"))
		return s != nil
	})

	// An untrusted peer is counted as itself, whatever it forwards.
	other := from("127.0.0.11")
	for i, v := range []string{"192.0.2.1", "192.0.2.2"} {
		if s, a := openStream(t, other, base, "sse", xff(v)); s == nil {
			t.Fatalf("untrusted peer, stream %d: %+v", i, a)
		}
	}
	_, a = openStream(t, other, base, "sse", xff("192.0.2.3"))
	refused(t, "an untrusted peer's third stream", a, http.StatusTooManyRequests, "rate_limited")
}

// Behind a real nginx that appends to X-Forwarded-For, the caps apply to
// each client, not to nginx; a client's own X-Forwarded-For does not help
// it.
func TestPerClientCapBehindNginx(t *testing.T) {
	_, base := serveGateway(t, Config{Clients: api.ClientLimits{MaxConns: 2, ConnRate: -1, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	front := proxytest.Nginx{
		Upstreams: []string{strings.TrimPrefix(base, "http://")},
		Location: `proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $http_connection;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;`,
	}.Start(t)
	alice, bob := from("127.0.0.20"), from("127.0.0.21")
	first, a := openStream(t, alice, front, "sse", nil)
	if first == nil {
		t.Fatalf("alice's first stream: %+v", a)
	}
	if s, a := openStream(t, alice, front, "ws", nil); s == nil {
		t.Fatalf("alice's second stream: %+v", a)
	}
	_, a = openStream(t, alice, front, "sse", nil)
	refused(t, "alice's third stream", a, http.StatusTooManyRequests, "rate_limited")
	_, a = openStream(t, alice, front, "ws", http.Header{"X-Forwarded-For": {"198.51.100.1"}})
	refused(t, "alice's third stream, forging X-Forwarded-For", a, http.StatusTooManyRequests, "rate_limited")
	for _, tr := range []string{"ws", "sse"} {
		if s, a := openStream(t, bob, front, tr, nil); s == nil {
			t.Fatalf("bob's %s: %+v", tr, a)
		}
	}
	first.close()
	eventually(t, 5*time.Second, "alice's ended stream's place given back", func() bool {
		s, _ := openStream(t, alice, front, "sse", nil)
		return s != nil
	})
}

// Served without the gateway's listener (any http.Server), the caps count
// a client's requests in flight: a long poll holds its place until it
// returns.
func TestPerClientCapWithoutListener(t *testing.T) {
	_, srv := testGateway(t, Config{Clients: api.ClientLimits{MaxConns: 2, ConnRate: -1}})
	var snap struct{ Cursor string }
	if code := getJSON(t, srv.URL+"/v1/snapshot?topics=a", &snap); code != http.StatusOK {
		t.Fatalf("snapshot: %d", code)
	}
	waiting := make(chan struct{}, 2)
	returned := make(chan string, 2)
	var cancels []context.CancelFunc
	for range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		cancels = append(cancels, cancel)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/poll?topics=a&timeout=30&cursor="+url.QueryEscape(snap.Cursor), nil)
		go func() {
			waiting <- struct{}{}
			for {
				resp, err := http.DefaultClient.Do(req.Clone(ctx))
				if err != nil {
					returned <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests {
					// The snapshot's place, or the probe's below, is given
					// back just after its answer was sent: ask again.
					time.Sleep(5 * time.Millisecond)
					continue
				}
				returned <- fmt.Sprintf("%s %s", resp.Status, b)
				return
			}
		}()
	}
	<-waiting
	<-waiting
	eventually(t, 5*time.Second, "two polls waiting, a third refused", func() bool {
		select {
		case r := <-returned:
			t.Fatalf("a poll that should wait 30 s returned: %s", r)
		default:
		}
		return get(t, http.DefaultClient, srv.URL+"/v1/snapshot?topics=a", nil).status == http.StatusTooManyRequests
	})
	cancels[0]()
	eventually(t, 5*time.Second, "the ended poll's place given back", func() bool {
		return get(t, http.DefaultClient, srv.URL+"/v1/snapshot?topics=a", nil).status == http.StatusOK
	})
}
