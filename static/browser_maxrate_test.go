package static_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tickerd/tickerd/message"
)

// rateClient is a second client on the test page, with maxRate 1 and
// transports "%s", recording into window.__r what it is given. It joins
// after the page's own client so that nothing is shared between them.
const rateClient = `(function () {
  window.__r = {states: [], events: [], merged: 0, open: false};
  var c = new Tickerd.Client("", {maxRate: 1, share: false, transports: "%s"});
  c.on("status", function (s) { if (s.indexOf("open/") === 0) { __r.open = true; } });
  c.subscribe(["rate.s", "rate.e"], function (u) {
    if (u.kind === "event") { __r.events.push(u.data.n); return; }
    if (!u.snapshot) { __r.states.push(u.data.n); __r.merged += u.merged || 0; }
  });
  window.__rc = c;
}())`

// rateSeen is window.__r.
type rateSeen struct {
	States []int `json:"states"`
	Events []int `json:"events"`
	Merged int   `json:"merged"`
	Open   bool  `json:"open"`
}

func readRate(t *testing.T, ctx context.Context) rateSeen {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__r || {})`))
	if err != nil {
		t.Fatal(err)
	}
	var r rateSeen
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func awaitRate(t *testing.T, ctx context.Context, what string, cond func(rateSeen) bool) rateSeen {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := readRate(t, ctx)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: page saw %+v", what, r)
		}
		time.Sleep(50 * time.Millisecond) // the page's state is read by polling
	}
}

// TestBrowserMaxRate: a client with maxRate 1 subscribed to a state topic
// updated 50 times a second for 4 s gets about one update a second, the
// last being the last published, and every event once, in order.
func TestBrowserMaxRate(t *testing.T) {
	for _, transport := range []string{"ws", "sse"} {
		t.Run(transport, func(t *testing.T) {
			h := newHarness(t)
			ctx := browser(t)
			open(t, ctx, h.url()+"/__test.html")
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](fmt.Sprintf(rateClient, transport))); err != nil {
				t.Fatal(err)
			}
			awaitRate(t, ctx, "the rated client open", func(r rateSeen) bool { return r.Open })

			const perSecond, seconds = 50, 4
			tick := time.NewTicker(time.Second / perSecond)
			defer tick.Stop()
			start, events, states := time.Now(), 0, 0
			for states < perSecond*seconds {
				<-tick.C
				us := []message.Update{{Topic: "rate.s", Kind: message.State, Time: time.Now(),
					Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, states))}}
				states++
				if states%10 == 0 { // 5 events a second
					us = append(us, message.Update{Topic: "rate.e", Kind: message.Event, Time: time.Now(),
						Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, events))})
					events++
				}
				if _, _, err := h.pub.PublishBatch(context.Background(), us); err != nil {
					t.Fatal(err)
				}
			}
			took := time.Since(start)
			last := states - 1
			r := awaitRate(t, ctx, fmt.Sprintf("state %d and event %d", last, events-1), func(r rateSeen) bool {
				return len(r.States) > 0 && r.States[len(r.States)-1] == last && len(r.Events) >= events
			})
			t.Logf("%s: %d state updates published in %v, %d delivered (%v), merged %d; %d events",
				transport, states, took.Round(time.Millisecond), len(r.States), r.States, r.Merged, len(r.Events))
			// One at once, then one a second over ~4 s, and the last held one.
			if len(r.States) > 6 || len(r.States) < 3 {
				t.Errorf("page got %d state updates in %v at max_rate 1, want 3..6: %v", len(r.States), took, r.States)
			}
			for i := 1; i < len(r.States); i++ {
				if r.States[i] <= r.States[i-1] {
					t.Errorf("state updates out of order: %v", r.States)
				}
			}
			// Each published update was delivered or replaced by one delivered.
			if r.Merged+len(r.States) != states {
				t.Errorf("merged %d + %d delivered, want the %d published", r.Merged, len(r.States), states)
			}
			if len(r.Events) != events {
				t.Fatalf("page got %d events, want %d: %v", len(r.Events), events, r.Events)
			}
			for i, n := range r.Events {
				if n != i {
					t.Fatalf("event %d at position %d: %v", n, i, r.Events)
				}
			}
		})
	}
}

// rateWidget puts a widget with data-tickerd-max-rate="1" on rate.s into
// the test page and records the updates it is given in window.__r.
const rateWidget = `(function () {
  window.__r = {states: [], events: [], merged: 0, open: false};
  var d = document.createElement("div"), s = document.createElement("script");
  d.setAttribute("data-tickerd-topics", "rate.s");
  d.setAttribute("data-tickerd-max-rate", "1");
  document.body.appendChild(d);
  s.src = "/ticker-widget.js";
  s.onload = function () {
    var w = d.tkdWidget, up = w.update, show = w.show;
    w.update = function (u) {
      if (!u.snapshot) { __r.states.push(u.data.n); __r.merged += u.merged || 0; }
      return up.call(this, u);
    };
    w.show = function (st) { if (st.indexOf("open/") === 0) { __r.open = true; } return show.call(this, st); };
  };
  document.body.appendChild(s);
}())`

// TestBrowserWidgetMaxRate: data-tickerd-max-rate reaches the server. A
// widget with max-rate 1 on a state topic published 20 times a second for
// 4 s is given about one update a second, each newer than the last, the
// last the last published, and the rest counted as merged.
func TestBrowserWidgetMaxRate(t *testing.T) {
	h := newHarness(t)
	ctx := browser(t)
	open(t, ctx, h.url()+"/__test.html")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](rateWidget)); err != nil {
		t.Fatal(err)
	}
	awaitRate(t, ctx, "the widget live", func(r rateSeen) bool { return r.Open })
	const perSecond, seconds = 20, 4
	tick := time.NewTicker(time.Second / perSecond)
	defer tick.Stop()
	start := time.Now()
	for n := range perSecond * seconds {
		<-tick.C
		us := []message.Update{{Topic: "rate.s", Kind: message.State, Time: time.Now(), Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}}
		if _, _, err := h.pub.PublishBatch(context.Background(), us); err != nil {
			t.Fatal(err)
		}
	}
	took, last := time.Since(start), perSecond*seconds-1
	r := awaitRate(t, ctx, fmt.Sprintf("state %d", last), func(r rateSeen) bool {
		return len(r.States) > 0 && r.States[len(r.States)-1] == last
	})
	t.Logf("%d state updates published in %v, the widget was given %d (%v), merged %d",
		last+1, took.Round(time.Millisecond), len(r.States), r.States, r.Merged)
	if len(r.States) > 6 || len(r.States) < 3 {
		t.Errorf("the widget got %d state updates in %v at max-rate 1, want 3..6: %v", len(r.States), took, r.States)
	}
	for i := 1; i < len(r.States); i++ {
		if r.States[i] <= r.States[i-1] {
			t.Errorf("state updates out of order: %v", r.States)
		}
	}
	if r.Merged+len(r.States) != last+1 {
		t.Errorf("merged %d + %d given, want the %d published", r.Merged, len(r.States), last+1)
	}
}
