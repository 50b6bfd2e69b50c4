package poll_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/hubtest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/poll"
)

// fixture is a real hub over a real JetStream stream on an embedded NATS
// server, with the poll handler served on loopback.
type fixture struct {
	t   *testing.T
	hub *transport.Hub
	st  *stream.Stream
	srv *httptest.Server
	// arrived receives a value when a request reaches the handler.
	arrived chan struct{}
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func newFixture(t *testing.T, hopts transport.Options, popts poll.Options) *fixture {
	t.Helper()
	hub, st := hubtest.Start(t, hopts)
	if popts.Logger == nil {
		popts.Logger = discard
	}
	h := poll.New(hub, popts)
	f := &fixture{t: t, hub: hub, st: st, arrived: make(chan struct{}, 16)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case f.arrived <- struct{}{}:
		default:
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// publish stores an update and waits until the hub has routed it.
func (f *fixture) publish(topic string, kind message.Kind, data string) uint64 {
	return hubtest.Publish(f.t, f.hub, f.st, topic, kind, data)
}

// cursor is the wire form of the position just after seq.
func (f *fixture) cursor(seq uint64) string {
	return message.Cursor{Epoch: f.hub.Epoch(), Seq: seq}.String()
}

// msg is any server message, decoded loosely for assertions.
type msg = hubtest.Msg

// response is a poll's answer: the body decoded as a poll response or as
// an error, whichever it is.
type response struct {
	status   int
	body     string
	Cursor   string          `json:"cursor"`
	Messages json.RawMessage `json:"messages"`
	Error    struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// messages decodes the response's messages.
func (r *response) messages(t *testing.T) []msg {
	t.Helper()
	var ms []msg
	if err := json.Unmarshal(r.Messages, &ms); err != nil || ms == nil {
		t.Fatalf("messages %s: %v", r.Messages, err)
	}
	return ms
}

// get polls with query.
func (f *fixture) get(query string) *response {
	f.t.Helper()
	return get(f.t, f.srv.URL+"/"+query)
}

func get(t *testing.T, url string) *response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Error(err)
		return &response{}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return &response{}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
	}
	r := &response{status: resp.StatusCode, body: strings.TrimSpace(string(b))}
	if err := json.Unmarshal(b, r); err != nil {
		t.Errorf("GET %s: %d %q: %v", url, resp.StatusCode, b, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", url, ct)
	}
	return r
}

// expectError checks that r is an HTTP error with status and code.
func (r *response) expectError(t *testing.T, status int, code string) {
	t.Helper()
	if r.status != status || r.Error.Code != code {
		t.Errorf("got %d %s, want %d %s", r.status, r.body, status, code)
	}
}

// expectOK checks that r is a poll response.
func (r *response) expectOK(t *testing.T) {
	t.Helper()
	if r.status != http.StatusOK || r.Cursor == "" {
		t.Fatalf("got %d %s, want a poll response", r.status, r.body)
	}
}
