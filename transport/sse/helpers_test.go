package sse_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/hubtest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/sse"
)

// fixture is a real hub over a real JetStream stream on an embedded NATS
// server, with the SSE handler served on loopback.
type fixture struct {
	t      *testing.T
	hub    *transport.Hub
	st     *stream.Stream
	srv    *httptest.Server
	client *http.Client
}

// newFixture serves sse.New(hub, opts) over HTTP/1.1 on loopback.
func newFixture(t *testing.T, hopts transport.Options, opts sse.Options) *fixture {
	t.Helper()
	hub, st := hubtest.Start(t, hopts)
	srv := httptest.NewServer(sse.New(hub, opts))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return &fixture{t: t, hub: hub, st: st, srv: srv, client: srv.Client()}
}

// newHTTP2Fixture serves sse.New(hub, opts) over TLS with HTTP/2.
func newHTTP2Fixture(t *testing.T, hopts transport.Options, opts sse.Options) *fixture {
	t.Helper()
	hub, st := hubtest.Start(t, hopts)
	srv := httptest.NewUnstartedServer(sse.New(hub, opts))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return &fixture{t: t, hub: hub, st: st, srv: srv, client: srv.Client()}
}

// publish stores an update and waits until the hub has routed it.
func (f *fixture) publish(topic string, kind message.Kind, data string) uint64 {
	return hubtest.Publish(f.t, f.hub, f.st, topic, kind, data)
}

// cursor is the wire form of the position just after seq.
func (f *fixture) cursor(seq uint64) string {
	return message.Cursor{Epoch: f.hub.Epoch(), Seq: seq}.String()
}

// get requests query from the handler; the whole exchange, body included,
// is bounded by a deadline so that a stream that stalls fails the test.
func (f *fixture) get(query string, hdr http.Header) *http.Response {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	f.t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+"/"+query, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatalf("GET %s: %v", query, err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// event is one SSE event block (or a comment-only block).
type event struct {
	Retry    string
	Event    string
	ID       *string
	Data     string
	Comments []string
}

// msg is any server message, decoded loosely for assertions.
type msg = hubtest.Msg

// reader parses an event stream.
type reader struct {
	t  *testing.T
	br *bufio.Reader
}

func newReader(t *testing.T, r io.Reader) *reader {
	return &reader{t: t, br: bufio.NewReader(r)}
}

// line returns the next line without its "\n".
func (r *reader) line() (string, error) {
	s, err := r.br.ReadString('\n')
	if err != nil {
		if s != "" && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return s, err
	}
	return strings.TrimSuffix(s, "\n"), nil
}

// event reads lines up to the blank line that ends an event. At the end of
// the stream it returns the error of the read (io.EOF for a clean end).
func (r *reader) event() (event, error) {
	var e event
	for n := 0; ; n++ {
		l, err := r.line()
		if err != nil {
			if n > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return e, err
		}
		if l == "" {
			return e, nil
		}
		field, value, _ := strings.Cut(l, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			e.Comments = append(e.Comments, value)
		case "retry":
			e.Retry = value
		case "event":
			e.Event = value
		case "id":
			e.ID = &value
		case "data":
			if e.Data != "" {
				r.t.Fatalf("event with two data lines: %q and %q", e.Data, value)
			}
			e.Data = value
		default:
			r.t.Fatalf("unknown SSE line %q", l)
		}
	}
}

// expect reads the next event, checks its type and that its data is one
// JSON message of that type, and returns the message.
func (r *reader) expect(typ string) (event, msg) {
	r.t.Helper()
	e, err := r.event()
	if err != nil {
		r.t.Fatalf("reading a %s event: %v", typ, err)
	}
	if e.Event != typ {
		r.t.Fatalf("got event %+v, want %s", e, typ)
	}
	var m msg
	if err := json.Unmarshal([]byte(e.Data), &m); err != nil {
		r.t.Fatalf("%s event data %q: %v", typ, e.Data, err)
	}
	if m.Type != typ {
		r.t.Fatalf("%s event carries a %s message", typ, m.Type)
	}
	return e, m
}

// expectLine reads one line and checks it.
func (r *reader) expectLine(want string) {
	r.t.Helper()
	l, err := r.line()
	if err != nil || l != want {
		r.t.Fatalf("line %q (%v), want %q", l, err, want)
	}
}

// expectUpdate reads an update event, checks its topic and that its id is
// its cursor, and returns it.
func (r *reader) expectUpdate(topic string) msg {
	r.t.Helper()
	e, m := r.expect("update")
	if m.Topic != topic {
		r.t.Fatalf("update on %s, want %s", m.Topic, topic)
	}
	if e.ID == nil || *e.ID != m.Cursor || m.Cursor == "" {
		r.t.Fatalf("update id %v, cursor %q", e.ID, m.Cursor)
	}
	return m
}

// expectEnd checks that the stream ends cleanly now.
func (r *reader) expectEnd() {
	r.t.Helper()
	e, err := r.event()
	if err != io.EOF {
		r.t.Fatalf("after the end: %+v, %v; want a clean end of stream", e, err)
	}
}

// serverError is the JSON body of an HTTP error.
type serverError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}
