package ws_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/ws"
)

// More stalled clients than the writer pool has goroutines: each is cut
// within the write timeout once a write of its waits for it, on a
// goroutine of its own, while a client that reads gets every update
// meanwhile, none late by anything like the timeout.
func TestStalledClientsCutWithinWriteTimeout(t *testing.T) {
	const timeout = 2 * time.Second
	f := newFixture(t, transport.Options{QueueSize: 4096}, ws.Options{WriteTimeout: timeout})
	stalled := 4*runtime.GOMAXPROCS(0) + 2
	for range stalled {
		c := dialRaw(t, f, "?topics=cut.>")
		c.expectLine(t, `"type":"snapshot"`)
		// It reads no more: its socket buffers fill, and then a write
		// waits for it.
	}
	healthy := f.dial("?topics=cut.>")
	healthy.expect("hello")
	healthy.expect("snapshot")

	pad := strings.Repeat("x", 8000)
	began := time.Now()
	var slowest time.Duration
	for i := 0; f.hub.SessionCount() > 1; i++ {
		if time.Since(began) > timeout+5*time.Second {
			t.Fatalf("%d sessions left %v after the stalled clients stopped reading, write timeout %v", f.hub.SessionCount(), time.Since(began), timeout)
		}
		sent := time.Now()
		f.publishBatch("cut.a", message.Event, i, i+1, pad)
		if n := dataN(t, healthy.expect("update")); n != i {
			t.Fatalf("update %d has n %d", i, n)
		}
		slowest = max(slowest, time.Since(sent))
	}
	t.Logf("%d stalled clients cut %v after they stopped reading; slowest update to the reading client %v", stalled, time.Since(began), slowest)
	if slowest > timeout/2 {
		t.Errorf("an update took %v to reach the client that reads, write timeout %v", slowest, timeout)
	}
}
