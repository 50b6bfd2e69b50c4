package gateway

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// More stalled subscribers than the writer pool has goroutines, WebSocket
// and SSE, each with its socket full and a write it did not take: a
// subscriber that reads still gets every update at once. A turn in the
// pool never waits; a writer whose subscriber did not take a write leaves
// the pool to wait on a goroutine of its own, which
// tickerd_writers_waiting counts. Were the pool to wait, every one of its
// goroutines would be held for the write timeout (10 s).
func TestStalledSubscribersDoNotHoldThePool(t *testing.T) {
	g, base := serveGateway(t, Config{Clients: noClientCaps})
	addr := strings.TrimPrefix(base, "http://")
	stalled := 4*runtime.GOMAXPROCS(0) + 2 // twice the pool, and more
	for i := range stalled {
		nc := dialSmallReceive(t, addr)
		req := "GET /v1/sse?topics=stall.%3E HTTP/1.1\r\nHost: tickerd\r\n\r\n"
		want := http.StatusOK
		if i%2 == 1 {
			req = "GET /v1/ws?topics=stall.%3E HTTP/1.1\r\nHost: tickerd\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
			want = http.StatusSwitchingProtocols
		}
		fmt.Fprint(nc, req)
		// It reads the response head, then nothing more.
		if resp, err := http.ReadResponse(bufio.NewReader(nc), nil); err != nil || resp.StatusCode != want {
			t.Fatalf("stalled subscriber %d: %v %v", i, resp, err)
		}
	}
	healthy := dialWS(t, base, "?topics=live.%3E")
	healthy.expect("hello")
	healthy.expect("snapshot")

	// 8 KB events until every stalled socket is full and its writer waits.
	pad := strings.Repeat("x", 8000)
	deadline := time.Now().Add(8 * time.Second)
	for published := 0; metric(t, g, "tickerd_writers_waiting") < float64(stalled); published += 8 {
		if time.Now().After(deadline) || published > 200 {
			t.Fatalf("%d events published; %v writers waiting, want %d", published, metric(t, g, "tickerd_writers_waiting"), stalled)
		}
		var b strings.Builder
		for range 8 {
			fmt.Fprintf(&b, `{"topic":"stall.a","kind":"event","data":{"pad":%q}}`+"\n", pad)
		}
		mustPublish(t, base, b.String())
	}
	began := time.Now()
	var slowest time.Duration
	for i := range 20 {
		sent := time.Now()
		mustPublish(t, base, fmt.Sprintf(`{"topic":"live.a","kind":"event","data":{"n":%d}}`, i))
		m := healthy.expect("update")
		if m.Topic != "live.a" || dataN(m.Data) != i {
			t.Fatalf("update %d: %+v", i, m)
		}
		slowest = max(slowest, time.Since(sent))
	}
	t.Logf("%d stalled subscribers waiting; the reading one got 20 updates in %v, slowest publish to delivery %v",
		stalled, time.Since(began), slowest)
	if slowest > time.Second {
		t.Errorf("an update took %v to reach the subscriber that reads", slowest)
	}
	if n := metric(t, g, "tickerd_writers_waiting"); n < float64(stalled) {
		t.Errorf("%v writers waiting at the end, want %d: the stalled ones were cut early, so nothing was proved", n, stalled)
	}
}

// dialSmallReceive connects to addr with a 4 KiB receive buffer, so that
// a client that reads nothing is full after little.
func dialSmallReceive(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}
