package static_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/embednats"
	"github.com/tickerd/tickerd/internal/gateway"
	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/proxytest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/sse"
	"github.com/tickerd/tickerd/transport/ws"
)

// testPage drives Tickerd.Client and records what it sees in window.__t.
// Query: nows=1 removes WebSocket, noes=1 EventSource, nolocks=1 Web Locks
// and nobc=1 BroadcastChannel before the client loads; hello and probe set its timeouts in ms, maxb its maxBackoff;
// auth=G gives it a getToken that mints tokens granting G.> at /__token,
// and bad=N makes that getToken's Nth answer a token no gateway accepts.
const testPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>tickerd client test</title></head><body>
<script>
(function () {
  var q = location.search;
  if (/[?&]nows=1/.test(q)) { window.WebSocket = undefined; try { delete window.WebSocket; } catch (e) {} }
  if (/[?&]noes=1/.test(q)) { window.EventSource = undefined; try { delete window.EventSource; } catch (e) {} }
  if (/[?&]nolocks=1/.test(q)) { Object.defineProperty(navigator, "locks", {value: undefined}); }
  if (/[?&]nobc=1/.test(q)) { window.BroadcastChannel = undefined; try { delete window.BroadcastChannel; } catch (e) {} }
}());
</script>
<script src="/ticker.js"></script>
<script>
window.__t = {statuses: [], events: [], errors: [], transport: null, transports: []};
(function () {
  var p = {};
  location.search.replace(/[?&](\w+)=(\w+)/g, function (_, k, v) { p[k] = v; });
  var o = {helloTimeout: +(p.hello || 1500), probeInterval: +(p.probe || 1000), minBackoff: 100, maxBackoff: +(p.maxb || 1000)};
  var calls = 0;
  if (p.auth) {
    o.getToken = function (cb) {
      if (++calls === +p.bad) { return cb(null, "not.a.token"); }
      var x = new XMLHttpRequest();
      x.open("GET", "/__token?grant=" + p.auth);
      x.onload = function () { cb(x.status === 200 ? null : "HTTP " + x.status, x.responseText); };
      x.onerror = function () { cb("network error"); };
      x.send();
    };
  }
  var c = new Tickerd.Client("", o);
  function note() {
    __t.transport = c.transport;
    var ts = __t.transports;
    if (c.transport && ts[ts.length - 1] !== c.transport) { ts.push(c.transport); }
  }
  c.on("status", function (s) { __t.statuses.push(s); note(); });
  c.on("error", function (e) { __t.errors.push(e.code); });
  c.subscribe(["ev.a"], function (u) { __t.events.push(u.data.n); note(); });
  window.__c = c;
}());
</script>
</body></html>`

// harness is a gateway on an external NATS, so that it can be restarted on
// the same port with the same stream, and a publisher that outlives it.
type harness struct {
	t       *testing.T
	ns      *embednats.Server
	pub     *stream.Stream
	addr    string
	blockWS atomic.Bool // refuse WebSocket handshakes with a fast 403
	stop    func()
	next    int // the next event number

	secret     string                   // the gateway's HS256 secret; empty: open
	heartbeat  time.Duration            // the gateway's WebSocket and SSE heartbeat; 0: its default
	sendBuffer int                      // SO_SNDBUF of every accepted connection, as gateway.Config.SendBuffer; 0: the kernel's
	mints      atomic.Int64             // tokens /__token gave
	hits       map[string]*atomic.Int64 // requests to /v1/ws, /v1/sse, /v1/poll
}

func newHarness(t *testing.T) *harness { return startHarness(t, "") }

// startHarness starts a gateway that verifies tokens signed with secret,
// and nothing public; an empty secret leaves it open.
func startHarness(t *testing.T, secret string) *harness {
	return startHarnessWith(t, &harness{secret: secret})
}

// startHarnessWith starts the gateway h's fields describe.
func startHarnessWith(t *testing.T, h *harness) *harness {
	ns := natstest.Server(t)
	pub := natstest.Stream(t, ns, stream.Options{})
	h.t, h.ns, h.pub, h.addr, h.hits = t, ns, pub, "127.0.0.1:0", map[string]*atomic.Int64{}
	for _, p := range []string{"/v1/ws", "/v1/sse", "/v1/poll"} {
		h.hits[p] = new(atomic.Int64)
	}
	h.start()
	t.Cleanup(func() { h.stop() })
	return h
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs a gateway on h.addr (the same port after a restart).
func (h *harness) start() {
	t := h.t
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := gateway.Start(ctx, gateway.Config{NATSURL: h.ns.ClientURL(), PublishToken: "t", Logger: quiet(),
		JWT: api.VerifierOptions{Secret: h.secret}, WebSocket: ws.Options{Heartbeat: h.heartbeat},
		SSE: sse.Options{Heartbeat: h.heartbeat}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.Hub().Loaded():
	case <-ctx.Done():
		t.Fatal("gateway did not load")
	}
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	if h.sendBuffer > 0 {
		ln = sendBuffered{ln, h.sendBuffer}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/__test.html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, testPage)
	})
	mux.HandleFunc("/__token", h.serveToken)
	mux.HandleFunc("/__widget.html", h.serveWidgetPage)
	mux.HandleFunc("/__dot.html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, dotPage)
	})
	gw := g.Handler()
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := h.hits[r.URL.Path]; n != nil {
			n.Add(1)
		}
		if r.URL.Path == "/v1/ws" && h.blockWS.Load() {
			http.Error(w, "WebSockets are blocked here", http.StatusForbidden)
			return
		}
		gw.ServeHTTP(w, r)
	}))
	g2 := &gatewayServer{g: g, srv: &http.Server{Handler: mux}}
	go g2.srv.Serve(ln)
	h.stop = g2.close
}

// sendBuffered caps accepted connections' send buffers as the gateway's
// own listener does (the harness serves its pages beside the gateway's).
type sendBuffered struct {
	net.Listener
	size int
}

func (l sendBuffered) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(l.size)
	}
	return c, err
}

type gatewayServer struct {
	g   *gateway.Gateway
	srv *http.Server
}

// close stops the gateway as SIGTERM would: subscribers are told to
// reconnect, then it goes.
func (s *gatewayServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go s.srv.Shutdown(ctx)
	_ = s.g.Hub().Shutdown(ctx)
	s.srv.Close()
	s.g.Close()
}

func (h *harness) url() string { return "http://" + h.addr }

// publish stores events next..next+n-1 on ev.a.
func (h *harness) publish(n int) {
	h.t.Helper()
	us := make([]message.Update, n)
	for i := range us {
		us[i] = message.Update{Topic: "ev.a", Kind: message.Event, Time: time.Now(),
			Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, h.next))}
		h.next++
	}
	if _, _, err := h.pub.PublishBatch(context.Background(), us); err != nil {
		h.t.Fatal(err)
	}
}

// browser starts a headless Chromium for the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := proxytest.Require(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// What the page throws or logs is shown when the test fails.
	var mu sync.Mutex
	var logs []string
	note := func(s string) { mu.Lock(); logs = append(logs, s); mu.Unlock() }
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := d.Text
			if d.Exception != nil {
				desc += " " + d.Exception.Description
			}
			note(fmt.Sprintf("page exception at %s:%d: %s", d.URL, d.LineNumber+1, desc))
		case *runtime.EventConsoleAPICalled:
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			note(fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			for _, l := range logs {
				t.Log(l)
			}
		}
	})
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// state is window.__t.
type state struct {
	Statuses   []string `json:"statuses"`
	Events     []int    `json:"events"`
	Errors     []string `json:"errors"`
	Transport  string   `json:"transport"`
	Transports []string `json:"transports"`
}

func read(t *testing.T, ctx context.Context) state {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__t || {})`))
	if err != nil {
		t.Fatal(err)
	}
	var s state
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// await polls the page until cond holds.
func await(t *testing.T, ctx context.Context, what string, cond func(state) bool) state {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := read(t, ctx)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: page state %+v", what, s)
		}
		time.Sleep(50 * time.Millisecond) // the page's state is read by polling
	}
}

