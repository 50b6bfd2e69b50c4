package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/internal/hubtest"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/ws"
)

// fixture is a real hub over a real JetStream stream on an embedded NATS
// server, with the WebSocket handler served on loopback.
type fixture struct {
	t   *testing.T
	hub *transport.Hub
	st  *stream.Stream
	srv *httptest.Server
}

// newFixture serves ws.New(hub, wopts) on a loopback httptest server.
func newFixture(t *testing.T, hopts transport.Options, wopts ws.Options) *fixture {
	t.Helper()
	hub, st := hubtest.Start(t, hopts)
	srv := httptest.NewServer(ws.New(hub, wopts))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return &fixture{t: t, hub: hub, st: st, srv: srv}
}

// wsURL is the WebSocket URL of the fixture's server with query appended.
func (f *fixture) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/" + query
}

// publish stores an update and waits until the hub has routed it, so that
// a subscription made afterwards sees it in its snapshot.
func (f *fixture) publish(topic string, kind message.Kind, data string) uint64 {
	return hubtest.Publish(f.t, f.hub, f.st, topic, kind, data)
}

// msg is any server message, decoded loosely for assertions.
type msg = hubtest.Msg

// client reads server messages; one WebSocket message may carry several,
// one per line.
type client struct {
	t       *testing.T
	c       *websocket.Conn
	pending [][]byte
	frames  int // WebSocket messages read
	lines   int // server messages read
}

func (f *fixture) dial(query string) *client {
	f.t.Helper()
	return f.dialWith(query, nil)
}

func (f *fixture) dialWith(query string, opts *websocket.DialOptions) *client {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, f.wsURL(query), opts)
	if err != nil {
		f.t.Fatalf("dial %q: %v", query, err)
	}
	c.SetReadLimit(1 << 24)
	f.t.Cleanup(func() { c.CloseNow() })
	return &client{t: f.t, c: c}
}

// read returns the next server message, or the error that ended the
// connection (a websocket.CloseError when the server closed it).
func (c *client) read(timeout time.Duration) (msg, error) {
	c.t.Helper()
	for len(c.pending) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		typ, b, err := c.c.Read(ctx)
		cancel()
		if err != nil {
			return msg{}, err
		}
		if typ != websocket.MessageText {
			c.t.Fatalf("server sent a %v message", typ)
		}
		c.frames++
		c.pending = bytes.Split(b, []byte("\n"))
	}
	line := c.pending[0]
	c.pending = c.pending[1:]
	c.lines++
	var m msg
	if err := json.Unmarshal(line, &m); err != nil {
		c.t.Fatalf("server sent a line that is not JSON %q: %v", line, err)
	}
	return m, nil
}

func (c *client) next() msg {
	c.t.Helper()
	m, err := c.read(10 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

// expect reads the next message and checks its type.
func (c *client) expect(typ string) msg {
	c.t.Helper()
	m := c.next()
	if m.Type != typ {
		c.t.Fatalf("got %s message %+v, want %s", m.Type, m, typ)
	}
	return m
}

// send writes one text message.
func (c *client) send(s string) {
	c.t.Helper()
	c.write(websocket.MessageText, []byte(s))
}

func (c *client) write(typ websocket.MessageType, b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, typ, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// expectClose reads until the connection ends and checks it was closed
// with code; it returns the close reason.
func (c *client) expectClose(code websocket.StatusCode) string {
	c.t.Helper()
	for {
		m, err := c.read(10 * time.Second)
		if err == nil {
			if m.Type == "update" || m.Type == "snapshot" {
				continue
			}
			c.t.Fatalf("got %+v while waiting for close %d", m, code)
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("connection ended with %v, want close %d", err, code)
		}
		if ce.Code != code {
			c.t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Reason, code)
		}
		return ce.Reason
	}
}

// serverError is the JSON body of an HTTP error.
type serverError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeHTTPError(t *testing.T, resp *http.Response) serverError {
	t.Helper()
	var e serverError
	if resp.Body == nil {
		t.Fatal("error response has no body")
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	return e
}

// newTightFixture is newFixture with a server socket whose send buffer is
// small (which also turns off the kernel's autotuning of it), so that a
// client that does not read backs the server's writes up after a few KiB
// instead of a few MiB.
func newTightFixture(t *testing.T, hopts transport.Options, wopts ws.Options) *fixture {
	t.Helper()
	hub, st := hubtest.Start(t, hopts)
	srv := httptest.NewUnstartedServer(ws.New(hub, wopts))
	srv.Listener = smallSendBuffer{srv.Listener}
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return &fixture{t: t, hub: hub, st: st, srv: srv}
}

const tinySocketBuffer = 4096

type smallSendBuffer struct{ net.Listener }

func (l smallSendBuffer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(tinySocketBuffer)
	}
	return c, err
}

// tightDial is a dial option whose socket has a small receive buffer;
// loosen gives it a large one again, for reading a backlog quickly.
func tightDial() (opts *websocket.DialOptions, loosen func()) {
	conns := make(chan *net.TCPConn, 1)
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(tinySocketBuffer)
			conns <- tc
		}
		return c, err
	}}
	loosen = func() {
		select {
		case tc := <-conns:
			_ = tc.SetReadBuffer(1 << 20)
		default:
		}
	}
	return &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}}, loosen
}

// publishBatch stores updates of kind on topic with data {"n":from..to-1,
// "pad":pad} and waits until the hub has routed the last.
func (f *fixture) publishBatch(topic string, kind message.Kind, from, to int, pad string) {
	f.t.Helper()
	us := make([]message.Update, 0, to-from)
	for n := from; n < to; n++ {
		us = append(us, message.Update{Topic: topic, Kind: kind, Time: time.Now(),
			Data: json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q}`, n, pad))})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	last, _, err := f.st.PublishBatch(ctx, us)
	if err != nil {
		f.t.Fatalf("publish batch: %v", err)
	}
	if err := f.hub.Await(ctx, last); err != nil {
		f.t.Fatalf("hub never routed %d: %v", last, err)
	}
}

// n reads the "n" of an update's data.
func dataN(t *testing.T, m msg) int {
	t.Helper()
	var d struct {
		N *int `json:"n"`
	}
	if err := json.Unmarshal(m.Data, &d); err != nil || d.N == nil {
		t.Fatalf("update data %s has no n: %v", m.Data, err)
	}
	return *d.N
}

// counter reads a counter of the hub's metrics from reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
