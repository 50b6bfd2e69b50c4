package gateway

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A quiet connection gets a heartbeat a page script can see within about
// one heartbeat: a ping message on WebSocket, a ping event on SSE.
func TestQuietConnectionsGetScriptVisiblePings(t *testing.T) {
	const hb = 300 * time.Millisecond
	cfg := Config{}
	cfg.WebSocket.Heartbeat = hb
	cfg.SSE.Heartbeat = hb
	_, base := serveGateway(t, cfg)

	c := dialWS(t, base, "?topics=quiet.ws")
	c.expect("hello")
	c.expect("snapshot")
	start := time.Now()
	c.expect("ping")
	if d := time.Since(start); d > hb+time.Second {
		t.Fatalf("WebSocket ping after %v of quiet, heartbeat %v", d, hb)
	}

	resp, err := http.Get(base + "/v1/sse?topics=quiet.sse")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	want := []string{"event: hello", "event: snapshot", "event: ping", `data: {"type":"ping"}`}
	var after time.Time
	for len(want) > 0 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (still want %v)", err, want)
		}
		if strings.TrimSpace(line) == want[0] {
			want = want[1:]
			if len(want) == 2 {
				after = time.Now() // the snapshot's data line follows; near enough
			}
		}
	}
	if d := time.Since(after); d > hb+time.Second {
		t.Fatalf("SSE ping after %v of quiet, heartbeat %v", d, hb)
	}
}

// A path that dies silently while updates flow (a relay that stops
// forwarding both ways and closes nothing) is closed by the gateway within
// about two heartbeats: it pings on its own schedule, busy or not, and
// closes the connection whose pong is overdue. Before, a busy connection
// was never pinged, and the gateway noticed only once its writes filled
// the kernel's buffers and one timed out (~17 s with heartbeat 2 s).
func TestDeadPathFoundWithinTwoHeartbeats(t *testing.T) {
	const hb = 500 * time.Millisecond
	cfg := Config{}
	cfg.WebSocket.Heartbeat = hb
	g, base := serveGateway(t, cfg)
	r := startRelay(t, strings.TrimPrefix(base, "http://"), 0)

	c := dialWS(t, "http://"+r.addr, "?topics=dead.a")
	c.expect("hello")
	c.expect("snapshot")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			body := fmt.Sprintf(`{"topic":"dead.a","kind":"state","data":{"n":%d}}`, i)
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/publish", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	defer func() { cancel(); <-done }()
	c.expect("update")
	r.freeze()
	frozen := time.Now()
	deadline := frozen.Add(15 * time.Second)
	for g.Hub().SessionCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the gateway never closed a connection over a dead path")
		}
		time.Sleep(5 * time.Millisecond) // the server decides; nothing to await
	}
	d := time.Since(frozen)
	t.Logf("dead path closed %v after it froze, heartbeat %v", d, hb)
	if d > 2*hb+hb/2+time.Second {
		t.Fatalf("dead path closed %v after it froze, want about 2 heartbeats (%v)", d, hb)
	}
}
