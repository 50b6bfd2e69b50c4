package gateway

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/embednats"
	"github.com/tickerd/tickerd/internal/proxytest"
)

// NATS restarts under a running gateway: the gateway reconnects, goes on
// following the stream where it was, and a subscriber gets every event.
func TestNATSRestart(t *testing.T) {
	dir := t.TempDir()
	listen := fmt.Sprintf("127.0.0.1:%d", proxytest.FreePort(t))
	ns, err := embednats.Start(embednats.Options{DataDir: dir, Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	g, srv := testGateway(t, Config{NATSURL: ns.ClientURL(), PublishTimeout: 300 * time.Millisecond})
	l := newLedger(t)
	s := subscribe(t, "ws", srv.URL, "ev.a", "")
	defer s.close()
	publishEvents(t, srv.URL, "ev.a", 0, 9)
	readUntil(t, s, l, func() bool { return lastEvent(l, "ev.a") == 9 })

	// /readyz follows NATS down and up again.
	awaitReady := func(want bool) {
		deadline := time.Now().Add(20 * time.Second)
		for (g.Ready(t.Context()) == nil) != want {
			if time.Now().After(deadline) {
				t.Fatalf("gateway readiness %v, want ready=%v", g.Ready(t.Context()), want)
			}
			time.Sleep(20 * time.Millisecond) // the NATS client notices by itself; nothing to await
		}
	}
	ns.Shutdown()
	awaitReady(false)
	if code := getJSON(t, srv.URL+"/readyz", nil); code != 503 {
		t.Errorf("/readyz with NATS down: %d", code)
	}
	// A publish meanwhile fails clearly instead of hanging.
	if code, body := publish(t, srv.URL, testToken, "", `{"topic":"ev.b","kind":"event","data":1}`); code != 503 || !strings.Contains(body, "unavailable") {
		t.Errorf("publish with NATS down: %d %s", code, body)
	}
	ns, err = embednats.Start(embednats.Options{DataDir: dir, Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	awaitReady(true)
	publishEvents(t, srv.URL, "ev.a", 10, 19)
	readUntil(t, s, l, func() bool { return lastEvent(l, "ev.a") == 19 })
}
