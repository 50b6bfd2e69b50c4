package gateway

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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
// It lowers this process's RLIMIT_NOFILE, so it must not run in parallel
// with other tests of the package (none of them is parallel at the top).
func TestAttackFileLimitRecovery(t *testing.T) {
	tap := newLogTap()
	g, srv := testGateway(t, Config{
		Logger:         slog.New(slog.NewTextHandler(tap, nil)),
		PublishTimeout: time.Second,
		// nats-server opens its stream's state file at every sync, every
		// 2 minutes by default: the attack lasted long enough to meet one.
		natsSyncInterval: 100 * time.Millisecond,
	})
	defer func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("gateway log:\n%s", tap.text())
		}
	}()
	c := &honestyChecker{t: t, base: srv.URL, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}
	// Its one keep-alive connection is open before the file limit is hit:
	// no new one could be accepted then.
	if code := c.publish(0); code != http.StatusOK {
		t.Fatalf("publish before the attack: %d", code)
	}
	if code := c.readyz(); code != http.StatusOK {
		t.Fatalf("/readyz before the attack: %d", code)
	}

	// The attack: idle connections until the process can open no file.
	latched := tap.await("Critical write error")
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
		t.Fatal(err)
	}
	restore := sync.OnceFunc(func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
			t.Errorf("restore the file limit: %v", err)
		}
	})
	t.Cleanup(restore)
	low := limit
	low.Cur = uint64(openFiles(t) + 64)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("dial %d: %v, want EMFILE", len(conns), err)
			}
			break
		}
		conns = append(conns, conn)
	}
	select {
	case <-latched:
	case <-time.After(10 * time.Second):
		t.Fatal("JetStream's store did not fail at the file limit: the attack is not reproduced")
	}
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

	// Release: the connections go, the limit is back.
	for _, conn := range conns {
		conn.Close()
	}
	restore()
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
	for {
		m, err := sub.read(time.Until(deadline))
		if err != nil {
			t.Fatalf("the subscriber that came after the release did not get update %d within 10 s of it: %v", n, err)
		}
		if m.Type == "update" && string(m.Data) == fmt.Sprint(n) {
			break
		}
	}
	delivered := time.Since(released)
	for c.readyz() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz not 200 again within 10 s of the release while publishing works")
		}
		time.Sleep(20 * time.Millisecond) // readiness follows the next probe; nothing to await
	}
	t.Logf("file limit released: first publish 200 after %v, delivered to a new subscriber after %v; %d idle connections made the limit; /readyz polled %d times, %d publishes failed",
		published.Round(time.Millisecond), delivered.Round(time.Millisecond), len(conns), c.polls, c.failed)

	// What was acknowledged before the attack is still stored, before
	// what was after it.
	var stored []string
	if err := g.Stream().Replay(t.Context(), 0, []string{"fl.ev"}, func(u message.Update) bool {
		stored = append(stored, string(u.Data))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(stored) < 2 || stored[0] != "0" || stored[len(stored)-1] != fmt.Sprint(n) {
		t.Errorf("stream holds %v, want 0 first and %d last", stored, n)
	}

	// The operator saw why, through the gateway's log.
	log := tap.text()
	for _, want := range []string{"Critical write error", "too many open files", "component=nats", "restarted the embedded JetStream"} {
		if !strings.Contains(log, want) {
			t.Errorf("gateway log lacks %q", want)
		}
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

func newLogTap() *logTap { return &logTap{waits: map[string]chan struct{}{}} }

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
