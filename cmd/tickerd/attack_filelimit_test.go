package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tickerd/tickerd/internal/logbuf"
)

// The first attack: more idle WebSocket and SSE connections than
// the gateway may open files, from many addresses. `tickerd serve` runs
// under `ulimit -n 1024`, with the embedded NATS and the stock feed
// writing to JetStream all along. Past its connection budget every new
// request is refused with a 503 within a second, never a hang; /healthz
// answers 200 throughout; the process never reaches its file limit; once
// the connections close, a publish returns 200 and reaches a new
// subscriber within 10 s; and /readyz is never 200 while publishing fails.
func TestAttackFileLimitFlood(t *testing.T) {
	const (
		fileLimit = 1024
		budget    = 688 // what the gateway derives from 1024: less 256, 16 and 64
		floodFor  = 5 * time.Second
		addrs     = 500 // client addresses; each stays well within the per-IP caps
		workers   = 32
	)
	bin := tickerdBinary(t)
	const token = "flood-token"
	cmd := exec.Command("sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, fileLimit), bin, "serve",
		"--addr", "127.0.0.1:0", "--admin-addr", "", "--data-dir", t.TempDir(), "--feeds", "stocks", "--publish-token", token, "--log-level", "info")
	stdout, _ := cmd.StdoutPipe()
	logs := &logbuf.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	base := awaitURL(t, stdout)
	waitStatus(t, base+"/readyz", http.StatusOK)
	// The log reaches this process through a pipe and a copying goroutine,
	// so it may lag behind the gateway's answers.
	budgetLogged := func() bool {
		return strings.Contains(logs.String(), fmt.Sprintf("max_conns=%d", budget)) && strings.Contains(logs.String(), fmt.Sprintf("open_file_limit=%d", fileLimit))
	}
	for deadline := time.Now().Add(10 * time.Second); !budgetLogged() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if !budgetLogged() {
		t.Fatalf("the gateway did not derive a budget of %d from %d files:\n%s", budget, fileLimit, logs.String())
	}

	// Probes for the whole test: /healthz on a new connection each time,
	// as a load balancer asks; a publish and then /readyz on one kept
	// connection, opened before the flood.
	probeCtx, stopProbes := context.WithCancel(context.Background())
	var probes sync.WaitGroup
	var health, publishes []probe
	probes.Go(func() {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
		for tick := time.NewTicker(50 * time.Millisecond); probeCtx.Err() == nil; <-tick.C {
			health = append(health, probeGet(c, base+"/healthz"))
		}
	})
	kept := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}, Timeout: 10 * time.Second}
	if p := probePublish(kept, base, token, 0); p.status != http.StatusOK {
		t.Fatalf("publish before the flood: %+v", p)
	}
	var readyAfterFailure []probe
	probes.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		for i := 1; probeCtx.Err() == nil; i++ {
			<-tick.C
			p := probePublish(kept, base, token, i)
			publishes = append(publishes, p)
			// A publish refused at the connection budget is no failure of
			// publishing; any other is, and /readyz must say so.
			if p.status != http.StatusOK && p.code != "overloaded" {
				if r := probeGet(kept, base+"/readyz"); r.status == http.StatusOK {
					readyAfterFailure = append(readyAfterFailure, p)
				}
			}
		}
	})

	// The flood: idle streams, half WebSocket, half SSE, from many
	// addresses, opened as fast as 32 clients can for floodFor, well past
	// the file limit; those admitted stay open.
	var (
		mu       sync.Mutex
		held     []func()
		refusal  []probe
		failed   []string
		attempts int
	)
	clients := make([]*http.Client, addrs)
	for i := range clients {
		clients[i] = boundClient(fmt.Sprintf("127.1.%d.%d", i/250, i%250+1))
	}
	var flood sync.WaitGroup
	floodStart := time.Now()
	for w := range workers {
		flood.Go(func() {
			for i := w; time.Since(floodStart) < floodFor; i += workers {
				closeFn, p, err := openIdle(clients[i%addrs], base, []string{"ws", "sse"}[i%2])
				mu.Lock()
				attempts++
				switch {
				case err != nil:
					failed = append(failed, err.Error())
				case closeFn != nil:
					held = append(held, closeFn)
				default:
					refusal = append(refusal, p)
				}
				mu.Unlock()
			}
		})
	}
	flood.Wait()
	t.Logf("flood: %d attempts in %v from %d addresses: %d streams held, %d refused, %d failed", attempts, time.Since(floodStart).Round(time.Millisecond), addrs, len(held), len(refusal), len(failed))
	if len(held) > budget || len(held) < budget-20 {
		t.Errorf("%d streams held, want about the budget, %d", len(held), budget)
	}
	if len(failed) > 0 {
		t.Errorf("%d attempts failed without an HTTP answer, first: %s", len(failed), failed[0])
	}
	checkRefusals(t, "flood attempts past the budget", refusal)

	// At the budget, from a new address: every kind of request refused
	// fast.
	var atBudget []probe
	c := boundClient("127.2.0.1")
	for i := range 60 {
		var p probe
		switch i % 3 {
		case 0, 1:
			_, p, _ = openIdle(c, base, []string{"ws", "sse"}[i%3])
		case 2:
			p = probeGet(c, base+"/v1/snapshot?topics=stocks.AAPL")
		}
		atBudget = append(atBudget, p)
	}
	checkRefusals(t, "new requests at the budget", atBudget)

	// Release, then: a new subscriber gets a publish within 10 s.
	for _, f := range held {
		f()
	}
	released := time.Now()
	var recovered time.Duration
	for n := 0; recovered == 0; n++ {
		if time.Since(released) > 10*time.Second {
			t.Fatalf("10s after the flood ended no publish reached a new subscriber")
		}
		if deliveredAfterRelease(base, token, n) {
			recovered = time.Since(released)
		}
	}
	// A little longer: the probes see the gateway settled.
	waitStatus(t, base+"/readyz", http.StatusOK)
	stopProbes()
	probes.Wait()

	healthDurs := durations(health)
	var unhealthy []probe
	for _, p := range health {
		if p.status != http.StatusOK {
			unhealthy = append(unhealthy, p)
		}
	}
	t.Logf("time to refuse at the budget: %s (flood), %s (60 new requests)", summary(durations(refusal)), summary(durations(atBudget)))
	t.Logf("/healthz on new connections during the test: %d probes, %s, %d not 200", len(health), summary(healthDurs), len(unhealthy))
	t.Logf("publish reached a new subscriber %v after the flood was released", recovered.Round(time.Millisecond))
	if len(unhealthy) > 0 {
		t.Errorf("/healthz did not answer 200 %d times of %d, first %+v", len(unhealthy), len(health), unhealthy[0])
	}
	if healthDurs[len(healthDurs)-1] > time.Second {
		t.Errorf("/healthz took up to %v", healthDurs[len(healthDurs)-1])
	}
	var publishFailures int
	for _, p := range publishes {
		if p.status != http.StatusOK {
			publishFailures++
		}
	}
	t.Logf("publishes on a kept connection: %d, %d failed", len(publishes), publishFailures)
	if publishFailures > 0 {
		t.Errorf("%d of %d publishes failed during the flood", publishFailures, len(publishes))
	}
	if len(readyAfterFailure) > 0 {
		t.Errorf("/readyz answered 200 right after %d failed publishes, first %+v", len(readyAfterFailure), readyAfterFailure[0])
	}
	for _, bad := range []string{"too many open files", "EMFILE"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("the gateway ran out of files:\n%s", logs.String())
		}
	}
}

