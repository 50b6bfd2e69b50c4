package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	"github.com/tickerd/tickerd/message"
)

// checkJSONHeaders fails unless rec carries the headers of every JSON
// response.
func checkJSONHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{ErrBadTopic, 400, "bad_topic"},
		{fmt.Errorf("%w: \"a..b\"", message.ErrBadTopic), 400, "bad_topic"},
		{ErrNoTopics, 400, "bad_request"},
		{ErrUnauthorized.With("no token"), 401, "unauthorized"},
		{fmt.Errorf("ctx: %w", ErrUnauthorized), 401, "unauthorized"},
		{ErrForbidden, 403, "forbidden"},
		{ErrNotFound, 404, "not_found"},
		{ErrMethodNotAllowed, 405, "method_not_allowed"},
		{&http.MaxBytesError{Limit: 1}, 413, "too_large"},
		{ErrShutdown, 503, "shutdown"},
		{ErrNotReady, 503, "unavailable"},
		{errors.New("boom"), 503, "unavailable"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		WriteError(rec, tt.err)
		if rec.Code != tt.status {
			t.Errorf("%v: status %d, want %d", tt.err, rec.Code, tt.status)
		}
		checkJSONHeaders(t, rec)
		var body struct {
			Error *struct {
				Code    *string `json:"code"`
				Message *string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == nil || body.Error.Code == nil || body.Error.Message == nil {
			t.Fatalf("%v: body %s: %v", tt.err, rec.Body, err)
		}
		if *body.Error.Code != tt.code || *body.Error.Message != tt.err.Error() {
			t.Errorf("%v: body %s, want code %s", tt.err, rec.Body, tt.code)
		}
		var top map[string]map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &top)
		if len(top) != 1 || len(top["error"]) != 2 {
			t.Errorf("%v: body has other fields: %s", tt.err, rec.Body)
		}
		auth := rec.Header().Get("WWW-Authenticate")
		if (tt.status == 401) != (auth == `Bearer realm="tickerd"`) || tt.status != 401 && auth != "" {
			t.Errorf("%v: WWW-Authenticate %q", tt.err, auth)
		}
	}
}

func TestWriteSnapshot(t *testing.T) {
	c := message.Cursor{Epoch: 9, Seq: 12}
	items := []*Frame{update("a.b", 10, `{"x":1}`), update("a.c", 11, `[true]`)}
	rec := httptest.NewRecorder()
	WriteSnapshot(rec, c, items)
	checkJSONHeaders(t, rec)
	var body struct {
		Cursor string            `json:"cursor"`
		Items  []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	if body.Cursor != c.String() || len(body.Items) != 2 || string(body.Items[1]) != string(items[1].JSON) {
		t.Errorf("snapshot body %s", rec.Body)
	}
	if keys := objectKeys(t, rec.Body.Bytes()); !slices.Equal(keys, []string{"cursor", "items"}) {
		t.Errorf("snapshot keys %q", keys)
	}

	rec = httptest.NewRecorder()
	WriteSnapshot(rec, c, nil)
	if m := decode(t, rec.Body.Bytes()); fmt.Sprint(m["items"]) != "[]" || m["items"] == nil {
		t.Errorf("empty snapshot: %s", rec.Body)
	}

	// A snapshot larger than a chunk is written in pieces, whole, and as
	// long as it says.
	items = nil
	for i := range 3000 {
		items = append(items, update(fmt.Sprintf("t.%d", i), uint64(i+1), `{"x":1}`))
	}
	for _, n := range []int{0, 1, 2, 3000} {
		rec = httptest.NewRecorder()
		WriteSnapshot(rec, c, items[:n])
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Items) != n {
			t.Fatalf("snapshot of %d: %v, %d items", n, err, len(body.Items))
		}
		if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
			t.Errorf("snapshot of %d: Content-Length %s, body %d bytes", n, cl, rec.Body.Len())
		}
	}
}

