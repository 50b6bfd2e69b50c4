package static_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tickerd/tickerd/message"
)

// slowClient is a second client on the test page, on WebSocket, recording
// into window.__s each state topic's last value, the merged counts and the
// events of slow.e.
const slowClient = `(function () {
  window.__s = {last: {}, updates: 0, merged: 0, events: [], open: false};
  var c = new Tickerd.Client("", {share: false, transports: "ws", helloTimeout: 5000});
  c.on("status", function (s) { if (s.indexOf("open/") === 0) { __s.open = true; } });
  c.subscribe(["slow.>"], function (u) {
    if (u.kind === "event") { __s.events.push(u.data.n); return; }
    __s.last[u.topic] = u.data.n;
    if (!u.snapshot) { __s.updates++; __s.merged += u.merged || 0; }
  });
}())`

type slowSeen struct {
	Last    map[string]int `json:"last"`
	Updates int            `json:"updates"`
	Merged  int            `json:"merged"`
	Events  []int          `json:"events"`
	Open    bool           `json:"open"`
}

func readSlow(t *testing.T, ctx context.Context) slowSeen {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__s || {})`))
	if err != nil {
		t.Fatal(err)
	}
	var s slowSeen
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBrowserSlowLink: Chromium behind a 20 KB/s link to a gateway with
// 8 KiB send buffers, 200 state updates a second over 5 topics (more than
// the link carries) and an event a second for 4 s: every event arrives
// once, in order, each state topic is on its last value within 5 s of
// publishing stopping, and the page sees the merged counts.
func TestBrowserSlowLink(t *testing.T) {
	h := startHarnessWith(t, &harness{sendBuffer: 8 << 10})
	r := startRelay(t, h.addr)
	r.rate.Store(20 << 10)
	ctx := browser(t)
	open(t, ctx, r.url()+"/__test.html?hello=5000")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](slowClient)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for !readSlow(t, ctx).Open {
		if time.Now().After(deadline) {
			t.Fatal("the slow client did not open")
		}
		time.Sleep(50 * time.Millisecond) // the page's state is read by polling
	}

	const topics, perSecond, seconds = 5, 200, 4
	pad := strings.Repeat("x", 100)
	last := map[string]int{}
	tick := time.NewTicker(time.Second / perSecond)
	defer tick.Stop()
	events, published := 0, 0
	for published < perSecond*seconds {
		<-tick.C
		topic := fmt.Sprintf("slow.s%d", published%topics)
		us := []message.Update{{Topic: topic, Kind: message.State, Time: time.Now(),
			Data: json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q}`, published, pad))}}
		last[topic] = published
		published++
		if published%perSecond == 1 {
			us = append(us, message.Update{Topic: "slow.e", Kind: message.Event, Time: time.Now(),
				Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, events))})
			events++
		}
		if _, _, err := h.pub.PublishBatch(context.Background(), us); err != nil {
			t.Fatal(err)
		}
	}
	stopped := time.Now()
	var s slowSeen
	for {
		s = readSlow(t, ctx)
		done := len(s.Events) >= events
		for topic, n := range last {
			done = done && s.Last[topic] == n
		}
		if done {
			break
		}
		if time.Since(stopped) > 5*time.Second {
			t.Fatalf("5 s after publishing stopped: page has %+v, want last values %v and %d events", s, last, events)
		}
		time.Sleep(50 * time.Millisecond) // the page's state is read by polling
	}
	t.Logf("current %v after publishing stopped: %d of %d state updates delivered, merged %d; %d events",
		time.Since(stopped).Round(time.Millisecond), s.Updates, published, s.Merged, len(s.Events))
	for i, n := range s.Events {
		if n != i {
			t.Fatalf("event %d at position %d: %v", n, i, s.Events)
		}
	}
	if len(s.Events) != events {
		t.Fatalf("page got %d events, want %d: %v", len(s.Events), events, s.Events)
	}
	if s.Merged == 0 {
		t.Errorf("no update came merged over a link slower than the feed: %d of %d delivered", s.Updates, published)
	}
}
