package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
)

const oneUpdate = `{"topic":"stocks.AAPL","kind":"state","data":{"price":189.32}}`

func TestPublishAuth(t *testing.T) {
	g := newGateway(t, transport.Options{})
	base := g.serve(api.Options{})
	for _, tt := range []struct {
		auth string // "" sends no Authorization header
		ok   bool
	}{
		{"", false},
		{"Bearer wrong", false},
		{"Bearer " + token + "x", false},
		{"Bearer", false},
		{"Bearer ", false},
		{"Basic " + token, false},
		{token, false},
		{"Bearer " + token, true},
		{"bearer " + token, true},
		{"BEARER " + token, true},
	} {
		var h http.Header
		if tt.auth != "" {
			h = bearer(tt.auth)
		}
		r := do(t, "POST", base+"/v1/publish", h, strings.NewReader(oneUpdate))
		if tt.ok {
			if r.status != http.StatusOK {
				t.Errorf("Authorization %q: %d %s", tt.auth, r.status, r.body)
			}
			continue
		}
		r.wantError(t, http.StatusUnauthorized, "unauthorized")
		if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="tickerd"` {
			t.Errorf("Authorization %q: WWW-Authenticate %q", tt.auth, got)
		}
	}
	// Nothing refused was published.
	if s := snapshot(t, base, "stocks.AAPL"); len(s.Items) != 1 {
		t.Errorf("snapshot %+v", s)
	}
}

// Without a configured token every publish is refused, even an empty
// bearer.
func TestPublishNoToken(t *testing.T) {
	g := newGateway(t, transport.Options{})
	h := api.New(g.hub, g.st, api.Options{Logger: quiet})
	for _, auth := range []string{"", "Bearer ", "Bearer x"} {
		rec := newRecorder(h, "POST", "/v1/publish", bearer(auth), oneUpdate)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"unauthorized"`) {
			t.Errorf("no token configured, Authorization %q: %d %s", auth, rec.Code, rec.Body)
		}
	}
}

func TestPublishRefusals(t *testing.T) {
	g := newGateway(t, transport.Options{})
	base := g.serve(api.Options{})
	big := `"` + strings.Repeat("x", 64<<10) + `"`
	for _, tt := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"empty", "", 400, "bad_request"},
		{"blank", " \n\t", 400, "bad_request"},
		{"malformed", `{"topic":`, 400, "bad_request"},
		{"scalar", `42`, 400, "bad_request"},
		{"trailing data", `[` + oneUpdate + `] x`, 400, "bad_request"},
		{"no data", `{"topic":"a","kind":"state"}`, 400, "bad_request"},
		{"null data", `{"topic":"a","kind":"state","data":null}`, 400, "bad_request"},
		{"bad time", `{"topic":"a","kind":"state","data":1,"time":"yesterday"}`, 400, "bad_request"},
		{"no kind", `{"topic":"a","data":1}`, 400, "bad_kind"},
		{"bad kind", `{"topic":"a","kind":"delta","data":1}`, 400, "bad_kind"},
		{"wildcard topic", `{"topic":"stocks.*","kind":"state","data":1}`, 400, "bad_topic"},
		{"gt topic", `{"topic":"stocks.>","kind":"state","data":1}`, 400, "bad_topic"},
		{"bad topic in a batch", `[` + oneUpdate + `,{"topic":"a..b","kind":"state","data":1}]`, 400, "bad_topic"},
		{"data too big", `{"topic":"a","kind":"state","data":` + big + `}`, 413, "too_large"},
		{"too many", "[" + strings.Repeat(oneUpdate+",", 1000) + oneUpdate + "]", 413, "too_large"},
	} {
		r := do(t, "POST", base+"/v1/publish", bearer("Bearer "+token), strings.NewReader(tt.body))
		if code := r.errorCode(t); r.status != tt.status || code != tt.code {
			t.Errorf("%s: %d %s (%s), want %d %s", tt.name, r.status, code, r.message(t), tt.status, tt.code)
		}
	}
	// A refused body publishes nothing, not even its good updates.
	if s := snapshot(t, base, "%3E"); len(s.Items) != 0 {
		t.Errorf("refused bodies published %+v", s.Items)
	}
}

