package static_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
)

// testSecret is the gateway's HS256 secret in these tests.
const testSecret = "browser-test-secret-0123456789abcdef"

// tokenTTL is how long a token from /__token lives: exp is in whole
// seconds, so 2 to 3 s from its minting. A test of ten seconds crosses
// several expiries.
const tokenTTL = 3 * time.Second

var grantName = regexp.MustCompile(`^[a-z]+$`)

// mint signs a token granting grant.> for ttl.
func mint(t testing.TB, secret, grant string, ttl time.Duration) string {
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "browser", "iat": now.Unix(), "exp": now.Add(ttl).Unix(), "topics": []string{grant + ".>"},
	}).SignedString([]byte(secret))
	if err != nil {
		t.Error(err)
	}
	return tok
}

// serveToken is the site's backend that a page's getToken asks: a new
// token granting ?grant=G.> for tokenTTL.
func (h *harness) serveToken(w http.ResponseWriter, r *http.Request) {
	grant := r.URL.Query().Get("grant")
	if !grantName.MatchString(grant) {
		http.Error(w, "grant=[a-z]+", http.StatusBadRequest)
		return
	}
	h.mints.Add(1)
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, mint(h.t, h.secret, grant, tokenTTL))
}

// widgetPage holds two widgets on ev.a: one with a getToken hook named by
// data-tickerd-get-token, one with a static data-tickerd-token (%s). Each
// widget's updates are recorded in window.__w.
const widgetPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>tickerd widget token test</title></head><body>
<div id="hook" data-tickerd-topics="ev.a" data-tickerd-get-token="mintToken"></div>
<div id="static" data-tickerd-topics="ev.a" data-tickerd-token="%s"></div>
<script>
window.__w = {hook: [], static: []};
function mintToken(cb) {
  var x = new XMLHttpRequest();
  x.open("GET", "/__token?grant=ev");
  x.onload = function () { cb(x.status === 200 ? null : "HTTP " + x.status, x.responseText); };
  x.onerror = function () { cb("network error"); };
  x.send();
}
</script>
<script src="/ticker-widget.js"></script>
<script>
document.addEventListener("DOMContentLoaded", function () {
  ["hook", "static"].forEach(function (id) {
    var w = document.getElementById(id).tkdWidget, up = w.update;
    w.update = function (u) { __w[id].push(u.data.n); return up.call(this, u); };
  });
});
</script>
</body></html>`

func (h *harness) serveWidgetPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, widgetPage, mint(h.t, h.secret, "ev", time.Minute))
}

// publishAcross publishes one event every 100 ms for four token lives, so
// that events are in flight at every expiry and renewal.
func (h *harness) publishAcross() {
	h.t.Helper()
	for end := time.Now().Add(4 * tokenTTL); time.Now().Before(end); {
		h.publish(1)
		time.Sleep(100 * time.Millisecond) // a feed's pace, not a wait for anything
	}
}

// A private topic read with tokens of 3 s from the page's getToken: the
// events published across several expiries arrive once each, in order,
// on each transport, and the client never leaves it. On WebSocket the
// token is renewed in place; SSE streams and polls end with
// token_expired and resume with a new token.
func TestBrowserTokenRenewal(t *testing.T) {
	for _, tc := range []struct {
		name, query, want string
	}{
		{"WebSocket renews in place", "", "ws"},
		{"SSE resumes with a new token", "&nows=1", "sse"},
		{"polling resumes with a new token", "&nows=1&noes=1", "poll"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHarness(t, testSecret)
			ctx := browser(t)
			open(t, ctx, h.url()+"/__test.html?auth=ev"+tc.query)
			h.publishAcross()
			s := deliverAll(t, ctx, h, 5)
			if !slices.Equal(s.Transports, []string{tc.want}) || len(s.Errors) > 0 {
				t.Fatalf("transports %v (want only %s), errors %v, statuses %v", s.Transports, tc.want, s.Errors, s.Statuses)
			}
			mints, conns := h.mints.Load(), h.hits["/v1/"+tc.want].Load()
			t.Logf("%d tokens, %d %s requests, %d events", mints, conns, tc.want, len(s.Events))
			if mints < 4 {
				t.Fatalf("only %d tokens asked for over four token lives", mints)
			}
			if tc.want == "ws" && mints-conns < 3 {
				t.Fatalf("%d tokens over %d WebSocket connections: not renewed in place", mints, conns)
			}
			if tc.want == "sse" && conns < 3 {
				t.Fatalf("%d SSE streams over four token lives: the expiry never ended one", conns)
			}
		})
	}
}

// A renewal the gateway refuses (getToken's second token is garbage) is
// taken as an expiry: the page is told, and the client reconnects at once
// with a new token and its cursor.
func TestBrowserTokenRenewalRefused(t *testing.T) {
	h := startHarness(t, testSecret)
	ctx := browser(t)
	open(t, ctx, h.url()+"/__test.html?auth=ev&bad=2")
	h.publishAcross()
	s := deliverAll(t, ctx, h, 5)
	if !slices.Equal(s.Errors, []string{"unauthorized"}) || !slices.Equal(s.Transports, []string{"ws"}) {
		t.Fatalf("errors %v (want one unauthorized), transports %v (want only ws)", s.Errors, s.Transports)
	}
	if n := h.hits["/v1/ws"].Load(); n != 2 {
		t.Fatalf("%d WebSocket connections, want 2: the first, and one after the refused renewal", n)
	}
}

// WebSocket is refused at first: the client reads the private topic over
// SSE, climbs back to a WebSocket with a new token, and renews it there in
// place; no gap, no repeat.
func TestBrowserTokenClimbsBackToWebSocket(t *testing.T) {
	h := startHarness(t, testSecret)
	h.blockWS.Store(true)
	ctx := browser(t)
	if s := open(t, ctx, h.url()+"/__test.html?auth=ev&probe=500"); s.Transport != "sse" {
		t.Fatalf("with WebSocket blocked: %q", s.Transport)
	}
	deliverAll(t, ctx, h, 10)
	h.blockWS.Store(false)
	await(t, ctx, "the climb back to WebSocket", func(s state) bool { return s.Transport == "ws" })
	ws0, m0 := h.hits["/v1/ws"].Load(), h.mints.Load()
	h.publishAcross()
	s := deliverAll(t, ctx, h, 5)
	if s.Transport != "ws" || len(s.Errors) > 0 {
		t.Fatalf("transport %q (want ws), errors %v", s.Transport, s.Errors)
	}
	ws, m := h.hits["/v1/ws"].Load()-ws0, h.mints.Load()-m0
	t.Logf("after the climb: %d tokens, %d more WebSocket connections", m, ws)
	if m < 3 || ws >= m {
		t.Fatalf("after the climb, %d tokens over %d more WebSocket connections: not renewed in place", m, ws)
	}
}

// The widget with a getToken hook (data-tickerd-get-token) and the widget
// with a static data-tickerd-token both get every event, the first across
// several renewals.
func TestBrowserWidgetTokens(t *testing.T) {
	h := startHarness(t, testSecret)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url()+"/__widget.html")); err != nil {
		t.Fatal(err)
	}
	type widgets struct {
		Hook   []int `json:"hook"`
		Static []int `json:"static"`
		Dots   []string
	}
	read := func() widgets {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({hook: __w.hook, static: __w.static,
			Dots: ["hook", "static"].map(function (id) { return document.getElementById(id).shadowRoot.querySelector(".tkd-dot").className; })})`))
		if err != nil {
			t.Fatal(err)
		}
		var w widgets
		if err := json.Unmarshal([]byte(raw), &w); err != nil {
			t.Fatal(err)
		}
		return w
	}
	awaitWidgets := func(what string, cond func(widgets) bool) widgets {
		deadline := time.Now().Add(30 * time.Second)
		for {
			w := read()
			if cond(w) {
				return w
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %+v", what, w)
			}
			time.Sleep(50 * time.Millisecond) // the page's state is read by polling
		}
	}
	live := func(w widgets) bool {
		return strings.HasSuffix(w.Dots[0], "tkd-on") && strings.HasSuffix(w.Dots[1], "tkd-on")
	}
	awaitWidgets("both widgets live on WebSocket", live)
	h.publishAcross()
	last := h.next - 1
	w := awaitWidgets(fmt.Sprintf("event %d in both", last), func(w widgets) bool {
		return len(w.Hook) > 0 && w.Hook[len(w.Hook)-1] >= last && len(w.Static) > 0 && w.Static[len(w.Static)-1] >= last
	})
	checkEvents(t, state{Events: w.Hook}, last)
	checkEvents(t, state{Events: w.Static}, last)
	if !live(w) {
		t.Fatalf("a widget is not live on WebSocket: %v", w.Dots)
	}
	if m := h.mints.Load(); m < 4 {
		t.Fatalf("the hook was asked for %d tokens over four token lives", m)
	}
}

