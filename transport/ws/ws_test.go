package ws_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/wire"
	"github.com/tickerd/tickerd/transport/ws"
)

// The first message tells the client the transport, the heartbeat in whole
// seconds (rounded up) and the limits it is held to.
func TestHello(t *testing.T) {
	f := newFixture(t, transport.Options{QueueSize: 9, MaxTopics: 7},
		ws.Options{Heartbeat: 1500 * time.Millisecond, MaxFrame: 1000})
	c := f.dial("")
	h := c.expect("hello")
	if h.Transport != "ws" || h.Heartbeat != 2 {
		t.Errorf("hello transport %q heartbeat %d, want ws 2", h.Transport, h.Heartbeat)
	}
	want := map[string]int{"max_topics": 7, "queue": 9, "max_frame": 1000}
	for k, v := range want {
		if h.Limits[k] != v {
			t.Errorf("hello limits.%s = %d, want %d (limits %v)", k, h.Limits[k], v, h.Limits)
		}
	}
	if c.frames != 1 || c.lines != 1 {
		t.Errorf("hello came with other messages: %d lines in %d messages", c.lines, c.frames)
	}
}

// Topics in the URL get a snapshot of their latest values, then live
// updates that continue after the snapshot's cursor.
func TestURLTopicsSnapshotThenLive(t *testing.T) {
	f := newFixture(t, transport.Options{}, ws.Options{})
	f.publish("stocks.AAPL", message.State, `{"p":1}`)
	f.publish("stocks.AAPL", message.State, `{"p":2}`)
	f.publish("stocks.MSFT", message.State, `{"p":3}`)
	f.publish("sports.nba.g1", message.State, `{"s":0}`)

	c := f.dial("?topics=stocks.*")
	c.expect("hello")
	s := c.expect("snapshot")
	if s.Reset || s.Cursor == "" {
		t.Fatalf("snapshot reset %v cursor %q", s.Reset, s.Cursor)
	}
	if len(s.Items) != 2 || s.Items[0].Topic != "stocks.AAPL" || string(s.Items[0].Data) != `{"p":2}` ||
		s.Items[1].Topic != "stocks.MSFT" || string(s.Items[1].Data) != `{"p":3}` {
		t.Fatalf("snapshot items %+v, want the latest AAPL and MSFT", s.Items)
	}
	for _, it := range s.Items {
		if it.Type != "update" || it.Kind != "state" || it.Cursor == "" || it.Time == "" {
			t.Errorf("snapshot item %+v", it)
		}
	}

	seq := f.publish("stocks.TSLA", message.Event, `{"trade":1}`)
	u := c.expect("update")
	if u.Topic != "stocks.TSLA" || u.Kind != "event" || string(u.Data) != `{"trade":1}` {
		t.Fatalf("live update %+v", u)
	}
	if want := (message.Cursor{Epoch: f.hub.Epoch(), Seq: seq}).String(); u.Cursor != want {
		t.Errorf("update cursor %q, want %q", u.Cursor, want)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", u.Time); err != nil {
		t.Errorf("update time %q: %v", u.Time, err)
	}
}

// A subscribe command's ack echoes its id and comes before the snapshot.
func TestSubscribeAckBeforeSnapshot(t *testing.T) {
	f := newFixture(t, transport.Options{}, ws.Options{})
	f.publish("a.x", message.State, `{"v":1}`)
	f.publish("b.x", message.State, `{"v":2}`)
	c := f.dial("")
	c.expect("hello")

	c.send(`{"type":"subscribe","id":41,"topics":["a.*"]}`)
	if ack := c.expect("ack"); string(ack.ID) != "41" {
		t.Fatalf("ack id %s, want 41", ack.ID)
	}
	if s := c.expect("snapshot"); len(s.Items) != 1 || s.Items[0].Topic != "a.x" {
		t.Fatalf("snapshot after ack %+v", s)
	}

	c.send(`{"type":"subscribe","id":"second","topics":["b.x","a.*"]}`)
	if ack := c.expect("ack"); string(ack.ID) != `"second"` {
		t.Fatalf("ack id %s, want \"second\"", ack.ID)
	}
	// Only the pattern not held before is snapshotted.
	if s := c.expect("snapshot"); len(s.Items) != 1 || s.Items[0].Topic != "b.x" {
		t.Fatalf("second snapshot %+v, want b.x alone", s)
	}
}

