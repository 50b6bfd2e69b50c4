package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/wire"
)

const token = "s3cret"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// gateway is a real hub over a real JetStream stream on an embedded NATS
// server, with routers served over HTTP in front of it.
type gateway struct {
	t   *testing.T
	hub *transport.Hub
	st  *stream.Stream
}

// newGateway starts the hub and waits until it has loaded the stream.
func newGateway(t *testing.T, opts transport.Options) *gateway {
	t.Helper()
	st := natstest.Stream(t, natstest.Server(t), stream.Options{Memory: true})
	opts.Logger = quiet
	hub := transport.New(st, opts)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = hub.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	select {
	case <-hub.Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("hub did not load")
	}
	return &gateway{t: t, hub: hub, st: st}
}

// serve mounts api.New with opts (a publish token and quiet logs unless
// set) and returns its base URL.
func (g *gateway) serve(opts api.Options) string {
	if opts.PublishToken == "" {
		opts.PublishToken = token
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.NewRegistry()
	}
	srv := httptest.NewServer(api.New(g.hub, g.st, opts))
	g.t.Cleanup(srv.Close)
	return srv.URL
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// errorCode returns the code of a contract error body, failing the test
// when the body is not one.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var b struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("not an error body (%d): %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q", ct)
	}
	return b.Error.Code
}

func (r response) message(t *testing.T) string {
	t.Helper()
	var b struct{ Error struct{ Message string } }
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Message
}

// wantError fails unless r is the contract error status/code.
func (r response) wantError(t *testing.T, status int, code string) {
	t.Helper()
	if got := r.errorCode(t); r.status != status || got != code {
		t.Errorf("got %d %s (%s), want %d %s", r.status, got, r.body, status, code)
	}
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
}

func do(t *testing.T, method, url string, header http.Header, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func get(t *testing.T, url string) response { return do(t, http.MethodGet, url, nil, nil) }

func bearer(s string) http.Header { return http.Header{"Authorization": {s}} }

// publish posts body with the right token and returns the answer's cursor.
func publish(t *testing.T, base, body string) (n int, cursor string) {
	t.Helper()
	var out struct {
		Published int    `json:"published"`
		Cursor    string `json:"cursor"`
	}
	do(t, http.MethodPost, base+"/v1/publish", bearer("Bearer "+token), strings.NewReader(body)).decode(t, &out)
	return out.Published, out.Cursor
}

type item struct {
	Type, Topic, Kind, Time, Cursor string
	Data                            json.RawMessage
}

type snapshotBody struct {
	Cursor string `json:"cursor"`
	Items  []item `json:"items"`
}

func snapshot(t *testing.T, base, topics string) snapshotBody {
	t.Helper()
	var s snapshotBody
	get(t, base+"/v1/snapshot?topics="+topics).decode(t, &s)
	return s
}

func TestHealth(t *testing.T) {
	g := newGateway(t, transport.Options{})
	base := g.serve(api.Options{})
	var st struct{ Status string }
	if get(t, base+"/healthz").decode(t, &st); st.Status != "ok" {
		t.Errorf("healthz status %q", st.Status)
	}
	if get(t, base+"/readyz").decode(t, &st); st.Status != "ready" {
		t.Errorf("readyz status %q", st.Status)
	}

	notReady := g.serve(api.Options{Ready: func(context.Context) error { return errors.New("NATS is not connected") }})
	r := get(t, notReady+"/readyz")
	r.wantError(t, http.StatusServiceUnavailable, "unavailable")
	if r.message(t) != "NATS is not connected" {
		t.Errorf("readyz message %q", r.message(t))
	}
	if get(t, notReady+"/healthz").decode(t, &st); st.Status != "ok" {
		t.Errorf("healthz while not ready: %q", st.Status)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "tickerd_test_total", Help: "x"}))
	get(t, g.serve(api.Options{Gatherer: reg})+"/metrics").wantError(t, http.StatusNotFound, "not_found")
}

// The admin listener serves /metrics, the health endpoints and the
// profiles, which the public port keeps to itself.
func TestAdmin(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "tickerd_test_total", Help: "x"}))
	srv := httptest.NewServer(api.Admin(api.Options{Gatherer: reg, Ready: func(context.Context) error { return errors.New("loading") }}))
	defer srv.Close()
	m := get(t, srv.URL+"/metrics")
	if m.status != http.StatusOK || !strings.Contains(string(m.body), "tickerd_test_total 0") {
		t.Errorf("metrics %d: %s", m.status, m.body)
	}
	var st struct{ Status string }
	if get(t, srv.URL+"/healthz").decode(t, &st); st.Status != "ok" {
		t.Errorf("healthz status %q", st.Status)
	}
	get(t, srv.URL+"/readyz").wantError(t, http.StatusServiceUnavailable, "unavailable")
	if p := get(t, srv.URL+"/debug/pprof/goroutine?debug=1"); p.status != http.StatusOK || !strings.Contains(string(p.body), "goroutine profile:") {
		t.Errorf("pprof %d: %.200s", p.status, p.body)
	}
	get(t, srv.URL+"/v1/snapshot?topics=a").wantError(t, http.StatusNotFound, "not_found")
}