func TestPublishBodyLimit(t *testing.T) {
	const limit = 1024
	g := newGateway(t, transport.Options{})
	base := g.serve(api.Options{MaxBody: limit})
	update := func(n int) string { // one update of n bytes of JSON
		head, tail := `{"topic":"a.b","kind":"state","data":"`, `"}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	auth := bearer("Bearer " + token)

	if r := do(t, "POST", base+"/v1/publish", auth, strings.NewReader(update(limit))); r.status != 200 {
		t.Errorf("a body of exactly the limit: %d %s", r.status, r.body)
	}

	// With Content-Length, the body is refused before it is read.
	r := do(t, "POST", base+"/v1/publish", auth, strings.NewReader(update(limit+1)))
	r.wantError(t, http.StatusRequestEntityTooLarge, "too_large")

	// Chunked, it is refused when reading passes the limit. (io.MultiReader
	// hides the length, so the client sends no Content-Length.)
	r = do(t, "POST", base+"/v1/publish", auth, io.MultiReader(strings.NewReader(update(4*limit))))
	r.wantError(t, http.StatusRequestEntityTooLarge, "too_large")
	if msg := r.message(t); !strings.Contains(msg, fmt.Sprint(limit)) {
		t.Errorf("chunked oversize message %q does not name the limit", msg)
	}
	r = do(t, "POST", base+"/v1/publish", auth, io.MultiReader(strings.NewReader(update(limit-10)+"\n"+update(limit-10))))
	r.wantError(t, http.StatusRequestEntityTooLarge, "too_large")

	if s := snapshot(t, base, "a.b"); len(s.Items) != 1 || len(s.Items[0].Data) != limit-len(`{"topic":"a.b","kind":"state","data":}`) {
		t.Errorf("after the oversize bodies: %+v", s)
	}
}

// Every body format publishes in order, and a snapshot taken after the
// answer holds what was published at the answer's cursor.
func TestPublishFormats(t *testing.T) {
	g := newGateway(t, transport.Options{})
	base := g.serve(api.Options{})
	for _, tt := range []struct {
		name, body string
		n          int
		last       string // the data of the last update
	}{
		{"object", `{"topic":"f.obj","kind":"event","data":{"goal":1},"extra":"ignored"}`, 1, `{"goal":1}`},
		{"array", ` [{"topic":"f.arr","kind":"state","data":1}, {"topic":"f.arr","kind":"state","data":[ 2 ]}]`, 2, `[2]`},
		{"ndjson", "{\"topic\":\"f.nd\",\"kind\":\"state\",\"data\":\"a\"}\n{\"topic\":\"f.nd\",\"kind\":\"state\",\"data\":\"b\"}\n", 2, `"b"`},
		{"concatenated", `{"topic":"f.cat","kind":"state","data":1}{"topic":"f.cat","kind":"state","data":true}`, 2, `true`},
	} {
		n, c := publish(t, base, tt.body)
		cur, err := message.ParseCursor(c)
		if n != tt.n || err != nil || cur.Epoch != g.hub.Epoch() {
			t.Errorf("%s: published %d, cursor %q (%v), want %d", tt.name, n, c, err, tt.n)
			continue
		}
		s := snapshot(t, base, "f.>")
		if s.Cursor != c {
			t.Errorf("%s: snapshot cursor %s, publish cursor %s", tt.name, s.Cursor, c)
		}
		var found bool
		for _, it := range s.Items {
			if it.Cursor == c {
				found = true
				if string(it.Data) != tt.last {
					t.Errorf("%s: last update data %s, want %s", tt.name, it.Data, tt.last)
				}
			}
		}
		if !found {
			t.Errorf("%s: snapshot %+v has no update at %s", tt.name, s.Items, c)
		}
	}
	var topics struct{ Topics []string }
	get(t, base+"/v1/topics?prefix=f.").decode(t, &topics)
	if strings.Join(topics.Topics, ",") != "f.arr,f.cat,f.nd,f.obj" {
		t.Errorf("topics %q", topics.Topics)
	}
}

func newRecorder(h http.Handler, method, path string, header http.Header, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// A body that would take the gateway past MaxKnownTopics is refused whole
// with 507; one of known topics still publishes at the cap.
func TestPublishTopicCapacity(t *testing.T) {
	g := newGateway(t, transport.Options{MaxKnownTopics: 2})
	base := g.serve(api.Options{})
	publish(t, base, `{"topic":"a.1","kind":"state","data":1}`)
	r := do(t, "POST", base+"/v1/publish", bearer("Bearer "+token),
		strings.NewReader(`[{"topic":"a.1","kind":"state","data":2},{"topic":"a.2","kind":"state","data":2},{"topic":"a.3","kind":"state","data":2}]`))
	r.wantError(t, http.StatusInsufficientStorage, "topic_capacity")
	if s := snapshot(t, base, "a.*"); len(s.Items) != 1 || string(s.Items[0].Data) != "1" {
		t.Errorf("a refused body published: %+v", s.Items)
	}
	publish(t, base, `[{"topic":"a.1","kind":"state","data":3},{"topic":"a.2","kind":"state","data":3}]`)
	publish(t, base, `{"topic":"a.2","kind":"state","data":4}`)
	do(t, "POST", base+"/v1/publish", bearer("Bearer "+token), strings.NewReader(`{"topic":"a.3","kind":"state","data":1}`)).
		wantError(t, http.StatusInsufficientStorage, "topic_capacity")
}
