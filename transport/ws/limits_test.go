package ws_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/ws"
)

// Answers count against the session's queue: a client that sends commands
// and does not read ends as a slow consumer (4001) once its unread answers
// fill the queue, and the server stops reading it then. With no command
// rate, nothing else would stop it.
func TestUnreadAnswersEndSession(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newTightFixture(t, transport.Options{QueueSize: 16, Registerer: reg},
		ws.Options{ReadBuffer: 256, CommandRate: -1})
	dial, loosen := tightDial()
	c := f.dialWith("", dial)

	// Far more commands than the queue and both socket buffers hold
	// answers for; the client's writes go on until the server stops
	// reading and its receive buffer is full.
	const sent = 20_000
	cmd := []byte("nope")
	wrote := 0
	for ; wrote < sent && counter(t, reg, "tickerd_slow_consumers_total") == 0; wrote++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.c.Write(ctx, websocket.MessageText, cmd)
		cancel()
		if err != nil {
			t.Fatalf("write %d: %v", wrote, err)
		}
	}
	if counter(t, reg, "tickerd_slow_consumers_total") != 1 {
		t.Fatalf("%d unread commands did not end the session", wrote)
	}

	// What the writer wrote before the end arrives, then the close. A
	// slow consumer's queue is dropped, not written (it resumes from its
	// cursor), so when the end came before the writer ran, not even the
	// hello comes first.
	loosen()
	answered := 0
	for i := 0; ; i++ {
		m, err := c.read(10 * time.Second)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4001 {
				t.Fatalf("after %d answers: %v, want close 4001", answered, err)
			}
			break
		}
		if i == 0 {
			if m.Type != "hello" {
				t.Fatalf("first message %+v, want the hello", m)
			}
			continue
		}
		if m.Type != "error" || m.Code != "bad_request" {
			t.Fatalf("answer %d: %+v", answered, m)
		}
		answered++
	}
	t.Logf("%d commands written, %d answered before 4001", wrote, answered)
	if answered >= wrote {
		t.Fatalf("all %d commands were answered", wrote)
	}
}

// Commands beyond the rate wait for it: all are carried out, once each and
// in order, no faster than the rate allows after the burst.
func TestCommandRateWaits(t *testing.T) {
	const rate, burst, n = 100, 10, 61
	f := newFixture(t, transport.Options{}, ws.Options{CommandRate: rate, CommandBurst: burst})
	c := f.dial("")
	c.expect("hello")
	start := time.Now()
	var b strings.Builder
	for i := range n {
		b.Reset()
		fmt.Fprintf(&b, `{"type":"unsubscribe","id":%d,"topics":["a"]}`, i)
		c.send(b.String())
	}
	for i := range n {
		m := c.expect("ack")
		if string(m.ID) != fmt.Sprint(i) {
			t.Fatalf("ack %d has id %s", i, m.ID)
		}
	}
	// The last of n commands waits for n-burst tokens at rate per second.
	took, least := time.Since(start), time.Duration(n-burst)*time.Second/rate
	t.Logf("%d commands took %v at %d/s, burst %d", n, took.Round(time.Millisecond), rate, burst)
	if took < least*9/10 {
		t.Fatalf("%d commands took %v, want at least %v", n, took, least)
	}
}
