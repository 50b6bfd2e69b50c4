package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
)

// publishTopics publishes one state update to each of n topics named by
// name(i), through /v1/publish in NDJSON bodies of 1000 (the most a body
// may hold).
func publishTopics(t *testing.T, base string, n int, name func(int) string) {
	t.Helper()
	var body strings.Builder
	for i := range n {
		fmt.Fprintf(&body, `{"topic":%q,"kind":"state","data":{"i":%d}}`+"\n", name(i), i)
		if (i+1)%1000 == 0 || i == n-1 {
			mustPublish(t, base, body.String())
			body.Reset()
		}
	}
}

// liveEvents feeds one event topic at rate per second, straight into the
// stream as a feed would, until stop is closed. It returns a function that
// waits for the feed to end and says how many events it published and its
// own longest pause between two (more than 1/rate when the machine held
// the feed up).
func liveEvents(t *testing.T, g *Gateway, topic string, rate int, stop <-chan struct{}) func() (int, time.Duration) {
	var n atomic.Int64
	var wg sync.WaitGroup
	var pause time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		var last time.Time
		for i := 0; ; i++ {
			select {
			case <-stop:
				wg.Wait()
				return
			case now := <-tick.C:
				if !last.IsZero() {
					pause = max(pause, now.Sub(last))
				}
				last = now
			}
			// Each on its own goroutine, so that a slow acknowledgement
			// does not hold back the next: the cadence is the feed's.
			n.Add(1)
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := g.Stream().Publish(ctx, message.Update{Topic: topic, Kind: message.Event,
					Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)), Time: time.Now()}); err != nil {
					t.Errorf("publish event %d: %v", i, err)
				}
			})
		}
	}()
	return func() (int, time.Duration) { <-done; return int(n.Load()), pause }
}

// 8 clients ask /v1/snapshot over and over, each with 100 wildcard
// patterns that together match all 50k topics, and a WebSocket
// subscriber takes a live event topic fed 50 times a second. Snapshots
// read the cache without the hub's lock, and only half the CPUs walk at
// once, so the subscriber's longest wait between two events stays at most
// 250 ms, and it misses none. (Before, each snapshot matched every topic
// against every pattern under the hub's exclusive lock: the longest wait
// was 0.39 s here, 21.6 s with 200k topics.)
func TestAttackSnapshotFreeze(t *testing.T) {
	const topics, clients, rate = 50_000, 8, 50
	const maxGap = 250 * time.Millisecond
	cfg := Config{}
	cfg.Hub.MaxSnapshot = topics + 1000 // whole snapshots: the most work one request can ask for
	g, srv := testGateway(t, cfg)
	// Topics of eight tokens, as deep as the grammar allows: 50 groups of
	// 1000.
	const prefix = "t.a.b.c.d.e"
	publishTopics(t, srv.URL, topics, func(i int) string { return fmt.Sprintf("%s.g%d.s%d", prefix, i/1000, i%1000) })

	// 100 distinct patterns of wildcards: 94 that a topic's last token
	// fails, then 6 that match all 50k. (Matching each topic against the
	// list in turn, as the gateway once did under its lock, tries all 8
	// tokens of 94 patterns before one matches: about 0.35 s a request.)
	var patterns []string
	for i := range 94 {
		patterns = append(patterns, fmt.Sprintf("*.*.*.*.*.*.*.x%d", i))
	}
	patterns = append(patterns, "t.>", "*.>", prefix+".*.*", "*.*.*.*.*.*.*.*", "t.*.*.*.*.*.*.>", "*.a.>")
	query := "?topics=" + url.QueryEscape(strings.Join(patterns, ","))

	ws := dialWS(t, srv.URL, "?topics=live.events")
	ws.expect("hello")
	ws.expect("snapshot")
	type arrival struct {
		n        int
		at, sent time.Time // received, and published (the update's time)
	}
	arrivals := make(chan arrival, 1<<16)
	go func() {
		defer close(arrivals)
		for {
			m, err := ws.read(30 * time.Second)
			if err != nil {
				return
			}
			var d struct{ N int }
			if m.Type == "update" && json.Unmarshal(m.Data, &d) == nil {
				sent, err := time.Parse(time.RFC3339Nano, m.Time)
				if err != nil {
					t.Errorf("update time %q: %v", m.Time, err)
				}
				arrivals <- arrival{d.N, time.Now(), sent}
			}
		}
	}()

	stopFeed := make(chan struct{})
	published := liveEvents(t, g, "live.events", rate, stopFeed)
	// Let the feed settle, then attack for a few seconds.
	time.Sleep(500 * time.Millisecond) // a cadence to compare with, not a wait for an event
	attackStart := time.Now()
	var snapshots, bytes atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for time.Since(attackStart) < 3*time.Second {
				resp, err := http.Get(srv.URL + "/v1/snapshot" + query)
				if err != nil {
					t.Errorf("snapshot: %v", err)
					return
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || n < int64(topics)*50 {
					t.Errorf("snapshot: %d, %d bytes", resp.StatusCode, n)
					return
				}
				snapshots.Add(1)
				bytes.Add(n)
			}
		})
	}
	wg.Wait()
	attackEnd := time.Now()
	time.Sleep(500 * time.Millisecond) // and the cadence after
	close(stopFeed)
	total, feedPause := published()

	// A gap the subscriber saw is the gateway's only where the feed did
	// not pause as long: on a starved machine the feed itself is late
	// (its own longest pause is logged), and no gateway can deliver what
	// was not yet published. So the figure is the longest wait between
	// two events less how much longer than its cadence the feed took
	// between them.
	got := map[int]bool{}
	var last arrival
	var longest, longestSeen time.Duration
	var longestAt time.Duration
	deadline := time.After(10 * time.Second)
	for len(got) < total {
		select {
		case a, ok := <-arrivals:
			if !ok {
				t.Fatalf("subscriber closed after %d of %d events", len(got), total)
			}
			if got[a.n] {
				t.Fatalf("event %d twice", a.n)
			}
			got[a.n] = true
			if !last.at.IsZero() {
				seen := a.at.Sub(last.at)
				feedLate := max(0, a.sent.Sub(last.sent)-time.Second/rate)
				if seen-feedLate > longest {
					longest, longestSeen, longestAt = seen-feedLate, seen, a.at.Sub(attackStart)
				}
			}
			last = a
		case <-deadline:
			t.Fatalf("subscriber got %d of %d events", len(got), total)
		}
	}
	t.Logf("%d snapshots of %d topics (%.0f MiB) by %d clients in %v; %d events at %d/s, longest gap %v (%v seen, less the feed's own lateness; at %v into the attack)",
		snapshots.Load(), topics, float64(bytes.Load())/(1<<20), clients, attackEnd.Sub(attackStart).Round(time.Millisecond),
		total, rate, longest.Round(time.Millisecond), longestSeen.Round(time.Millisecond), longestAt.Round(time.Millisecond))
	if snapshots.Load() < clients {
		t.Errorf("only %d snapshots were served", snapshots.Load())
	}
	if longest > maxGap {
		t.Errorf("longest gap between events %v, want at most %v (the feed's own longest pause: %v)", longest, maxGap, feedPause.Round(time.Millisecond))
	}
}