// A burst goes out as few messages of several lines each: every line is
// one JSON message, and the updates arrive in order with none missing.
func TestBurstSplitsIntoLines(t *testing.T) {
	// The client reads nothing while the burst is routed and its socket
	// fills, so the server's writer blocks and the rest of the burst
	// waits in the queue, to go out together: batching is certain.
	f := newTightFixture(t, transport.Options{QueueSize: 1024}, ws.Options{})
	dial, loosen := tightDial()
	c := f.dialWith("?topics=burst.>", dial)
	c.expect("hello")
	c.expect("snapshot")

	const n = 300 // some 50 KiB, well over what the sockets hold
	f.publishBatch("burst.e", message.Event, 0, n, "")
	loosen()
	var cursors = map[string]bool{}
	framesBefore, linesBefore := c.frames, c.lines
	for i := range n {
		u := c.expect("update")
		if got := dataN(t, u); got != i {
			t.Fatalf("update %d has n %d: out of order or missing", i, got)
		}
		if cursors[u.Cursor] {
			t.Fatalf("cursor %q repeated", u.Cursor)
		}
		cursors[u.Cursor] = true
	}
	frames, lines := c.frames-framesBefore, c.lines-linesBefore
	t.Logf("%d updates in %d WebSocket messages", lines, frames)
	if frames >= lines {
		t.Errorf("%d updates came in %d messages: a burst queued behind a blocked write is not batched", lines, frames)
	}
	if len(c.pending) != 0 {
		t.Errorf("%d lines left after the burst", len(c.pending))
	}
}

// A binary message is answered with bad_request; the connection stays.
func TestBinaryMessageKeepsConnection(t *testing.T) {
	f := newFixture(t, transport.Options{}, ws.Options{})
	c := f.dial("")
	c.expect("hello")
	c.write(websocket.MessageBinary, []byte(`{"type":"subscribe","id":1,"topics":["a"]}`))
	e := c.expect("error")
	if e.Code != "bad_request" || e.ID != nil {
		t.Fatalf("error %+v, want bad_request without id", e)
	}
	c.send(`{"type":"subscribe","id":2,"topics":["a"]}`)
	if ack := c.expect("ack"); string(ack.ID) != "2" {
		t.Fatalf("ack %+v", ack)
	}
	c.expect("snapshot")
}

// A client message over MaxFrame closes the connection with 1009.
func TestOversizedMessageCloses1009(t *testing.T) {
	f := newFixture(t, transport.Options{}, ws.Options{MaxFrame: 256})
	c := f.dial("")
	if h := c.expect("hello"); h.Limits["max_frame"] != 256 {
		t.Fatalf("hello %+v", h)
	}
	// Exactly MaxFrame is allowed.
	cmd := `{"type":"subscribe","id":1,"topics":["a"]}`
	c.send(cmd + strings.Repeat(" ", 256-len(cmd)))
	c.expect("ack")
	c.expect("snapshot")

	c.send(`{"type":"subscribe","id":2,"topics":["` + strings.Repeat("a", 300) + `"]}`)
	c.expectClose(websocket.StatusMessageTooBig)
}

