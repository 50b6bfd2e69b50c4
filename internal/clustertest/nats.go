package clustertest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickerd/tickerd/internal/proxytest"
)

// Node is one nats-server process of a Cluster.
type Node struct {
	Name       string // its server_name, as stream info names leaders
	ClientPort int
	monPort    int
	*proc
}

// URL is the node's client URL.
func (n *Node) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.ClientPort) }

// Cluster is a JetStream cluster of nats-server processes on loopback.
type Cluster struct {
	Nodes []*Node
}

const nodeConf = `server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
jetstream { store_dir: %q }
cluster {
  name: tickerd
  listen: 127.0.0.1:%d
  routes: [%s]
}
`

// StartCluster starts n nats-server processes (the binary at bin) with
// JetStream, routed to each other, and waits until the cluster has formed
// and elected its JetStream meta leader. They are killed when the test ends.
func StartCluster(t testing.TB, bin string, n int) *Cluster {
	t.Helper()
	dir := t.TempDir()
	routePorts := make([]int, n)
	for i := range routePorts {
		routePorts[i] = proxytest.FreePort(t)
	}
	c := &Cluster{}
	for i := range n {
		node := &Node{Name: fmt.Sprintf("n%d", i+1), ClientPort: proxytest.FreePort(t), monPort: proxytest.FreePort(t)}
		var routes []string
		for j, p := range routePorts {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
			}
		}
		conf := filepath.Join(dir, node.Name+".conf")
		body := fmt.Sprintf(nodeConf, node.Name, node.ClientPort, node.monPort,
			filepath.Join(dir, node.Name+"-js"), routePorts[i], strings.Join(routes, ", "))
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		node.proc = newProc(t, node.Name, dir, bin, []string{"-c", conf}, nil)
		c.Nodes = append(c.Nodes, node)
	}
	for _, node := range c.Nodes {
		if err := node.start(); err != nil {
			t.Fatal(err)
		}
	}
	c.AwaitHealthy(t, 30*time.Second, c.Nodes...)
	return c
}

// URLs is every node's client URL, comma-separated as nats.go and
// --nats-url take them.
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		urls[i] = n.URL()
	}
	return strings.Join(urls, ",")
}

// Node returns the node of that server name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Start starts a stopped node again, on the same ports and store.
func (n *Node) Start(t testing.TB) {
	t.Helper()
	if err := n.start(); err != nil {
		t.Fatal(err)
	}
}

// Restart stops the node with SIGTERM, as an operator would, and starts it.
func (n *Node) Restart(t testing.TB) {
	t.Helper()
	_ = n.Stop(syscall.SIGTERM, 10*time.Second) // its exit status is not the point
	n.Start(t)
}

// AwaitHealthy waits until each node's /healthz says ok: it is up, in the
// cluster, and its JetStream assets are current (a restarted node has
// caught up with its streams).
func (c *Cluster) AwaitHealthy(t testing.TB, within time.Duration, nodes ...*Node) {
	t.Helper()
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: time.Second}
	for _, n := range nodes {
		for {
			if !n.Running() {
				t.Fatalf("nats-server %s exited:\n%s", n.Name, tail(n.log, 20))
			}
			resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", n.monPort))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("nats-server %s not healthy within %v: %v %v", n.Name, within, resp, err)
			}
			time.Sleep(50 * time.Millisecond) // polling a status: no event to await
		}
	}
}

// Client connects to the cluster (any node, reconnecting to the others)
// and is closed when the test ends.
func (c *Cluster) Client(t testing.TB) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// StreamLeader is the server name of the stream's leader, or "" when it
// has none that answers now.
func StreamLeader(ctx context.Context, js jetstream.JetStream, stream string) string {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return ""
	}
	info := st.CachedInfo()
	if info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}

// AwaitLeader waits until the stream has a leader that is not old, and
// returns it: after a leader was killed, how long this takes is the
// election time.
func AwaitLeader(t testing.TB, js jetstream.JetStream, stream, old string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if l := StreamLeader(context.Background(), js, stream); l != "" && l != old {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s has no leader other than %q after %v", stream, old, within)
		}
		time.Sleep(20 * time.Millisecond) // polling stream info: no event to await
	}
}
