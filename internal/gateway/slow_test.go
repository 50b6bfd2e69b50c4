package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// metric reads one counter or gauge from g's /metrics, which its admin
// handler serves.
func metric(t *testing.T, g *Gateway, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	g.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}

// One subscriber stops reading. Its pending state updates merge, then
// events overflow its queue and it is closed with 4001; it resumes from its
// cursor with nothing lost. Meanwhile another subscriber gets every update
// with its usual latency.
func TestSlowConsumer(t *testing.T) {
	cfg := Config{}
	cfg.Hub.QueueSize = 64
	g, srv := testGateway(t, cfg)
	pad := strings.Repeat("x", 2048) // fill the socket buffers sooner

	// The fast subscriber reads all the time and reports what it saw.
	fast := dialWS(t, srv.URL, "?topics=slow.>")
	var mu sync.Mutex
	var latencies []time.Duration
	fastLedger := newLedger(t)
	seen := make(chan struct{}, 1)
	fastErr := make(chan error, 1)
	go func() {
		for {
			m, err := fast.read(60 * time.Second)
			if err != nil {
				fastErr <- err
				return
			}
			if m.Type == "hello" {
				continue
			}
			mu.Lock()
			if m.Type == "update" {
				if pt, err := time.Parse(time.RFC3339Nano, m.Time); err == nil {
					latencies = append(latencies, time.Since(pt))
				}
			}
			m.Data = []byte(strings.Replace(string(m.Data), `,"pad":"`+pad+`"`, "", 1))
			for i := range m.Items {
				m.Items[i].Data = []byte(strings.Replace(string(m.Items[i].Data), `,"pad":"`+pad+`"`, "", 1))
			}
			fastLedger.take(m)
			mu.Unlock()
			select {
			case seen <- struct{}{}:
			default:
			}
		}
	}()
	slow := dialWS(t, srv.URL, "?topics=slow.>")
	slow.expect("hello")
	slow.expect("snapshot") // and then it stops reading

	// Publish a batch and wait until the fast subscriber has it all.
	n := map[string]int{}
	batch := func(topic, kind string) {
		var b strings.Builder
		for range 50 {
			fmt.Fprintf(&b, `{"topic":%q,"kind":%q,"data":{"n":%d,"pad":%q}}`+"\n", topic, kind, n[topic], pad)
			n[topic]++
		}
		mustPublish(t, srv.URL, b.String())
		for {
			mu.Lock()
			done := (kind == "event" && lastEvent(fastLedger, topic) == n[topic]-1) ||
				(kind == "state" && fastLedger.states[topic] == n[topic]-1)
			mu.Unlock()
			if done {
				return
			}
			select {
			case <-seen:
			case err := <-fastErr:
				t.Fatalf("fast subscriber: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatalf("fast subscriber stalled at %s", topic)
			}
		}
	}
	for i := 0; metric(t, g, "tickerd_merged_total") == 0; i++ {
		if i == 400 {
			t.Fatal("the stalled subscriber's state updates never merged")
		}
		batch("slow.state", "state")
	}
	// The slow subscriber catches its breath once: what it reads ends in
	// state updates that merged while it stalled.
	strip := func(m msg) msg {
		m.Data = []byte(strings.Replace(string(m.Data), `,"pad":"`+pad+`"`, "", 1))
		return m
	}
	l := newLedger(t)
	for l.merged == 0 || l.states["slow.state"] != n["slow.state"]-1 {
		m, err := slow.read(10 * time.Second)
		if err != nil {
			t.Fatalf("slow subscriber reading merged state: %v", err)
		}
		l.take(strip(m))
	}
	// Then it stalls again, and events overflow its queue.
	for i := 0; metric(t, g, "tickerd_slow_consumers_total") == 0; i++ {
		if i == 400 {
			t.Fatal("events never overflowed the stalled subscriber")
		}
		batch("slow.events", "event")
	}

	// The fast subscriber was never held up.
	mu.Lock()
	slices.Sort(latencies)
	p99, worst := latencies[len(latencies)*99/100], latencies[len(latencies)-1]
	mu.Unlock()
	t.Logf("fast subscriber: %d updates, p99 %v, max %v", len(latencies), p99, worst)
	if p99 > time.Second {
		t.Errorf("fast subscriber p99 latency %v while another stalled", p99)
	}

	// It reads what reached it, then the close.
	var err error
	for err == nil {
		var m msg
		if m, err = slow.read(10 * time.Second); err == nil {
			l.take(strip(m))
		}
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4001 {
		t.Fatalf("stalled subscriber ended with %v, want close 4001", err)
	}
	// It resumes from its cursor and gets every event it had not seen.
	s := subscribe(t, "ws", srv.URL, "slow.>", l.cursor)
	defer s.close()
	for lastEvent(l, "slow.events") < n["slow.events"]-1 {
		m, err := s.next(10 * time.Second)
		if err != nil {
			t.Fatalf("resume after overflow: %v", err)
		}
		l.take(strip(m))
	}
	if got := l.events["slow.events"]; got[0] != 0 || len(got) != n["slow.events"] {
		t.Fatalf("stalled subscriber saw %d of %d events", len(got), n["slow.events"])
	}
}