func TestSnapshot(t *testing.T) {
	g := newGateway(t, transport.Options{})
	base := g.serve(api.Options{})

	for _, tt := range []struct{ query, code string }{
		{"", "bad_request"},
		{"?topics=", "bad_request"},
		{"?topics=,%20,", "bad_request"},
		{"?topics=stocks.AAPL,a..b", "bad_topic"},
		{"?topics=a.%3E.b", "bad_topic"},
	} {
		get(t, base+"/v1/snapshot"+tt.query).wantError(t, http.StatusBadRequest, tt.code)
	}

	if s := snapshot(t, base, "stocks.*"); len(s.Items) != 0 || s.Items == nil {
		t.Errorf("empty snapshot %+v", s)
	}

	_, c := publish(t, base, `{"topic":"stocks.AAPL","kind":"state","data":{ "price" : 189.32 },"time":"2026-11-25T14:03:07.123456Z"}`)
	s := snapshot(t, base, "stocks.*,sports.>")
	if len(s.Items) != 1 {
		t.Fatalf("snapshot after publish: %+v", s)
	}
	it := s.Items[0]
	if it.Type != "update" || it.Topic != "stocks.AAPL" || it.Kind != "state" || string(it.Data) != `{"price":189.32}` ||
		it.Time != "2026-11-25T14:03:07.123Z" || it.Cursor != c {
		t.Errorf("item %+v, want the published update at %s", it, c)
	}
	cur, err := message.ParseCursor(s.Cursor)
	if err != nil || cur.Epoch != g.hub.Epoch() || s.Cursor != c {
		t.Errorf("snapshot cursor %q (%v, %v), want the publish cursor %q", s.Cursor, cur, err, c)
	}
	if s := snapshot(t, base, "sports.>"); len(s.Items) != 0 || s.Cursor != c {
		t.Errorf("snapshot of other topics %+v", s)
	}
}

func TestTopics(t *testing.T) {
	g := newGateway(t, transport.Options{})
	base := g.serve(api.Options{})
	publish(t, base, `{"topic":"stocks.MSFT","kind":"state","data":1}
{"topic":"sports.nba.g1","kind":"state","data":2}
{"topic":"stocks.AAPL","kind":"event","data":3}`)

	for _, tt := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"sports.nba.g1", "stocks.AAPL", "stocks.MSFT"}},
		{"?prefix=stocks.", []string{"stocks.AAPL", "stocks.MSFT"}},
		{"?prefix=stocks.A", []string{"stocks.AAPL"}},
		{"?prefix=stocks.*", []string{}}, // a prefix, not a pattern
		{"?prefix=zzz", []string{}},
		{"?prefix=" + strings.Repeat("s", 255), []string{}},
	} {
		var body struct{ Topics []string }
		get(t, base+"/v1/topics"+tt.prefix).decode(t, &body)
		if body.Topics == nil || !slices.Equal(body.Topics, tt.want) {
			t.Errorf("topics%s = %q, want %q", tt.prefix, body.Topics, tt.want)
		}
	}
	get(t, base+"/v1/topics?prefix="+strings.Repeat("s", 256)).wantError(t, http.StatusBadRequest, "bad_topic")
	get(t, base+"/v1/topics?after="+strings.Repeat("s", 256)).wantError(t, http.StatusBadRequest, "bad_topic")
	for _, limit := range []string{"0", "-1", "x", "1.5"} {
		get(t, base+"/v1/topics?limit="+limit).wantError(t, http.StatusBadRequest, "bad_request")
	}
}

