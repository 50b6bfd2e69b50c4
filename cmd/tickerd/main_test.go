package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tickerd/tickerd/internal/natstest"
)

// Every flag reads its TICKERD_ variable, and the README has people export
// TICKERD_PUBLISH_TOKEN: the tests clear them all, so that the shell they
// run in cannot change what serve, feed and bench do.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "TICKERD_") {
			os.Unsetenv(name)
		}
	}
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// built is this package's binary, built once for the tests that run it
// as a process of its own.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// tickerdBinary returns the path of this package built as a binary.
func tickerdBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "tickerd-test-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "tickerd")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("%w\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatalf("build: %v", built.err)
	}
	return built.bin
}

var servingLine = regexp.MustCompile(`serving on (http://\S+)`)

// awaitURL reads the serve command's output until it names its URL.
func awaitURL(t *testing.T, r io.Reader) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("tickerd serve did not report its address")
		return ""
	}
}

func dial(t *testing.T, base, query string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/ws"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 24)
	return c
}

// readTypes reads server messages until pred is satisfied or the deadline.
func readUntil(t *testing.T, c *websocket.Conn, pred func(typ, topic string) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			var m struct{ Type, Topic string }
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("bad JSON %q", line)
			}
			if pred(m.Type, m.Topic) {
				return
			}
		}
	}
}

// tickerd feed and tickerd serve --nats-url, both against a NATS server
// neither of them started.
func TestFeedAndServeOnExternalNATS(t *testing.T) {
	ns := natstest.Server(t)

	// serve takes its NATS from the environment, as a deployment would.
	t.Setenv("TICKERD_NATS_URL", ns.ClientURL())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feedDone := make(chan error, 1)
	go func() {
		feedDone <- runFeed(ctx, []string{"--nats-url", ns.ClientURL(), "--stock-rate", "20", "--games", "2", "--log-level", "error"}, io.Discard)
	}()
	pr, pw := io.Pipe()
	serveDone := make(chan error, 1)
	go func() {
		serveDone <- serve(ctx, []string{"--addr", "127.0.0.1:0", "--feeds", "none", "--log-level", "error"}, pw, io.Discard)
	}()
	base := awaitURL(t, pr)

	c := dial(t, base, "?topics=stocks.>,sports.>")
	defer c.CloseNow()
	var stocks, sports bool
	readUntil(t, c, func(typ, topic string) bool {
		if typ == "update" {
			stocks = stocks || strings.HasPrefix(topic, "stocks.")
			sports = sports || strings.HasPrefix(topic, "sports.")
		}
		return stocks && sports
	})
	cancel()
	if err := <-serveDone; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if err := <-feedDone; err != nil {
		t.Fatalf("feed: %v", err)
	}
}

// SIGTERM (an orchestrator) and SIGINT (Ctrl-C): the gateway stops
// accepting, closes WebSockets with 1012, drains and exits 0, so that
// neither make nor a supervisor reports a clean stop as a failure.
func TestSignalDrains(t *testing.T) {
	bin := tickerdBinary(t)
	t.Run("SIGTERM", func(t *testing.T) { testSignalDrains(t, bin, syscall.SIGTERM) })
	t.Run("SIGINT", func(t *testing.T) { testSignalDrains(t, bin, syscall.SIGINT) })
}

func testSignalDrains(t *testing.T, bin string, sig syscall.Signal) {
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--admin-addr", "", "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "TICKERD_FEEDS=stocks", "TICKERD_STOCK_RATE=5", "TICKERD_LOG_LEVEL=warn")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := awaitURL(t, stdout)
	c := dial(t, base, "?topics=stocks.AAPL")
	defer c.CloseNow()
	readUntil(t, c, func(typ, _ string) bool { return typ == "update" })

	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var readErr error
	for readErr == nil {
		_, _, readErr = c.Read(ctx)
	}
	var ce websocket.CloseError
	if !errors.As(readErr, &ce) || ce.Code != websocket.StatusServiceRestart {
		t.Fatalf("connection ended with %v, want close 1012", readErr)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-ctx.Done():
		t.Fatalf("tickerd did not exit after %v\n%s", sig, stderr.String())
	}
	if !strings.Contains(stderr.String(), "publish_token=") {
		t.Errorf("no generated publish token was logged:\n%s", stderr.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nope"},
		{"serve", "--no-such-flag"},
		{"serve", "--log-level", "loud"},
		{"feed", "--feeds", "weather"},
		{"serve", "--feeds", "weather"},
		{"serve", "--feeds", "stocks,stocks"},
		{"serve", "extra"},
	} {
		var out bytes.Buffer
		if code := run(args, &out, &out); code != 2 {
			t.Errorf("tickerd %q exited %d, want 2\n%s", args, code, out.String())
		}
	}
	t.Setenv("TICKERD_HEARTBEAT", "often")
	var out bytes.Buffer
	if code := run([]string{"serve"}, &out, &out); code != 2 || !strings.Contains(out.String(), "TICKERD_HEARTBEAT") {
		t.Errorf("bad env var: exit %d\n%s", code, out.String())
	}
}
