package static_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Ten tabs of one origin over HTTP/1.1, without WebSocket: a connection
// per tab would leave four of them waiting forever behind the browser's
// six connections per host. They share one SSE stream: every tab goes
// live and gets every event, once, in order. Then the leading tab closes;
// another takes over from its cursor and the nine left miss nothing. The
// same with each way of electing the leader and of carrying messages
// between tabs: a Web Lock and a BroadcastChannel (a secure page of a
// current browser), a lease over a BroadcastChannel (no locks: a plain
// HTTP page), a lease over localStorage's storage events (neither: older
// browsers).
func TestBrowserTabsShareOneConnection(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		locks, bc   bool // what the page must have
	}{
		{"Web Locks and BroadcastChannel", "", true, true},
		{"lease over BroadcastChannel", "&nolocks=1", false, true},
		{"lease over localStorage", "&nolocks=1&nobc=1", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			browserCtx := browser(t)
			var tabs []context.Context
			var closeFirst context.CancelFunc
			for i := range 10 {
				tab, cancel := chromedp.NewContext(browserCtx)
				t.Cleanup(cancel)
				if i == 0 {
					closeFirst = cancel
				}
				// A tab the browser cannot serve would hang its navigation.
				nav := make(chan error, 1)
				go func() { nav <- chromedp.Do(tab, chromedp.Navigate(h.url()+"/__test.html?nows=1"+tc.query)) }()
				select {
				case err := <-nav:
					if err != nil {
						t.Fatalf("tab %d: %v", i, err)
					}
				case <-time.After(20 * time.Second):
					t.Fatalf("tab %d did not load in 20 s", i)
				}
				await(t, tab, fmt.Sprintf("tab %d open", i), func(s state) bool {
					return len(s.Statuses) > 0 && strings.HasPrefix(s.Statuses[len(s.Statuses)-1], "open/")
				})
				tabs = append(tabs, tab)
			}
			has, err := chromedp.Run(tabs[0], chromedp.Evaluate[[]bool](`[!!navigator.locks, !!window.BroadcastChannel]`))
			if err != nil {
				t.Fatal(err)
			}
			if has[0] != tc.locks || has[1] != tc.bc {
				t.Fatalf("the page has locks %v and BroadcastChannel %v, want %v and %v", has[0], has[1], tc.locks, tc.bc)
			}
			h.publish(20)
			for i, tab := range tabs {
				s := await(t, tab, "event 19", func(s state) bool { return len(s.Events) >= 20 })
				checkEvents(t, s, 19)
				if s.Transport != "sse" {
					t.Fatalf("tab %d on %q", i, s.Transport)
				}
			}
			if n := h.hits["/v1/sse"].Load(); n != 1 {
				t.Fatalf("%d SSE requests for 10 tabs, want 1", n)
			}
			// The first tab leads (it asked for the lock first; it was
			// alone when its lease began): it goes, and events come at
			// once, before another tab has taken over.
			closeFirst()
			closed := time.Now()
			h.publish(20)
			for _, tab := range tabs[1:] {
				s := await(t, tab, "event 39", func(s state) bool { return len(s.Events) >= 40 })
				checkEvents(t, s, 39)
			}
			took := time.Since(closed)
			// One more stream: the new leader's. A second would be a
			// double lead the election did not settle.
			n := h.hits["/v1/sse"].Load()
			t.Logf("all nine tabs had the 20 events %v after the leader closed; %d SSE requests in all", took.Round(time.Millisecond), n)
			if n != 2 {
				t.Fatalf("%d SSE requests in all, want 2: the first leader's and its successor's", n)
			}
		})
	}
}
