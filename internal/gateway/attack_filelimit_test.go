package gateway

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
)

// The open-file limit is hit and released under a gateway with embedded
// NATS, as ~20,000 idle connections did: the embedded JetStream's store
// fails a write, after which nats-server refuses, and answers no publish,
// for good. The gateway says so on /readyz at every moment a publish
// fails, logs nats-server's own error, and within 10 s of the release
// publishes again, to a subscriber that connected after it.
//
// The attack tests lower this process's RLIMIT_NOFILE, so they must not
// run in parallel with other tests of the package (none is parallel at
// the top level).
func TestAttackFileLimitRecovery(t *testing.T) {
	tap := newLogTap(t)
	g, srv := fileLimitGateway(t, tap)
	c := newHonestyChecker(t, srv.URL)
	// Its one keep-alive connection is open before the file limit is hit:
	// no new one could be accepted then.
	if code := c.publish(0); code != http.StatusOK {
		t.Fatalf("publish before the attack: %d", code)
	}
	if code := c.readyz(); code != http.StatusOK {
		t.Fatalf("/readyz before the attack: %d", code)
	}

	latched := tap.await("Critical write error")
	conns, release := fileFlood(t, srv.Listener.Addr().String())
	awaitLatch(t, latched)
	// While the limit holds, every publish fails and /readyz says so
	// before and after each.
	for failed := 0; failed < 2; {
		c.readyz()
		if c.publish(1000+failed) != http.StatusOK {
			failed++
		} else if time.Since(c.started) > 10*time.Second {
			t.Fatal("publishing still works at the file limit: the attack is not reproduced")
		}
	}
	c.readyz()

	release()
	released := time.Now()
	deadline := released.Add(10 * time.Second)
	sub := dialWS(t, srv.URL, "?topics=fl.ev")
	var n int
	for n = 1; ; n++ {
		c.readyz()
		if c.publish(n) == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no publish succeeded within 10 s of the release (%d tried)", n)
		}
	}
	published := time.Since(released)
	awaitUpdate(t, sub, n, deadline)
	delivered := time.Since(released)
	for c.readyz() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz not 200 again within 10 s of the release while publishing works")
		}
		time.Sleep(20 * time.Millisecond) // readiness follows the next probe; nothing to await
	}
	t.Logf("file limit released: first publish 200 after %v, delivered to a new subscriber after %v; %d idle connections made the limit; /readyz polled %d times, %d publishes failed",
		published.Round(time.Millisecond), delivered.Round(time.Millisecond), conns, c.polls, c.failed)
	checkStored(t, g, 0, n)

	// The operator saw why, through the gateway's log.
	log := tap.text()
	for _, want := range []string{"Critical write error", "too many open files", "component=nats", "restarted the embedded JetStream"} {
		if !strings.Contains(log, want) {
			t.Errorf("gateway log lacks %q", want)
		}
	}
}

// The same attack while nobody publishes: nats-server's store latches the
// write error, yet its own health check does not tell until a publish has
// failed. The gateway's probe finds it, so /readyz is not 200 before the
// embedded JetStream has been restarted, and once it is, the first publish
// succeeds.
func TestAttackFileLimitRecoveryIdle(t *testing.T) {
	tap := newLogTap(t)
	g, srv := fileLimitGateway(t, tap)
	c := newHonestyChecker(t, srv.URL)
	if code := c.publish(0); code != http.StatusOK {
		t.Fatalf("publish before the attack: %d", code)
	}
	latched := tap.await("Critical write error")
	_, release := fileFlood(t, srv.Listener.Addr().String())
	awaitLatch(t, latched)
	if code := c.readyz(); code == http.StatusOK {
		t.Error("/readyz 200 at the file limit")
	}
	release()
	released := time.Now()
	deadline := released.Add(10 * time.Second)
	sub := dialWS(t, srv.URL, "?topics=fl.ev")
	for c.readyz() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz not 200 within 10 s of the release")
		}
		time.Sleep(20 * time.Millisecond) // readiness follows the next probe; nothing to await
	}
	ready := time.Since(released)
	if code := c.publish(1); code != http.StatusOK {
		t.Fatalf("/readyz said 200, then a publish failed: %s", c.failedNote[len(c.failedNote)-1])
	}
	awaitUpdate(t, sub, 1, deadline)
	t.Logf("file limit released with nobody publishing: /readyz 200 after %v, then the first publish succeeded and was delivered after %v",
		ready.Round(time.Millisecond), time.Since(released).Round(time.Millisecond))
	checkStored(t, g, 0, 1)
	if log := tap.text(); !strings.Contains(log, "restarted the embedded JetStream") {
		t.Error("the embedded JetStream was not restarted: the store's latched error went unseen")
	}
}

// fileLimitGateway is a gateway with embedded NATS whose JetStream syncs
// its files every 100 ms: nats-server opens its stream's state file at
// every sync (every 2 minutes by default), which is where the file limit
// meets the store, and the attack lasted long enough to meet one.
func fileLimitGateway(t *testing.T, tap *logTap) (*Gateway, *httptest.Server) {
	t.Helper()
	return testGateway(t, Config{
		Logger:           slog.New(slog.NewTextHandler(tap, nil)),
		PublishTimeout:   time.Second,
		natsSyncInterval: 100 * time.Millisecond,
	})
}