// A bad topic in the URL does not fail the handshake: hello, then an
// error without id, and the connection stays open.
func TestBadURLTopicUpgrades(t *testing.T) {
	f := newFixture(t, transport.Options{MaxTopics: 2}, ws.Options{})
	for _, q := range []struct{ query, code string }{
		{"?topics=a..b", "bad_topic"},
		{"?topics=a&cursor=not-a-cursor", "bad_cursor"},
		{"?topics=a,b,c", "too_many_topics"},
	} {
		c := f.dial(q.query)
		c.expect("hello")
		e := c.expect("error")
		if e.Code != q.code || e.ID != nil || e.Message == "" {
			t.Errorf("%s: error %+v, want %s without id", q.query, e, q.code)
		}
		c.send(`{"type":"subscribe","id":1,"topics":["a"]}`)
		c.expect("ack")
		if s := c.expect("snapshot"); s.Reset {
			t.Errorf("%s: later subscribe got a reset snapshot", q.query)
		}
	}
}

// Shutdown closes every WebSocket with 1012 and a reason, and a connection
// that arrives afterwards is closed the same way without a hello.
func TestShutdownCloses1012(t *testing.T) {
	f := newFixture(t, transport.Options{}, ws.Options{})
	c := f.dial("?topics=a")
	c.expect("hello")
	c.expect("snapshot")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- f.hub.Shutdown(ctx)
	}()
	reason := c.expectClose(websocket.StatusServiceRestart)
	if !strings.Contains(reason, "reconnect") {
		t.Errorf("close reason %q does not tell the client to reconnect", reason)
	}
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}

	late := f.dial("?topics=a")
	_, err := late.read(10 * time.Second)
	if code := websocket.CloseStatus(err); code != websocket.StatusServiceRestart {
		t.Fatalf("connection during shutdown: %v, want close 1012 before any message", err)
	}
}

// A subscriber that does not read while events overflow its queue is
// closed with 4001 after what was already written, and resumes from its
// last cursor with nothing lost.
func TestSlowConsumerCloses4001(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newTightFixture(t, transport.Options{QueueSize: 4, Registerer: reg},
		ws.Options{ReadBuffer: 256})
	dial, _ := tightDial()
	c := f.dialWith("?topics=slow.>", dial)
	c.expect("hello")
	last := c.expect("snapshot").Cursor

	// Publish events the client does not read until its queue overflows.
	pad := strings.Repeat("x", 1024)
	sent := 0
	for counter(t, reg, "tickerd_slow_consumers_total") == 0 {
		if sent >= 100*32 {
			t.Fatalf("no overflow after %d events of %d bytes", sent, len(pad))
		}
		f.publishBatch("slow.e", message.Event, sent, sent+32, pad)
		sent += 32
	}
	// What was written before the overflow arrives in order, then the close.
	got := 0
	for {
		m, err := c.read(10 * time.Second)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4001 {
				t.Fatalf("after %d updates: %v, want close 4001", got, err)
			}
			if ce.Reason != "slow consumer: resume from your cursor" {
				t.Errorf("close reason %q", ce.Reason)
			}
			break
		}
		if m.Type != "update" || dataN(t, m) != got {
			t.Fatalf("message %d: %+v", got, m)
		}
		last = m.Cursor
		got++
	}
	if got >= sent {
		t.Fatalf("all %d events arrived before the close", sent)
	}
	t.Logf("%d of %d events arrived before 4001", got, sent)

	// Resuming from the last cursor read gives the rest, in order.
	r := f.dial("?topics=slow.>&cursor=" + last)
	r.expect("hello")
	for i := got; i < sent; i++ {
		u := r.expect("update")
		if dataN(t, u) != i {
			t.Fatalf("resumed update has n %d, want %d", dataN(t, u), i)
		}
	}
}

// forbidSecret refuses every pattern under "secret", and asks for
// credentials for those under "private".
var forbidSecret = transport.AuthorizerFunc(func(_ context.Context, _ transport.Principal, patterns []string) error {
	for _, p := range patterns {
		if p == ">" || strings.HasPrefix(p, "secret.") {
			return wire.ErrForbidden
		}
		if strings.HasPrefix(p, "private.") {
			return wire.ErrUnauthorized
		}
	}
	return nil
})

