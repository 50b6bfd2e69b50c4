package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/ws"
)

// The server frames what it sends itself (see frameWriter); these tests
// hold its frames to coder/websocket's client, which checks every header.

// An update of 70 KiB goes out as its own prebuilt frame with a 64-bit
// length, one of 1 KiB with a 16-bit one, and a snapshot of several large
// items, framed in a pooled buffer, past 64 KiB too.
func TestLargeFramesLengths(t *testing.T) {
	f := newFixture(t, transport.Options{}, ws.Options{})
	big := strings.Repeat("x", 70<<10)
	f.publishBatch("large.a", message.State, 0, 1, big)
	f.publishBatch("large.b", message.State, 1, 2, big)
	c := f.dial("?topics=large.>")
	c.expect("hello")
	if s := c.expect("snapshot"); len(s.Items) != 2 {
		t.Fatalf("snapshot has %d items, want 2", len(s.Items))
	}
	for i, pad := range []string{big, strings.Repeat("y", 1000), "z"} {
		f.publishBatch("large.c", message.Event, 10+i, 11+i, pad)
		if n := dataN(t, c.expect("update")); n != 10+i {
			t.Fatalf("update %d has n %d", i, n)
		}
	}
}

// Client pings during a stream of updates are answered with pongs between
// the server's data frames, and the data arrives whole and in order.
func TestClientPingsDuringBurst(t *testing.T) {
	f := newFixture(t, transport.Options{QueueSize: 4096}, ws.Options{})
	c := f.dial("?topics=pingburst.>")
	c.expect("hello")
	c.expect("snapshot")
	const n = 2000
	done := make(chan error, 1)
	go func() {
		for i := range n {
			m, err := c.read(10 * time.Second)
			if err != nil {
				done <- err
				return
			}
			if got := dataN(t, m); got != i {
				t.Errorf("update %d has n %d", i, got)
			}
		}
		done <- nil
		// Go on reading, so that a ping made meanwhile gets its pong.
		for {
			if _, _, err := c.c.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	go f.publishBatch("pingburst.e", message.Event, 0, n, strings.Repeat("p", 200))
	pings := 0
	for reading := true; reading; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			reading = false
		default:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := c.c.Ping(ctx)
			cancel()
			if err != nil {
				t.Fatalf("ping %d: %v", pings, err)
			}
			pings++
		}
	}
	t.Logf("%d pings answered during %d updates", pings, n)
	if pings == 0 {
		t.Fatal("no ping was made while updates streamed")
	}
}

// Server pings (heartbeats) interleave with data frames; the client
// answers them and the stream goes on intact. The heartbeat is also the
// time the pong has to come back in, so it is short but not tight.
func TestServerPingsBetweenData(t *testing.T) {
	f := newFixture(t, transport.Options{QueueSize: 4096}, ws.Options{Heartbeat: 100 * time.Millisecond})
	var pings atomic.Int64
	c := f.dialWith("?topics=serverping.>", &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool { pings.Add(1); return true },
	})
	c.expect("hello")
	c.expect("snapshot")
	// The reader runs throughout, so that the client answers pings.
	ns := make(chan int, 100)
	go func() {
		defer close(ns)
		for {
			_, b, err := c.c.Read(context.Background())
			if err != nil {
				return
			}
			for _, line := range bytes.Split(b, []byte("\n")) {
				var m msg
				if json.Unmarshal(line, &m) != nil || m.Type != "update" {
					t.Errorf("got %q, want an update", line)
					return
				}
				ns <- dataN(t, m)
			}
		}
	}()
	next := 0
	for round := int64(1); round <= 5; round++ {
		f.publishBatch("serverping.e", message.Event, next, next+20, "")
		for range 20 {
			if got := <-ns; got != next {
				t.Fatalf("update has n %d, want %d", got, next)
			}
			next++
		}
		// The server pings once a heartbeat passes with nothing written.
		deadline := time.Now().Add(10 * time.Second)
		for pings.Load() < round {
			if time.Now().After(deadline) {
				t.Fatalf("%d server pings in round %d", pings.Load(), round)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// A close the client starts while updates stream is answered with the
// server's close frame: the handshake completes.
func TestClientCloseDuringStream(t *testing.T) {
	f := newFixture(t, transport.Options{QueueSize: 4096}, ws.Options{})
	c := f.dial("?topics=clientclose.>")
	c.expect("hello")
	c.expect("snapshot")
	f.publishBatch("clientclose.e", message.Event, 0, 500, strings.Repeat("c", 100))
	c.expect("update")
	if err := c.c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("close handshake: %v", err)
	}
}
