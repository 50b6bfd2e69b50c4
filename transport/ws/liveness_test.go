package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/ws"
)

// A connection that gets nothing else gets the ping message, which a page
// script can see, within about one heartbeat, and again every heartbeat.
func TestQuietConnectionGetsPingMessage(t *testing.T) {
	const hb = 300 * time.Millisecond
	f := newFixture(t, transport.Options{}, ws.Options{Heartbeat: hb})
	c := f.dial("?topics=quiet.a")
	c.expect("hello")
	c.expect("snapshot")
	last := time.Now()
	for range 3 {
		m, err := c.read(5 * hb)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type != "ping" || m.Cursor != "" {
			t.Fatalf("got %+v on a quiet connection, want a ping message", m)
		}
		// A ping itself is not traffic: the next comes one interval on,
		// not two. Allow a second's slack on a loaded machine.
		if d := time.Since(last); d > hb+time.Second {
			t.Fatalf("ping after %v of quiet, heartbeat %v", d, hb)
		}
		last = time.Now()
	}
}

// A client that stops answering pings while updates flow is closed within
// about two heartbeats: the server pings on its own schedule, busy or not,
// and its writes keep succeeding into kernel buffers meanwhile, so they
// cannot tell. (Before, only quiet connections were pinged, and such a
// client lasted until the buffers filled and a write timed out.)
func TestDeadPathClosedWhileBusy(t *testing.T) {
	const hb = 500 * time.Millisecond
	f := newFixture(t, transport.Options{}, ws.Options{Heartbeat: hb, WriteTimeout: 30 * time.Second})
	c := f.dial("?topics=busy.a")
	c.expect("hello")
	c.expect("snapshot")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			u := message.Update{Topic: "busy.a", Kind: message.State, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), Time: time.Now()}
			if _, err := f.st.PublishSeq(ctx, u); err != nil {
				return
			}
		}
	}()
	defer func() { cancel(); <-done }()
	// Updates flow: read one to see them, then stop reading, and so stop
	// answering pings.
	c.expect("update")
	stopped := time.Now()
	deadline := stopped.Add(10 * time.Second)
	for f.hub.SessionCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a client that stopped answering pings was not closed")
		}
		time.Sleep(5 * time.Millisecond) // the server decides; nothing to await
	}
	if d := time.Since(stopped); d > 2*hb+hb/2+time.Second {
		t.Fatalf("closed %v after the client stopped answering, heartbeat %v", d, hb)
	} else {
		t.Logf("closed %v after the client stopped answering, heartbeat %v", d, hb)
	}
}