// probe is one request's answer and how long it took; status 0 is no
// answer.
type probe struct {
	status int
	code   string
	took   time.Duration
	err    string
}

func probeGet(c *http.Client, url string) probe {
	start := time.Now()
	resp, err := c.Get(url)
	return probeOf(resp, err, start)
}

func probeOf(resp *http.Response, err error, start time.Time) probe {
	if err != nil {
		return probe{took: time.Since(start), err: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := probe{status: resp.StatusCode, took: time.Since(start)}
	if resp.StatusCode >= 400 {
		var e struct{ Error struct{ Code string } }
		_ = json.Unmarshal(b, &e)
		p.code = e.Error.Code
		if resp.Header.Get("Retry-After") == "" {
			p.err = "no Retry-After"
		}
	}
	return p
}

func probePublish(c *http.Client, base, token string, n int) probe {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/publish", strings.NewReader(fmt.Sprintf(`{"topic":"probe.n","kind":"state","data":{"n":%d}}`, n)))
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := c.Do(req)
	return probeOf(resp, err, start)
}

// boundClient's connections come from the loopback address src.
func boundClient(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, ResponseHeaderTimeout: 5 * time.Second}}
}

// openIdle opens a stream that will not read and returns its close, or
// the refusal; err is a failure without an HTTP answer.
func openIdle(c *http.Client, base, transport string) (func(), probe, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if transport == "ws" {
		ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/ws?topics=flood.x", &websocket.DialOptions{HTTPClient: c})
		if err == nil {
			if _, _, err := ws.Read(ctx); err != nil { // the hello
				ws.CloseNow()
				return nil, probe{}, fmt.Errorf("ws hello: %w", err)
			}
			return func() { ws.CloseNow() }, probe{}, nil
		}
		if resp == nil {
			return nil, probe{}, fmt.Errorf("ws: %w", err)
		}
		return nil, probeOf(resp, nil, start), nil
	}
	sctx, scancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, base+"/v1/sse?topics=flood.x", nil)
	resp, err := c.Do(req)
	if err != nil {
		scancel()
		return nil, probe{}, fmt.Errorf("sse: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		scancel()
		return nil, probeOf(resp, nil, start), nil
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		scancel()
		return nil, probe{}, fmt.Errorf("sse first line: %w", err)
	}
	return func() { scancel(); resp.Body.Close() }, probe{}, nil
}

