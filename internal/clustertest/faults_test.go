package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/proxytest"
)

const (
	streamName = "TICKERD" // the gateways' default --stream
	token      = "cluster-test-token"
	// overElection bounds how much longer than NATS's election of a new
	// stream leader (measured in the same run) a subscriber may see no
	// update while updates are being published, whatever fault is under
	// way. The gateways follow the new leader the moment its election is
	// advised; what is left is their reconnect and resume, well under a
	// second here, with room for -race on a loaded machine.
	overElection = 3 * time.Second
)

// TestClusterFaults runs the whole deployment on loopback: three
// nats-server processes with JetStream (the stream at three replicas),
// three tickerd gateways following it, HAProxy round-robin in front. A
// WebSocket, an SSE and a long-poll subscriber and a publisher go through
// HAProxy while faults follow one another: kill -9 of the node leading the
// stream and its restart, kill -9 of a gateway and its restart, a rolling
// restart of every gateway with SIGTERM drain, and a NATS node restart
// while nothing is published. Every subscriber must see every event once
// and in order, every state topic must end on its latest value, and no
// subscriber may see a gap longer than the election of a new stream leader
// (measured in the same run) plus overElection while updates are published.
func TestClusterFaults(t *testing.T) {
	proxytest.Require(t, "haproxy") // before the builds: skip at once without it
	began := time.Now()
	natsBin, tickerd := Build(t)
	built := time.Since(began)

	c := StartCluster(t, natsBin, 3)
	gws := StartGateways(t, tickerd, 3, "--nats-url", c.URLs(), "--feeds", "none", "--replicas", "3",
		"--publish-token", token, "--drain-timeout", "5s")
	upstreams := make([]string, len(gws))
	for i, g := range gws {
		upstreams[i] = g.Addr
	}
	// The demo feeds publish straight into NATS beside the test's
	// publisher, as a feed service would: it must ride out the faults too.
	feed := StartFeed(t, tickerd, "--nats-url", c.URLs(), "--replicas", "3", "--stock-rate", "20", "--games", "2")
	lb := proxytest.HAProxy{Upstreams: upstreams, Check: "/readyz"}.Start(t)
	js := c.Client(t)
	AwaitLeader(t, js, streamName, "", 10*time.Second)
	t.Logf("cluster of %d nodes, %d gateways and HAProxy up in %v (builds %v)", len(c.Nodes), len(gws), time.Since(began).Round(time.Millisecond), built.Round(time.Millisecond))

	var phase atomic.Value
	var phases []string
	phase.Store("start")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()

	var subs []*subscriber
	for _, tr := range []string{"ws", "sse", "poll"} {
		s := newSubscriber(tr, lb, "ev.*,st.*", &phase)
		subs = append(subs, s)
		wg.Go(func() { s.run(ctx) })
	}
	await(t, "every subscriber's first snapshot", 20*time.Second, func() bool {
		for _, s := range subs {
			if s.l.getCursor() == "" {
				return false
			}
		}
		return true
	})

	pub := newPublisher(lb, token, 40*time.Millisecond, []string{"ev.a", "ev.b", "ev.c"}, []string{"st.x", "st.y"})
	pub.phase = func() string { return phase.Load().(string) }
	wg.Go(func() { pub.loop(ctx) })

	// settle waits until the publisher has stored n more bodies and every
	// subscriber has received all that was stored by then: delivery goes
	// on after whatever was just done.
	settle := func(what string, n int) {
		t.Helper()
		target := pub.count() + n
		await(t, what+": publishing goes on", 60*time.Second, func() bool {
			checkHealth(t, pub, subs)
			return pub.count() >= target
		})
		events, states := pub.stored()
		t.Logf("%6.1fs %s: %d bodies stored", time.Since(began).Seconds(), what, pub.count())
		defer func() {
			if t.Failed() {
				for _, s := range subs {
					s.l.mu.Lock()
					t.Logf("%s: events %v states %v, want %v %v; %d connections (%s)", s.transport, s.l.events, s.l.states, events, states, s.l.sessions, counts(s.l.ends))
					s.l.mu.Unlock()
				}
			}
		}()
		await(t, what+": every subscriber has every update", 60*time.Second, func() bool {
			checkHealth(t, pub, subs)
			for _, s := range subs {
				if !s.l.has(events, states) {
					return false
				}
			}
			return true
		})
		t.Logf("%6.1fs %s: every subscriber has it", time.Since(began).Seconds(), what)
	}
	step := func(name string) {
		phase.Store(name)
		phases = append(phases, name)
		t.Logf("%6.1fs %s", time.Since(began).Seconds(), name)
	}

	step("warm-up")
	settle("warm-up", 20)

	step("kill -9 of the stream leader")
	leader := StreamLeader(ctx, js, streamName)
	node := c.Node(leader)
	if node == nil {
		t.Fatalf("stream leader %q is not a node of the cluster", leader)
	}
	killed := time.Now()
	node.Kill()
	newLeader := AwaitLeader(t, js, streamName, leader, 30*time.Second)
	election := time.Since(killed)
	t.Logf("stream leader %s killed: %s elected after %v", leader, newLeader, election.Round(time.Millisecond))
	settle("stream leader killed", 20)

	step("restart of the killed node")
	node.Start(t)
	c.AwaitHealthy(t, 30*time.Second, node)
	settle("killed node restarted", 20)

	step("kill -9 of a gateway")
	gws[0].Kill()
	settle("gateway killed", 20)
	gws[0].Start(t)
	gws[0].AwaitReady(t, 30*time.Second)
	settle("killed gateway restarted", 20)

	step("rolling restart of the gateways")
	for _, g := range gws {
		g.Drain(t, 15*time.Second)
		g.Start(t)
		g.AwaitReady(t, 30*time.Second)
		settle("gateway "+g.Name+" restarted", 10)
	}

	step("NATS node restart while idle")
	pub.pause()
	settle("publisher paused", 0)
	for _, s := range subs {
		s.l.pauseGaps()
	}
	leader = StreamLeader(ctx, js, streamName)
	node = c.Node(leader)
	node.Restart(t)
	c.AwaitHealthy(t, 30*time.Second, node)
	AwaitLeader(t, js, streamName, "", 30*time.Second)
	resumed := time.Now()
	for _, s := range subs {
		s.l.restartGaps(resumed)
	}
	pub.unpause()
	settle("publishing after the idle restart", 20)

	step("end")
	ended := time.Now()
	pub.pause()
	settle("end", 0)
	if !feed.Running() {
		t.Errorf("tickerd feed exited:\n%s", tail(feed.log, 20))
	}
	await(t, "the feed's quotes reach the gateways after the last fault", 30*time.Second, func() bool {
		return feedAfter(lb, ended)
	})
	cancel()
	wg.Wait()

	events, states := pub.stored()
	pub.mu.Lock()
	t.Logf("publisher: %d bodies (%d updates) stored; %d retries (%s); %d updates answered as duplicates; longest store %v",
		pub.bodies, 2*pub.bodies, pub.retries, counts(pub.failures), pub.duplicates, pub.longest.Round(time.Millisecond))
	for _, f := range pub.samples {
		t.Logf("publish failure: %s", f)
	}
	pub.mu.Unlock()
	t.Logf("NATS election after the stream leader's kill -9: %v", election.Round(time.Millisecond))
	for _, s := range subs {
		l := s.l
		l.mu.Lock()
		t.Logf("%-4s longest gap %v (during %q); %d updates, %d connections (%s)",
			s.transport, l.maxGap.Round(time.Millisecond), l.gapPhase, l.updates, l.sessions, counts(l.ends))
		for tp, n := range events {
			if l.events[tp] != n {
				t.Errorf("%s: %s: %d events received, %d stored", s.transport, tp, l.events[tp], n)
			}
		}
		for tp, n := range states {
			if l.states[tp] != n {
				t.Errorf("%s: %s ends on state %d, latest is %d", s.transport, tp, l.states[tp], n)
			}
		}
		if bound := election + overElection; l.maxGap > bound {
			t.Errorf("%s: a gap of %v during %q, over the bound of %v (the election's %v and %v)",
				s.transport, l.maxGap, l.gapPhase, bound, election.Round(time.Millisecond), overElection)
		}
		l.mu.Unlock()
	}
	for _, p := range phases {
		pub.mu.Lock()
		line := fmt.Sprintf("%-34q longest store %6v; longest gap", p, pub.longestIn[p].Round(time.Millisecond))
		pub.mu.Unlock()
		for _, s := range subs {
			s.l.mu.Lock()
			line += fmt.Sprintf("  %s %6v", s.transport, s.l.gaps[p].Round(10*time.Millisecond))
			s.l.mu.Unlock()
		}
		t.Log(line)
	}
	t.Logf("whole test %v", time.Since(began).Round(time.Millisecond))
}