// A private topic without a token, or with one that does not grant it:
// the page is told unauthorized or forbidden, and the client backs off
// rather than hammering the gateway.
func TestBrowserTokenRefused(t *testing.T) {
	for _, tc := range []struct {
		name, query, want string
	}{
		{"no token", "", "unauthorized"},
		{"a token without the grant", "&auth=other", "forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHarness(t, testSecret)
			ctx := browser(t)
			if err := chromedp.Do(ctx, chromedp.Navigate(h.url()+"/__test.html?maxb=2000"+tc.query)); err != nil {
				t.Fatal(err)
			}
			await(t, ctx, "three "+tc.want+" errors", func(s state) bool { return len(s.Errors) >= 3 })
			requests := func() int64 {
				return h.hits["/v1/ws"].Load() + h.hits["/v1/sse"].Load() + h.hits["/v1/poll"].Load()
			}
			before := requests()
			// No event marks "not hammering": count the requests of a while.
			window := 6 * time.Second
			time.Sleep(window)
			n := requests() - before
			s := read(t, ctx)
			t.Logf("%d requests in %v; errors %v", n, window, s.Errors)
			for _, e := range s.Errors {
				if e != tc.want {
					t.Fatalf("errors %v, want only %s", s.Errors, tc.want)
				}
			}
			if len(s.Events) > 0 || slices.ContainsFunc(s.Statuses, func(st string) bool { return strings.HasPrefix(st, "open/") }) {
				t.Fatalf("the page got in: statuses %v, events %v", s.Statuses, s.Events)
			}
			// A round is three requests (ws, sse, poll); backing off up to
			// 2 s, about one round a second. Not backing off would be
			// hundreds; giving up, none.
			if n > 45 || n == 0 {
				t.Fatalf("%d requests in %v: want some, and at most 15 rounds", n, window)
			}
		})
	}
}