func TestWritePoll(t *testing.T) {
	up := update("a.b", 10, `{"x":1}`)
	items := []Item{{Frame: SnapshotFrame(message.Cursor{Epoch: 9, Seq: 9}, true, nil)}, {Frame: up, Merged: 4}}
	rec := httptest.NewRecorder()
	WritePoll(rec, up.Cursor, items)
	checkJSONHeaders(t, rec)
	var body struct {
		Cursor   string           `json:"cursor"`
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	if body.Cursor != string(up.Cursor) || len(body.Messages) != 2 ||
		body.Messages[0]["type"] != "snapshot" || body.Messages[0]["reset"] != true ||
		body.Messages[1]["merged"] != 4.0 || body.Messages[1]["cursor"] != string(up.Cursor) {
		t.Errorf("poll body %s", rec.Body)
	}

	rec = httptest.NewRecorder()
	WritePoll(rec, up.Cursor, nil)
	if m := decode(t, rec.Body.Bytes()); fmt.Sprint(m["messages"]) != "[]" || m["messages"] == nil || m["cursor"] != string(up.Cursor) {
		t.Errorf("empty poll: %s", rec.Body)
	}
}

func TestWritePublished(t *testing.T) {
	c := message.Cursor{Epoch: 1764000000000000000, Seq: 1 << 40}
	rec := httptest.NewRecorder()
	WritePublished(rec, 3, 0, c)
	checkJSONHeaders(t, rec)
	var body struct {
		Published int    `json:"published"`
		Cursor    string `json:"cursor"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	if got, err := message.ParseCursor(body.Cursor); body.Published != 3 || err != nil || got != c {
		t.Errorf("published body %s (cursor %v, %v)", rec.Body, got, err)
	}
	if keys := objectKeys(t, rec.Body.Bytes()); !slices.Equal(keys, []string{"cursor", "published"}) {
		t.Errorf("published keys %q", keys)
	}
	rec = httptest.NewRecorder()
	WritePublished(rec, 3, 2, c)
	var dup struct {
		Published, Duplicate int
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &dup); err != nil || dup.Published != 3 || dup.Duplicate != 2 {
		t.Errorf("published with duplicates: %s", rec.Body)
	}
	if keys := objectKeys(t, rec.Body.Bytes()); !slices.Equal(keys, []string{"cursor", "duplicate", "published"}) {
		t.Errorf("published keys %q", keys)
	}
}

func TestWriteTopics(t *testing.T) {
	for _, tt := range []struct {
		topics []string
		more   bool
		next   string
	}{
		{[]string{"sports.nba.g1", "stocks.AAPL"}, false, ""},
		{[]string{"sports.nba.g1", "stocks.AAPL"}, true, "stocks.AAPL"},
		{[]string{}, false, ""},
	} {
		rec := httptest.NewRecorder()
		WriteTopics(rec, tt.topics, tt.more)
		checkJSONHeaders(t, rec)
		var body map[string]json.RawMessage
		var topics []string
		err := json.Unmarshal(rec.Body.Bytes(), &body)
		if err == nil {
			err = json.Unmarshal(body["topics"], &topics)
		}
		next, hasNext := body["next"]
		if err != nil || rec.Code != 200 || topics == nil || !slices.Equal(topics, tt.topics) ||
			hasNext != (tt.next != "") || hasNext && string(next) != `"`+tt.next+`"` {
			t.Errorf("WriteTopics(%q, %v): %d %s: %v", tt.topics, tt.more, rec.Code, rec.Body, err)
		}
	}
}

func TestWriteStatus(t *testing.T) {
	for _, s := range []string{"ok", "ready"} {
		rec := httptest.NewRecorder()
		WriteStatus(rec, s)
		checkJSONHeaders(t, rec)
		if m := decode(t, rec.Body.Bytes()); rec.Code != 200 || len(m) != 1 || m["status"] != s {
			t.Errorf("WriteStatus(%q): %d %s", s, rec.Code, rec.Body)
		}
	}
}

// objectKeys returns the sorted keys of the JSON object b.
func objectKeys(t *testing.T, b []byte) []string {
	t.Helper()
	m := decode(t, b)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
