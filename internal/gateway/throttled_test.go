package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Over a real throttled link (a relay that passes 20 KB/s towards the
// client, so the gateway's socket really backs up), with 200 state
// updates a second over 5 topics and an event a second, a WebSocket
// subscriber that resumes with its cursor whenever it is closed gets
// every event once, in order, sees updates with merged, and has each
// state topic on its last value within 5 s of publishing stopping.
// (Before, the queue of a slow consumer was dropped and the resume
// replayed the whole backlog at link speed: 12 s, and no merged at all.)
// With a queue too small for the events ("resume"), the subscriber is
// closed as a slow consumer again and again, and catches up all the same:
// each resume conflates.
func TestThrottledLinkConflates(t *testing.T) {
	t.Run("queue", func(t *testing.T) { throttled(t, 0, 20) })
	t.Run("resume", func(t *testing.T) { throttled(t, 4, 1) })
}

// throttled runs the test with the given queue size (0: the default) and
// an event every eventTicks ticks.
func throttled(t *testing.T, queue, eventTicks int) {
	const (
		link      = 20 << 10 // bytes a second towards the client
		publishes = 4 * time.Second
		tick      = 50 * time.Millisecond // 10 state updates a tick: 200/s
		settle    = 5 * time.Second
	)
	cfg := Config{Clients: noClientCaps, SendBuffer: 16 << 10}
	cfg.Hub.QueueSize = queue
	g, base := serveGateway(t, cfg)
	r := startRelay(t, strings.TrimPrefix(base, "http://"), link)
	pad := strings.Repeat("p", 100)

	var mu sync.Mutex
	lastState := map[string]int{} // what was published last, by topic
	events := 0
	publish := func(ctx context.Context, body string) error {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/publish", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("publish: %d", resp.StatusCode)
		}
		return nil
	}
	// The first value of each topic, so the subscriber's snapshot has them.
	var first strings.Builder
	for k := range 5 {
		fmt.Fprintf(&first, `{"topic":"thr.s%d","kind":"state","data":{"n":0,"pad":%q}}`+"\n", k, pad)
		lastState[fmt.Sprintf("thr.s%d", k)] = 0
	}
	if err := publish(context.Background(), first.String()); err != nil {
		t.Fatal(err)
	}

	type view struct {
		state  map[string]int
		events []int
		merged int // updates seen with merged
		closes int // connections the gateway ended
	}
	v := view{state: map[string]int{}}
	var vmu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readerDone := make(chan struct{})
	ready := make(chan struct{}) // the subscriber has a cursor
	go func() {
		defer close(readerDone)
		cursor := ""
		for ctx.Err() == nil {
			q := "?topics=thr.>"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			c, _, err := websocket.Dial(ctx, "ws://"+r.addr+"/v1/ws"+q, nil)
			if err != nil {
				if ctx.Err() == nil {
					time.Sleep(50 * time.Millisecond) // a client's backoff
				}
				continue
			}
			c.SetReadLimit(1 << 24)
			for {
				_, b, err := c.Read(ctx)
				if err != nil {
					c.CloseNow()
					vmu.Lock()
					v.closes++
					vmu.Unlock()
					break
				}
				for _, line := range bytes.Split(b, []byte("\n")) {
					var m msg
					if err := json.Unmarshal(line, &m); err != nil {
						t.Errorf("bad line %q", line)
						return
					}
					vmu.Lock()
					switch m.Type {
					case "snapshot":
						if cursor == "" {
							close(ready)
						}
						cursor = m.Cursor
						for _, it := range m.Items {
							v.state[it.Topic] = dataN(it.Data)
						}
					case "update":
						cursor = m.Cursor
						if m.Kind == "event" {
							v.events = append(v.events, dataN(m.Data))
						} else {
							v.state[m.Topic] = dataN(m.Data)
						}
						if m.Merged > 0 {
							v.merged++
						}
					}
					vmu.Unlock()
				}
			}
		}
	}()

	// Without a cursor, a subscriber closed before its snapshot would
	// start over with a new one and rightly miss the events before it.
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("no snapshot")
	}
	start := time.Now()
	n := 0
	for time.Since(start) < publishes {
		var b strings.Builder
		for i := range 10 {
			n++
			topic := fmt.Sprintf("thr.s%d", i%5)
			fmt.Fprintf(&b, `{"topic":%q,"kind":"state","data":{"n":%d,"pad":%q}}`+"\n", topic, n, pad)
			mu.Lock()
			lastState[topic] = n
			mu.Unlock()
		}
		if n%(10*eventTicks) == 0 {
			events++
			fmt.Fprintf(&b, `{"topic":"thr.ev","kind":"event","data":{"n":%d}}`+"\n", events)
		}
		if err := publish(ctx, b.String()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(tick) // the feed's pace
	}
	stopped := time.Now()
	caughtUp := func() bool {
		vmu.Lock()
		defer vmu.Unlock()
		if len(v.events) < events {
			return false
		}
		for topic, want := range lastState {
			if v.state[topic] != want {
				return false
			}
		}
		return true
	}
	for !caughtUp() {
		if time.Since(stopped) > 3*settle {
			break
		}
		time.Sleep(10 * time.Millisecond) // the client's view; nothing to await
	}
	took := time.Since(stopped)
	cancel()
	<-readerDone

	vmu.Lock()
	defer vmu.Unlock()
	t.Logf("caught up %v after publishing stopped; %d events, %d updates with merged, %d connections ended, %d bytes through the link; gateway merged %v, slow consumers %v",
		took.Round(time.Millisecond), len(v.events), v.merged, v.closes, r.sent.Load(),
		metric(t, g, "tickerd_merged_total"), metric(t, g, "tickerd_slow_consumers_total"))
	for i, e := range v.events {
		if e != i+1 {
			t.Fatalf("event %d is #%d: every event once, in order, want #%d (%v)", i, e, i+1, v.events)
		}
	}
	if len(v.events) != events {
		t.Fatalf("%d events of %d", len(v.events), events)
	}
	for topic, want := range lastState {
		if v.state[topic] != want {
			t.Errorf("%s at %d, last published %d", topic, v.state[topic], want)
		}
	}
	if took > settle {
		t.Errorf("state topics on their last values %v after publishing stopped, want within %v", took, settle)
	}
	if v.merged == 0 {
		t.Error("the client saw no update with merged")
	}
	if slow := metric(t, g, "tickerd_slow_consumers_total"); queue > 0 && slow == 0 {
		t.Error("a queue of 4 never overflowed: the resume path was not exercised")
	}
}

// dataN reads the "n" of an update's data.
func dataN(data json.RawMessage) int {
	var d struct{ N int }
	_ = json.Unmarshal(data, &d)
	return d.N
}