// checkEvents asserts the page saw events 0..last, each once, in order.
func checkEvents(t *testing.T, s state, last int) {
	t.Helper()
	if len(s.Events) != last+1 {
		t.Fatalf("page saw %d events, want %d: %v", len(s.Events), last+1, s.Events)
	}
	for i, n := range s.Events {
		if n != i {
			t.Fatalf("event %d at position %d: %v", n, i, s.Events)
		}
	}
}

// open loads the test page and waits for the client to be open.
func open(t *testing.T, ctx context.Context, url string) state {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	return await(t, ctx, "an open transport", func(s state) bool {
		return len(s.Statuses) > 0 && strings.HasPrefix(s.Statuses[len(s.Statuses)-1], "open/")
	})
}

// deliverAll publishes n events and waits until the page has all so far.
func deliverAll(t *testing.T, ctx context.Context, h *harness, n int) state {
	t.Helper()
	h.publish(n)
	last := h.next - 1
	s := await(t, ctx, fmt.Sprintf("event %d", last), func(s state) bool {
		return len(s.Events) > 0 && s.Events[len(s.Events)-1] >= last
	})
	checkEvents(t, s, last)
	return s
}

func TestBrowserTransports(t *testing.T) {
	for _, tc := range []struct {
		name, query, want string
	}{
		{"modern browser picks WebSocket", "", "ws"},
		{"no WebSocket falls back to SSE", "?nows=1", "sse"},
		{"no WebSocket nor EventSource falls back to polling", "?nows=1&noes=1", "poll"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			ctx := browser(t)
			s := open(t, ctx, h.url()+"/__test.html"+tc.query)
			if s.Transport != tc.want {
				t.Fatalf("transport %q, want %q (statuses %v)", s.Transport, tc.want, s.Statuses)
			}
			s = deliverAll(t, ctx, h, 30)
			if s.Transport != tc.want {
				t.Fatalf("transport changed to %q", s.Transport)
			}
		})
	}
}

