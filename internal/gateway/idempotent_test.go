package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// publishKeyed posts body with an Idempotency-Key header (none when key
// is empty) and returns the status and the decoded answer.
func publishKeyed(t *testing.T, base, key, body string) (int, publishAnswer, string) {
	t.Helper()
	req := mustRequest(t, http.MethodPost, base+"/v1/publish")
	req.Body = io.NopCloser(strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	code, resp := do(t, req)
	var a publishAnswer
	if code == http.StatusOK {
		if err := json.Unmarshal([]byte(resp), &a); err != nil {
			t.Fatalf("publish answer %q: %v", resp, err)
		}
	}
	return code, a, resp
}

type publishAnswer struct {
	Published int    `json:"published"`
	Duplicate int    `json:"duplicate"`
	Cursor    string `json:"cursor"`
}

// The same update published twice with one key, as an "id" or as an
// Idempotency-Key header, is stored and delivered once; the second answer
// says it was a duplicate and gives the first one's cursor.
func TestPublishIdempotent(t *testing.T) {
	g, srv := testGateway(t, Config{})
	ws := dialWS(t, srv.URL, "?topics=ev.>")
	ws.expect("hello")
	ws.expect("snapshot")

	for _, tt := range []struct{ name, key, body string }{
		{"id", "", `{"id":"order-1","topic":"ev.a","kind":"event","data":{"n":1}}`},
		{"header", "order-2", `{"topic":"ev.a","kind":"event","data":{"n":2}}`},
		{"both, the same", "order-3", `{"id":"order-3","topic":"ev.a","kind":"event","data":{"n":3}}`},
	} {
		code, first, resp := publishKeyed(t, srv.URL, tt.key, tt.body)
		if code != 200 || first.Published != 1 || first.Duplicate != 0 || strings.Contains(resp, "duplicate") {
			t.Fatalf("%s: first publish %d %s", tt.name, code, resp)
		}
		code, second, resp := publishKeyed(t, srv.URL, tt.key, tt.body)
		if code != 200 || second.Published != 1 || second.Duplicate != 1 || second.Cursor != first.Cursor {
			t.Fatalf("%s: second publish %d %s, want duplicate 1 and cursor %s", tt.name, code, resp, first.Cursor)
		}
	}
	// In a batch, the duplicates are counted and the new one stored.
	code, a, resp := publishKeyed(t, srv.URL, "", `[{"id":"order-1","topic":"ev.a","kind":"event","data":{"n":1}},
		{"id":"order-4","topic":"ev.a","kind":"event","data":{"n":4}}]`)
	if code != 200 || a.Published != 2 || a.Duplicate != 1 {
		t.Fatalf("batch with a duplicate: %d %s", code, resp)
	}
	mustPublish(t, srv.URL, `{"topic":"ev.end","kind":"event","data":{"n":0}}`)

	var got []int
	for {
		u := ws.expect("update")
		if u.Topic == "ev.end" {
			break
		}
		var d struct{ N int }
		if err := json.Unmarshal(u.Data, &d); err != nil {
			t.Fatal(err)
		}
		got = append(got, d.N)
	}
	if len(got) != 4 || got[0] != 1 || got[1] != 2 || got[2] != 3 || got[3] != 4 {
		t.Fatalf("delivered %v, want [1 2 3 4] once each", got)
	}
	if _, last, err := g.Stream().Bounds(t.Context()); err != nil || last != 5 {
		t.Fatalf("stream ends at %d (%v), want 5: four keyed updates and the end marker", last, err)
	}
}

// The Idempotency-Key header names one update: refused with a body of
// several, a bad key, or one that differs from the update's own id.
func TestPublishIdempotencyKeyRefusals(t *testing.T) {
	g, srv := testGateway(t, Config{})
	one := `{"topic":"ev.a","kind":"event","data":1}`
	for _, tt := range []struct{ name, key, body string }{
		{"several updates", "k", "[" + one + "," + one + "]"},
		{"ndjson", "k", one + "\n" + one},
		{"a space", "a b", one},
		{"too long", strings.Repeat("k", 129), one},
		{"differs from the id", "k", `{"id":"j","topic":"ev.a","kind":"event","data":1}`},
		{"a bad id in the body", "", `{"id":"","topic":"ev.a","kind":"event","data":1}`},
	} {
		code, _, resp := publishKeyed(t, srv.URL, tt.key, tt.body)
		if code != 400 || !strings.Contains(resp, `"code":"bad_request"`) {
			t.Errorf("%s: %d %s, want 400 bad_request", tt.name, code, resp)
		}
	}
	if _, last, _ := g.Stream().Bounds(t.Context()); last != 0 {
		t.Errorf("refused publishes stored %d updates", last)
	}
}