// checkHealth ends the test at the first update lost, repeated or out of
// order, or a publish refused for good.
func checkHealth(t *testing.T, pub *publisher, subs []*subscriber) {
	t.Helper()
	pub.mu.Lock()
	fatal := pub.fatal
	pub.mu.Unlock()
	if fatal != "" {
		t.Fatal(fatal)
	}
	if testing.Verbose() {
		pub.mu.Lock()
		for _, f := range pub.samples {
			t.Logf("publish failure: %s", f)
		}
		pub.samples = pub.samples[:0]
		pub.mu.Unlock()
	}
	for _, s := range subs {
		s.l.mu.Lock()
		v := append([]string(nil), s.l.violations...)
		s.l.mu.Unlock()
		if len(v) > 0 {
			t.Fatalf("%s subscriber: %s", s.transport, strings.Join(v, "; "))
		}
	}
}

// await polls cond until it holds (there is no event to wait on across
// processes), failing the test after within.
func await(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %d", k, m[k])
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// feedAfter reports whether a snapshot through the load balancer holds a
// quote of the demo stock feed published after t.
func feedAfter(lb string, t time.Time) bool {
	resp, err := http.Get(lb + "/v1/snapshot?topics=stocks.*")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var snap struct{ Items []struct{ Time time.Time } }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&snap) != nil {
		return false
	}
	for _, it := range snap.Items {
		if it.Time.After(t) {
			return true
		}
	}
	return false
}
