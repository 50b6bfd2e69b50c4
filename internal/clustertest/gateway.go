package clustertest

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/proxytest"
)

// Gateway is one `tickerd serve` process on a fixed loopback port, so that
// it comes back where the load balancer looks for it.
type Gateway struct {
	Name string
	Addr string // host:port
	*proc
}

// URL is the gateway's base URL.
func (g *Gateway) URL() string { return "http://" + g.Addr }

// StartGateways starts n `tickerd serve` processes (the binary at bin) at
// once, as a deployment would, with args after serve's own --addr and
// --admin-addr, and waits until each is ready. They are killed when the
// test ends.
func StartGateways(t testing.TB, bin string, n int, args ...string) []*Gateway {
	t.Helper()
	dir := t.TempDir()
	gs := make([]*Gateway, n)
	for i := range gs {
		g := &Gateway{Name: fmt.Sprintf("g%d", i+1), Addr: fmt.Sprintf("127.0.0.1:%d", proxytest.FreePort(t))}
		all := append([]string{"serve", "--addr", g.Addr, "--admin-addr", ""}, args...)
		g.proc = newProc(t, g.Name, dir, bin, all, []string{"TICKERD_LOG_LEVEL=warn"})
		gs[i] = g
	}
	for _, g := range gs {
		g.Start(t)
	}
	for _, g := range gs {
		g.AwaitReady(t, 60*time.Second)
	}
	return gs
}

// Start starts the gateway process, without waiting for it.
func (g *Gateway) Start(t testing.TB) {
	t.Helper()
	if err := g.start(); err != nil {
		t.Fatal(err)
	}
}

// AwaitReady waits until the gateway's /readyz answers 200.
func (g *Gateway) AwaitReady(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: time.Second}
	for {
		if !g.Running() {
			t.Fatalf("gateway %s exited:\n%s", g.Name, tail(g.log, 20))
		}
		resp, err := client.Get(g.URL() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway %s not ready within %v\n%s", g.Name, within, tail(g.log, 20))
		}
		time.Sleep(50 * time.Millisecond) // polling a status: no event to await
	}
}

// Drain stops the gateway with SIGTERM, as an orchestrator does, and
// waits for it to drain and exit 0.
func (g *Gateway) Drain(t testing.TB, within time.Duration) {
	t.Helper()
	if err := g.Stop(syscall.SIGTERM, within); err != nil {
		t.Fatalf("gateway %s after SIGTERM: %v\n%s", g.Name, err, tail(g.log, 20))
	}
}

// StartFeed runs `tickerd feed` (the binary at bin) with args, publishing
// the demo feeds straight into NATS, as a deployment's feed service does.
// It is killed when the test ends.
func StartFeed(t testing.TB, bin string, args ...string) *Feed {
	t.Helper()
	f := &Feed{newProc(t, "feed", t.TempDir(), bin, append([]string{"feed"}, args...), []string{"TICKERD_LOG_LEVEL=warn"})}
	if err := f.start(); err != nil {
		t.Fatal(err)
	}
	return f
}

// Feed is a `tickerd feed` process.
type Feed struct{ *proc }