// /v1/topics pages with limit and after; "next" names the last topic of a
// page when more follow, and is what after takes.
func TestTopicsPages(t *testing.T) {
	g := newGateway(t, transport.Options{})
	base := g.serve(api.Options{})
	var body strings.Builder
	var want []string
	for i := range 25 {
		topic := fmt.Sprintf("t.%02d", i)
		want = append(want, topic)
		fmt.Fprintf(&body, `{"topic":%q,"kind":"state","data":1}`+"\n", topic)
	}
	publish(t, base, body.String()+`{"topic":"u.1","kind":"state","data":1}`)
	type page struct {
		Topics []string `json:"topics"`
		Next   *string  `json:"next"`
	}
	var got []string
	after := ""
	for pages := 1; ; pages++ {
		var p page
		get(t, base+"/v1/topics?prefix=t.&limit=10&after="+after).decode(t, &p)
		got = append(got, p.Topics...)
		if p.Next == nil {
			if pages != 3 || len(p.Topics) != 5 {
				t.Errorf("last page %d: %q", pages, p.Topics)
			}
			break
		}
		if len(p.Topics) != 10 || *p.Next != p.Topics[9] || pages > 3 {
			t.Fatalf("page %d: %q next %q", pages, p.Topics, *p.Next)
		}
		after = *p.Next
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages held %q", got)
	}
	// The default page is 1000 topics; a limit past 10,000 is 10,000.
	var p page
	get(t, base+"/v1/topics?limit=1000000").decode(t, &p)
	if len(p.Topics) != 26 || p.Next != nil {
		t.Errorf("one page of everything: %q, next %v", p.Topics, p.Next)
	}
}

// The REST snapshot holds at most MaxSnapshot topics and MaxTopics
// patterns.
func TestSnapshotLimits(t *testing.T) {
	g := newGateway(t, transport.Options{MaxSnapshot: 3, MaxTopics: 4})
	base := g.serve(api.Options{})
	publish(t, base, `[{"topic":"a.1","kind":"state","data":1},{"topic":"a.2","kind":"state","data":1},
{"topic":"a.3","kind":"state","data":1},{"topic":"a.4","kind":"state","data":1}]`)
	if s := snapshot(t, base, "a.1,a.2,a.3"); len(s.Items) != 3 {
		t.Errorf("three of three: %+v", s)
	}
	for _, topics := range []string{"%3E", "a.*", "a.1,a.2,a.3,a.4"} {
		r := get(t, base+"/v1/snapshot?topics="+topics)
		r.wantError(t, http.StatusBadRequest, "too_many_matches")
		if !strings.Contains(r.message(t), "more than 3") {
			t.Errorf("message %q", r.message(t))
		}
	}
	get(t, base+"/v1/snapshot?topics=b.1,b.2,b.3,b.4,b.5").wantError(t, http.StatusBadRequest, "too_many_topics")
}

func TestRouting(t *testing.T) {
	g := newGateway(t, transport.Options{})
	base := g.serve(api.Options{})
	for _, tt := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/nope", 404, "not_found"},
		{"GET", "/v1", 404, "not_found"},
		{"GET", "/nope", 404, "not_found"}, // no static handler
		{"GET", "/v1/publish", 405, "method_not_allowed"},
		{"PUT", "/v1/publish", 405, "method_not_allowed"},
		{"POST", "/v1/snapshot", 405, "method_not_allowed"},
		{"DELETE", "/v1/topics", 405, "method_not_allowed"},
		{"POST", "/healthz", 405, "method_not_allowed"},
	} {
		r := do(t, tt.method, base+tt.path, nil, nil)
		r.wantError(t, tt.status, tt.code)
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", tt.method, tt.path, cc)
		}
	}

	static := g.serve(api.Options{Static: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "static "+r.URL.Path)
	})})
	if r := get(t, static+"/ticker.js"); r.status != 200 || string(r.body) != "static /ticker.js" {
		t.Errorf("static: %d %s", r.status, r.body)
	}
	get(t, static+"/v1/nope").wantError(t, 404, "not_found")
}