func TestBrowserThroughNginx(t *testing.T) {
	for _, tc := range []struct {
		name, location, want string
	}{
		// nginx's defaults: no Upgrade forwarded, so WebSocket fails; the
		// SSE stream passes unbuffered thanks to X-Accel-Buffering.
		{"without upgrade headers: SSE", "", "sse"},
		// A proxy that buffers whatever the upstream says: the SSE hello
		// never arrives in time, so the client long-polls.
		{"buffering everything: polling", "proxy_buffering on; proxy_ignore_headers X-Accel-Buffering;", "poll"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			base := proxytest.Nginx{Upstreams: []string{h.addr}, Location: tc.location}.Start(t)
			ctx := browser(t)
			s := open(t, ctx, base+"/__test.html")
			if s.Transport != tc.want {
				t.Fatalf("transport %q, want %q (statuses %v)", s.Transport, tc.want, s.Statuses)
			}
			deliverAll(t, ctx, h, 30)
		})
	}
}

// The gateway restarts mid-stream: the page reconnects with its cursor and
// the event count has no gap.
func TestBrowserSurvivesGatewayRestart(t *testing.T) {
	h := newHarness(t)
	ctx := browser(t)
	open(t, ctx, h.url()+"/__test.html")
	deliverAll(t, ctx, h, 20)
	h.stop()
	h.publish(10) // while no gateway is up
	h.start()
	s := deliverAll(t, ctx, h, 20)
	if s.Transport != "ws" {
		t.Fatalf("after restart: %q", s.Transport)
	}
}

// WebSocket is refused (a fast 403) at first: the client uses SSE, probes,
// and climbs back to WebSocket once it is allowed, with no gap.
func TestBrowserClimbsBackToWebSocket(t *testing.T) {
	h := newHarness(t)
	h.blockWS.Store(true)
	ctx := browser(t)
	s := open(t, ctx, h.url()+"/__test.html?probe=500")
	if s.Transport != "sse" {
		t.Fatalf("with WebSocket blocked: %q", s.Transport)
	}
	deliverAll(t, ctx, h, 20)
	h.blockWS.Store(false)
	done := make(chan struct{})
	go func() { // events keep coming while the client switches
		defer close(done)
		for range 20 {
			h.publish(1)
			time.Sleep(20 * time.Millisecond) // a feed's pace, not a wait for anything
		}
	}()
	await(t, ctx, "the climb back to WebSocket", func(s state) bool { return s.Transport == "ws" })
	<-done
	s = deliverAll(t, ctx, h, 20)
	if s.Transport != "ws" {
		t.Fatalf("transport %q after the climb", s.Transport)
	}
}

// Screenshots of the demo page and of the widget on a plain host page, for
// a person to look at.
func TestBrowserScreenshots(t *testing.T) {
	h := newHarness(t)
	feedStocks(t, h)
	ctx := browser(t)
	dir := outputDir(t)
	for _, page := range []struct{ path, file, ready string }{
		{"/", "demo.png", `document.querySelectorAll("[class*=tkd]").length > 0`},
		{"/embed-example.html", "widget-embedded.png", `document.querySelectorAll("[class*=tkd]").length > 0`},
	} {
		err := chromedp.Do(ctx, chromedp.Navigate(h.url()+page.path))
		if err == nil {
			_, err = chromedp.Run(ctx, chromedp.Poll[bool](page.ready, chromedp.WithPollingTimeout(20*time.Second)))
		}
		if err == nil {
			// Let prices move and flashes settle for the picture.
			err = chromedp.Do(ctx, chromedp.Sleep(1500*time.Millisecond))
		}
		var png []byte
		if err == nil {
			png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		}
		if err != nil {
			t.Fatalf("%s: %v", page.path, err)
		}
		path := filepath.Join(dir, page.file)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of %s: %s", page.path, path)
	}
}

// outputDir is where screenshots go: $TICKERD_TEST_OUTPUT, or testoutput/
// at the repository root.
func outputDir(t *testing.T) string {
	dir := os.Getenv("TICKERD_TEST_OUTPUT")
	if dir == "" {
		dir = filepath.Join("..", "testoutput")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// feedStocks runs the simulators into the harness's stream for the test.
func feedStocks(t *testing.T, h *harness) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for _, r := range []interface {
		Run(context.Context, feed.Publisher) error
	}{
		feed.NewStocks(feed.StocksOptions{Logger: quiet()}),
		feed.NewSports(feed.SportsOptions{Logger: quiet(), Pause: time.Second}),
	} {
		go func() { _ = r.Run(ctx, h.pub); done <- struct{}{} }()
	}
	t.Cleanup(func() { cancel(); <-done; <-done })
}
