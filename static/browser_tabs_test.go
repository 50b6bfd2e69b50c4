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
// another takes over from its cursor and the nine left miss nothing.
func TestBrowserTabsShareOneConnection(t *testing.T) {
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
		go func() { nav <- chromedp.Do(tab, chromedp.Navigate(h.url()+"/__test.html?nows=1")) }()
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
	// The first tab leads (it asked for the lock first): it goes.
	closeFirst()
	h.publish(20)
	for _, tab := range tabs[1:] {
		s := await(t, tab, "event 39", func(s state) bool { return len(s.Events) >= 40 })
		checkEvents(t, s, 39)
	}
	t.Logf("%d SSE requests in all", h.hits["/v1/sse"].Load())
}