// checkRefusals holds every refusal to a 503 overloaded with Retry-After,
// answered within a second.
func checkRefusals(t *testing.T, what string, ps []probe) {
	t.Helper()
	var bad []probe
	for _, p := range ps {
		if p.status != http.StatusServiceUnavailable || p.code != "overloaded" || p.err != "" || p.took > time.Second {
			bad = append(bad, p)
		}
	}
	if len(ps) == 0 {
		t.Errorf("%s: none", what)
	}
	if len(bad) > 0 {
		t.Errorf("%s: %d of %d not a 503 overloaded with Retry-After within 1s, first %+v", what, len(bad), len(ps), bad[0])
	}
}

// deliveredAfterRelease subscribes a new WebSocket and publishes to it,
// each on a new connection, and reports whether the update arrived.
func deliveredAfterRelease(base, token string, n int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/ws?topics=after.release", nil)
	if err != nil {
		return false
	}
	defer ws.CloseNow()
	for { // hello, then the snapshot: subscribed
		_, b, err := ws.Read(ctx)
		if err != nil {
			return false
		}
		if strings.Contains(string(b), `"snapshot"`) {
			break
		}
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/publish", strings.NewReader(fmt.Sprintf(`{"topic":"after.release","kind":"event","data":{"n":%d}}`, n)))
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := c.Do(req)
	if p := probeOf(resp, err, start); p.status != http.StatusOK {
		return false
	}
	want := fmt.Sprintf(`"n":%d`, n)
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			return false
		}
		if strings.Contains(string(b), want) {
			return true
		}
	}
}

func waitStatus(t *testing.T, url string, status int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered %d", url, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func durations(ps []probe) []time.Duration {
	ds := make([]time.Duration, len(ps))
	for i, p := range ps {
		ds[i] = p.took
	}
	slices.Sort(ds)
	return ds
}

func summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	q := func(f float64) time.Duration { return ds[int(f*float64(len(ds)-1))].Round(10 * time.Microsecond) }
	return fmt.Sprintf("p50 %v, p99 %v, max %v", q(0.5), q(0.99), q(1))
}