// An Authorizer that refuses the URL's topics makes the handshake fail
// with 403 (or 401) before the upgrade; refusing a subscribe command's topics is an
// error with its id, and the connection stays.
func TestAuthorizer(t *testing.T) {
	f := newFixture(t, transport.Options{Authorizer: forbidSecret}, ws.Options{})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, f.wsURL("?topics=public.a,secret.b"), nil)
	if err == nil {
		conn.CloseNow()
		t.Fatal("dial with forbidden topics succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dial with forbidden topics: %v, response %+v, want 403", err, resp)
	}
	if e := decodeHTTPError(t, resp); e.Error.Code != "forbidden" {
		t.Errorf("403 body code %q", e.Error.Code)
	}
	conn, resp, err = websocket.Dial(ctx, f.wsURL("?topics=private.a"), nil)
	if err == nil {
		conn.CloseNow()
		t.Fatal("dial with unauthorized topics succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("dial with unauthorized topics: %v, response %+v, want 401 with WWW-Authenticate", err, resp)
	}

	c := f.dial("?topics=public.a")
	c.expect("hello")
	c.expect("snapshot")
	c.send(`{"type":"subscribe","id":"s1","topics":["secret.b"]}`)
	e := c.expect("error")
	if e.Code != "forbidden" || string(e.ID) != `"s1"` {
		t.Fatalf("error %+v, want forbidden with id \"s1\"", e)
	}
	c.send(`{"type":"subscribe","id":2,"topics":["public.b"]}`)
	if ack := c.expect("ack"); string(ack.ID) != "2" {
		t.Fatalf("ack %+v", ack)
	}
	c.expect("snapshot")
	// The refused pattern was not subscribed: only public.a's update comes.
	f.publish("secret.b", message.Event, `{"x":1}`)
	f.publish("public.a", message.Event, `{"x":2}`)
	if u := c.expect("update"); u.Topic != "public.a" {
		t.Fatalf("got update on %s (%s) after a refused subscribe", u.Topic, u.Data)
	}
}

// A command the client sends in the same packet as its handshake, before
// the 101, is read from what the server had already buffered.
func TestCommandSentWithHandshake(t *testing.T) {
	f := newFixture(t, transport.Options{}, ws.Options{ReadBuffer: 64})
	f.publish("early.a", message.State, `{"v":1}`)
	nc, err := net.Dial("tcp", f.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))

	cmd := []byte(`{"type":"subscribe","id":5,"topics":["early.*"]}`)
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(cmd)), mask[0], mask[1], mask[2], mask[3]}
	for i, b := range cmd {
		frame = append(frame, b^mask[i%4])
	}
	req := "GET /?topics= HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := nc.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	var types []string
	for len(types) < 3 {
		var head [2]byte
		if _, err := io.ReadFull(br, head[:]); err != nil {
			t.Fatalf("after %v: %v", types, err)
		}
		if head[0] != 0x81 {
			t.Fatalf("frame header %#x after %v, want a final text frame", head[0], types)
		}
		n := int(head[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			_, _ = io.ReadFull(br, ext[:])
			n = int(binary.BigEndian.Uint16(ext[:]))
		case 127:
			t.Fatal("unexpectedly large frame")
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		for _, line := range bytes.Split(payload, []byte("\n")) {
			var m msg
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			types = append(types, m.Type)
			if m.Type == "ack" && string(m.ID) != "5" {
				t.Errorf("ack id %s", m.ID)
			}
			if m.Type == "snapshot" && (len(m.Items) != 1 || m.Items[0].Topic != "early.a") {
				t.Errorf("snapshot %+v", m)
			}
		}
	}
	if !slices.Equal(types, []string{"hello", "ack", "snapshot"}) {
		t.Fatalf("messages %v, want hello, ack, snapshot", types)
	}
	// The connection goes on waiting for what its client sends next, and
	// an update reaches it.
	c := &rawClient{nc: nc, br: br}
	c.send(t, 0x1, []byte(`{"type":"subscribe","id":6,"topics":["later.a"]}`))
	c.expectLine(t, `"id":6`)
	f.publish("early.a", message.State, `{"v":2}`)
	c.expectLine(t, `"v":2`)
}