// Endpoints passed in Options.Transports are mounted at their paths, and
// only the CrossOrigin ones get CORS.
func TestEndpointsAndCORS(t *testing.T) {
	g := newGateway(t, transport.Options{})
	stub := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, name+" "+r.URL.RawQuery)
		})
	}
	base := g.serve(api.Options{Transports: []api.Endpoint{
		{Path: "/v1/sse", CrossOrigin: true, Handler: stub("sse")},
		{Path: "/v1/ws", Handler: stub("ws")},
	}})
	origin := http.Header{"Origin": {"https://news.example"}}

	for path, want := range map[string]string{"/v1/sse?topics=a": "sse topics=a", "/v1/ws?topics=b": "ws topics=b"} {
		if r := do(t, "GET", base+path, origin, nil); r.status != 200 || string(r.body) != want {
			t.Errorf("GET %s: %d %q, want %q", path, r.status, r.body, want)
		}
	}
	for path, cross := range map[string]bool{
		"/v1/sse": true, "/v1/snapshot?topics=a": true, "/v1/topics": true,
		"/v1/ws": false, "/healthz": false,
	} {
		r := do(t, "GET", base+path, origin, nil)
		if got := r.header.Get("Access-Control-Allow-Origin"); (got == "*") != cross || !cross && got != "" {
			t.Errorf("GET %s from another origin: Access-Control-Allow-Origin %q, want CORS %v", path, got, cross)
		}
	}
	pub := do(t, "POST", base+"/v1/publish", http.Header{"Origin": origin["Origin"], "Authorization": {"Bearer " + token}},
		strings.NewReader(`{"topic":"a","kind":"state","data":1}`))
	if pub.status != 200 || pub.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("publish from another origin: %d, Access-Control-Allow-Origin %q", pub.status, pub.header.Get("Access-Control-Allow-Origin"))
	}

	// A browser's preflight is answered by the CORS middleware (200, as
	// protocol.md section 6 says); an OPTIONS that is not a preflight gets
	// the route's own 204.
	preflight := http.Header{"Origin": origin["Origin"], "Access-Control-Request-Method": {"GET"},
		"Access-Control-Request-Headers": {"Last-Event-ID"}}
	for _, path := range []string{"/v1/sse", "/v1/snapshot", "/v1/topics"} {
		r := do(t, "OPTIONS", base+path, preflight, nil)
		h := r.header
		if r.status != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Methods") != "GET" ||
			h.Get("Access-Control-Max-Age") != "600" || !strings.EqualFold(h.Get("Access-Control-Allow-Headers"), "Last-Event-ID") {
			t.Errorf("preflight %s: %d %v", path, r.status, h)
		}
		if r := do(t, "OPTIONS", base+path, nil, nil); r.status != http.StatusNoContent {
			t.Errorf("OPTIONS %s: %d, want 204", path, r.status)
		}
	}
	for _, path := range []string{"/v1/ws", "/v1/publish"} {
		if r := do(t, "OPTIONS", base+path, preflight, nil); r.header.Get("Access-Control-Allow-Origin") != "" || r.status < 400 {
			t.Errorf("preflight %s: %d %v, want no CORS", path, r.status, r.header)
		}
	}
}

func TestAllowedOrigins(t *testing.T) {
	g := newGateway(t, transport.Options{})
	base := g.serve(api.Options{AllowedOrigins: []string{"https://example.com", "https://*.example.org"}})
	for origin, allowed := range map[string]bool{
		"https://example.com":   true,
		"https://a.example.org": true,
		"http://a.example.org":  false,
		"https://evil.example":  false,
	} {
		r := do(t, "GET", base+"/v1/topics", http.Header{"Origin": {origin}}, nil)
		got := r.header.Get("Access-Control-Allow-Origin")
		if r.status != 200 || (got == origin) != allowed || !allowed && got != "" {
			t.Errorf("origin %s: %d, Access-Control-Allow-Origin %q, want allowed %v", origin, r.status, got, allowed)
		}
		if allowed && !slices.Contains(r.header.Values("Vary"), "Origin") {
			t.Errorf("origin %s: Vary %q", origin, r.header.Values("Vary"))
		}
	}
}

// The hub's Authorizer decides what a snapshot may read.
func TestSnapshotAuthorization(t *testing.T) {
	var mu sync.Mutex
	var seen []string // the patterns of the last request
	deny := transport.AuthorizerFunc(func(_ context.Context, p transport.Principal, patterns []string) error {
		mu.Lock()
		seen = append(seen[:0], patterns...)
		mu.Unlock()
		for _, pat := range patterns {
			if strings.HasPrefix(pat, "private.") {
				return wire.ErrForbidden.With("not granted: " + pat)
			}
		}
		return nil
	})
	g := newGateway(t, transport.Options{Authorizer: deny})
	base := g.serve(api.Options{})
	publish(t, base, `[{"topic":"private.x","kind":"state","data":1},{"topic":"public.x","kind":"state","data":2}]`)

	for _, topics := range []string{"private.x", "public.x,private.*", "private.>"} {
		r := get(t, base+"/v1/snapshot?topics="+topics)
		r.wantError(t, http.StatusForbidden, "forbidden")
		if !strings.Contains(r.message(t), "not granted: private.") {
			t.Errorf("%s: message %q", topics, r.message(t))
		}
	}
	s := snapshot(t, base, "public.x")
	mu.Lock()
	if len(s.Items) != 1 || s.Items[0].Topic != "public.x" || !slices.Equal(seen, []string{"public.x"}) {
		t.Errorf("public snapshot %+v, authorizer saw %q", s, seen)
	}
	mu.Unlock()
	// ">" matches private topics too, but it is the authorizer's call.
	if s := snapshot(t, base, "%3E"); len(s.Items) != 2 {
		t.Errorf("snapshot of > = %+v", s)
	}
}
