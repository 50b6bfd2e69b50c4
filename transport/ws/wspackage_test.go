package ws_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/ws"
)

// wsClientDir holds the ws package's client (tools/wsclient).
var wsClientDir = filepath.Join("..", "..", "tools", "wsclient")

// requireWSPackage returns node's path once it and the ws package are
// installed (`make deps`); outside CI the test skips without them, under
// CI=true it fails.
func requireWSPackage(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(wsClientDir, "node_modules", "ws", "package.json"))
	}
	if err != nil {
		msg := "node and the ws package (tools/wsclient/node_modules) are needed: run `make deps`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}

// wsReport is a line conform.js prints.
type wsReport struct {
	Event                 string
	Message               string
	Updates, Messages     int
	Largest, SnapshotSize int
	PingsSent, Pongs      int
	ServerPings           int
	Code                  int
	Reason                string
	Received              bool
}

// The ws npm package reads the server's frames: a snapshot and an update
// past 64 KiB (64-bit lengths), one of 1 KiB (16-bit), a burst batched
// into multi-line messages with the client's pings answered in between,
// the server's heartbeat pings, and a close handshake started by either
// side.
func TestWSPackageClient(t *testing.T) {
	node := requireWSPackage(t)
	const n = 2000
	for _, mode := range []string{"client-close", "server-close"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t, transport.Options{QueueSize: 4 * n},
				ws.Options{Heartbeat: 100 * time.Millisecond})
			big := strings.Repeat("x", 70<<10)
			f.publishBatch("conf.s.a", message.State, 0, 1, big)
			f.publishBatch("conf.s.b", message.State, 0, 1, big)

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "conform.js", f.wsURL("?topics=conf.>"), "2000", mode)
			cmd.Dir = wsClientDir
			cmd.Stderr = os.Stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Wait() }()
			lines := bufio.NewScanner(stdout)
			next := func(want string) wsReport {
				t.Helper()
				if !lines.Scan() {
					t.Fatalf("the ws client ended before %q: %v", want, lines.Err())
				}
				var r wsReport
				if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
					t.Fatalf("ws client printed %q: %v", lines.Text(), err)
				}
				if r.Event != want {
					t.Fatalf("ws client: %s, want %s", lines.Text(), want)
				}
				return r
			}

			next("ready")
			f.publishBatch("conf.e", message.Event, 0, 1, big)
			f.publishBatch("conf.e", message.Event, 1, 2, strings.Repeat("y", 1000))
			f.publishBatch("conf.e", message.Event, 2, n, strings.Repeat("p", 300))
			r := next("received")
			t.Logf("ws client: %+v", r)
			if r.Updates != n || r.SnapshotSize <= 0xffff || r.Largest <= 0xffff ||
				r.PingsSent == 0 || r.Pongs != r.PingsSent || r.ServerPings < 2 {
				t.Fatalf("ws client received %+v", r)
			}
			wantCode := 1000
			if mode == "server-close" {
				wantCode = 1012
				go func() { _ = f.hub.Shutdown(ctx) }()
			}
			if c := next("close"); c.Code != wantCode {
				t.Fatalf("closed with %d %q, want %d", c.Code, c.Reason, wantCode)
			}
		})
	}
}
