package gateway

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/embednats"
	"github.com/tickerd/tickerd/internal/logbuf"
	"github.com/tickerd/tickerd/internal/proxytest"
)

// arrival is a message as a subscriber got it, and when.
type arrival struct {
	m  msg
	at time.Time
}

// arrivals reads w on its own goroutine, stamping each message with when
// it was read, until the connection ends.
func arrivals(w *wsClient) <-chan arrival {
	ch := make(chan arrival, 1024)
	go func() {
		defer close(ch)
		for {
			m, err := w.read(time.Minute)
			if err != nil {
				return
			}
			ch <- arrival{m, time.Now()}
		}
	}()
	return ch
}

// After NATS restarts, a gateway follows the stream again as soon as it
// is reconnected, not when its consumer's heartbeats are missed: the
// first update published once NATS is back reaches a subscriber that
// stayed connected within a second, and the log says why it followed
// again.
func TestNATSRestartFollowsAtOnce(t *testing.T) {
	dir := t.TempDir()
	listen := fmt.Sprintf("127.0.0.1:%d", proxytest.FreePort(t))
	ns, err := embednats.Start(embednats.Options{DataDir: dir, Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	var logs logbuf.Buffer
	g, srv := testGateway(t, Config{
		NATSURL:        ns.ClientURL(),
		PublishTimeout: 300 * time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	ws := dialWS(t, srv.URL, "?topics=ev.a")
	ws.expect("hello")
	ws.expect("snapshot")
	got := arrivals(ws)
	publishEvents(t, srv.URL, "ev.a", 0, 0)
	if a := <-got; a.m.Type != "update" {
		t.Fatalf("before the restart: %+v", a.m)
	}

	ns.Shutdown()
	deadline := time.Now().Add(20 * time.Second)
	for g.Ready(t.Context()) == nil {
		if time.Now().After(deadline) {
			t.Fatal("gateway still ready with NATS down")
		}
		time.Sleep(20 * time.Millisecond) // the NATS client notices by itself; nothing to await
	}
	ns, err = embednats.Start(embednats.Options{DataDir: dir, Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	back := time.Now()

	// Publish until one is stored: the gateway reconnects within its
	// reconnect wait.
	var sent time.Time
	for n := 1; ; n++ {
		sent = time.Now()
		code, body := publish(t, srv.URL, testToken, "", fmt.Sprintf(`{"topic":"ev.a","kind":"event","data":{"n":%d}}`, n))
		if code == 200 {
			break
		}
		if time.Since(back) > 20*time.Second {
			t.Fatalf("publishing did not resume: %d %s", code, body)
		}
	}
	var a arrival
	select {
	case a = <-got:
	case <-time.After(30 * time.Second):
		t.Fatalf("nothing delivered 30 s after NATS came back; log:\n%s", logs.String())
	}
	t.Logf("NATS back to the first publish stored: %v; that publish to its delivery: %v; NATS back to first delivery: %v",
		sent.Sub(back).Round(time.Millisecond), a.at.Sub(sent).Round(time.Millisecond), a.at.Sub(back).Round(time.Millisecond))
	if a.m.Type != "update" {
		t.Fatalf("after the restart: %+v", a.m)
	}
	// Reconnecting takes up to the reconnect wait (250 ms), following
	// again a few milliseconds more; missed heartbeats would take 2 s.
	if gap := a.at.Sub(back); gap > time.Second {
		t.Errorf("first delivery %v after NATS came back, want within 1 s; log:\n%s", gap.Round(time.Millisecond), logs.String())
	}
	if !strings.Contains(logs.String(), `level=WARN msg="NATS reconnected; following the stream again from where it was"`) {
		t.Errorf("the log does not say why the stream is followed again:\n%s", logs.String())
	}
	if err := g.Ready(t.Context()); err != nil {
		t.Errorf("not ready after delivering again: %v", err)
	}
}