// fileFlood lowers this process's soft open-file limit to a little above
// the files open now, then opens idle connections to addr until no file
// can be opened. release closes them and restores the limit; it runs at
// the end of the test at the latest.
func fileFlood(t *testing.T, addr string) (conns int, release func()) {
	t.Helper()
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
		t.Fatal(err)
	}
	low := limit
	low.Cur = uint64(openFiles(t) + 64)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var open []net.Conn
	release = sync.OnceFunc(func() {
		for _, c := range open {
			c.Close()
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
			t.Errorf("restore the file limit: %v", err)
		}
	})
	t.Cleanup(release)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("dial %d: %v, want EMFILE", len(open), err)
			}
			return len(open), release
		}
		open = append(open, c)
	}
}

func awaitLatch(t *testing.T, latched <-chan struct{}) {
	t.Helper()
	select {
	case <-latched:
	case <-time.After(10 * time.Second):
		t.Fatal("JetStream's store did not fail at the file limit: the attack is not reproduced")
	}
}

// awaitUpdate reads sub until the update whose data is n, by deadline.
func awaitUpdate(t *testing.T, sub *wsClient, n int, deadline time.Time) {
	t.Helper()
	for {
		m, err := sub.read(time.Until(deadline))
		if err != nil {
			t.Fatalf("the subscriber that came after the release did not get update %d within 10 s of it: %v", n, err)
		}
		if m.Type == "update" && string(m.Data) == fmt.Sprint(n) {
			return
		}
	}
}

// checkStored checks that the stream holds, on fl.ev, first the update
// acknowledged before the attack and last the one after it.
func checkStored(t *testing.T, g *Gateway, first, last int) {
	t.Helper()
	var stored []string
	if err := g.Stream().Replay(t.Context(), 0, []string{"fl.ev"}, func(u message.Update) bool {
		stored = append(stored, string(u.Data))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(stored) < 2 || stored[0] != fmt.Sprint(first) || stored[len(stored)-1] != fmt.Sprint(last) {
		t.Errorf("stream holds %v, want %d first and %d last", stored, first, last)
	}
}

// honestyChecker publishes and polls /readyz in turn on one connection,
// and fails the test when /readyz answered 200 just before or just after
// a publish that failed.
type honestyChecker struct {
	t       *testing.T
	base    string
	client  *http.Client
	started time.Time

	lastReady  int  // the latest /readyz status
	afterFail  bool // the latest publish failed: the next /readyz must not be 200
	polls      int
	failed     int
	publishes  int
	failedNote []string
}

func newHonestyChecker(t *testing.T, base string) *honestyChecker {
	return &honestyChecker{t: t, base: base, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}
}

func (c *honestyChecker) readyz() int {
	c.t.Helper()
	if c.started.IsZero() {
		c.started = time.Now()
	}
	code, _ := c.do(http.MethodGet, "/readyz", "")
	c.polls++
	if c.afterFail && code == http.StatusOK {
		c.t.Errorf("/readyz 200 right after a publish failed (%s)", c.failedNote[len(c.failedNote)-1])
	}
	c.afterFail = false
	c.lastReady = code
	return code
}

func (c *honestyChecker) publish(n int) int {
	c.t.Helper()
	code, body := c.do(http.MethodPost, "/v1/publish", fmt.Sprintf(`{"topic":"fl.ev","kind":"event","data":%d}`, n))
	c.publishes++
	if code != http.StatusOK {
		c.failed++
		c.failedNote = append(c.failedNote, fmt.Sprintf("publish %d: %d %s", n, code, strings.TrimSpace(body)))
		if c.lastReady == http.StatusOK && c.publishes > 1 {
			c.t.Errorf("/readyz 200 right before a publish failed (%s)", c.failedNote[len(c.failedNote)-1])
		}
		c.afterFail = true
	}
	return code
}

func (c *honestyChecker) do(method, path, body string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// openFiles counts this process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// logTap keeps the gateway's log lines and tells when one containing a
// given text arrives. slog's text handler writes one line per Write.
type logTap struct {
	mu    sync.Mutex
	lines []string
	waits map[string]chan struct{}
}

// newLogTap returns a tap whose lines are in the test's output when it
// fails or runs verbose.
func newLogTap(t *testing.T) *logTap {
	l := &logTap{waits: map[string]chan struct{}{}}
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("gateway log:\n%s", l.text())
		}
	})
	return l
}

func (l *logTap) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	line := string(p)
	l.lines = append(l.lines, line)
	for s, ch := range l.waits {
		if strings.Contains(line, s) {
			close(ch)
			delete(l.waits, s)
		}
	}
	return len(p), nil
}

// await returns a channel closed once a line containing s is written.
func (l *logTap) await(s string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan struct{})
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			close(ch)
			return ch
		}
	}
	l.waits[s] = ch
	return ch
}

func (l *logTap) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "")
}
