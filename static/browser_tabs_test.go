package static_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
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
			tabs, cancels := openTabs(t, browser(t), h, 10, tc.query)
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
			cancels[0]()
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

// openTabs opens n tabs of the test page with query and waits until each
// is open.
func openTabs(t *testing.T, browserCtx context.Context, h *harness, n int, query string) ([]context.Context, []context.CancelFunc) {
	t.Helper()
	var tabs []context.Context
	var cancels []context.CancelFunc
	for i := range n {
		tab, cancel := chromedp.NewContext(browserCtx)
		t.Cleanup(cancel)
		// A tab the browser cannot serve would hang its navigation.
		nav := make(chan error, 1)
		go func() { nav <- chromedp.Do(tab, chromedp.Navigate(h.url()+"/__test.html?nows=1"+query)) }()
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
		tabs, cancels = append(tabs, tab), append(cancels, cancel)
	}
	return tabs, cancels
}

// lifecycle freezes a tab (as Chrome freezes a background tab: no timer,
// no event runs) or wakes it.
func lifecycle(t *testing.T, tab context.Context, st page.SetWebLifecycleStateState) {
	t.Helper()
	err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: st})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
}

// Without Web Locks, the leader holds a lease. A leader tab whose timers
// and stream stop without a word (frozen: no timer runs, its stream's
// events wait) loses it: a follower takes the lead within the lease and a
// beat, resumes from its cursor, and the followers miss nothing of what
// was published meanwhile. The old leader steps down on hearing the new
// one (Chromium delivers channel messages even to a frozen tab, so it may
// do so before it wakes), closing its stream; it too has every event
// once, in order, though its own stream and the new leader both had some
// for it.
func TestBrowserTabsLeaseTakesOverFromFrozenLeader(t *testing.T) {
	const lease = 3 * time.Second // ticker.js's LEASE
	for _, tc := range []struct{ name, query string }{
		{"over BroadcastChannel", "&nolocks=1"},
		{"over localStorage", "&nolocks=1&nobc=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tabs, _ := openTabs(t, browser(t), h, 4, tc.query)
			h.publish(5)
			for _, tab := range tabs {
				checkEvents(t, await(t, tab, "event 4", func(s state) bool { return len(s.Events) >= 5 }), 4)
			}
			lifecycle(t, tabs[0], page.SetWebLifecycleStateStateFrozen)
			frozen := time.Now()
			h.publish(5)
			for _, tab := range tabs[1:] {
				checkEvents(t, await(t, tab, "event 9", func(s state) bool { return len(s.Events) >= 10 }), 9)
			}
			took := time.Since(frozen)
			if n := h.hits["/v1/sse"].Load(); n != 2 {
				t.Fatalf("%d SSE requests after the takeover, want 2: the frozen leader's and one successor's", n)
			}
			if took > lease+2*time.Second {
				t.Fatalf("the followers had the events %v after the leader froze, want within the lease (%v) and a beat", took, lease)
			}
			lifecycle(t, tabs[0], page.SetWebLifecycleStateStateActive)
			woke := time.Now()
			for {
				down, err := chromedp.Run(tabs[0], chromedp.Evaluate[bool](`!__c._lead && !__c._conn`))
				if err != nil {
					t.Fatal(err)
				}
				if down {
					break
				}
				if time.Since(woke) > 3*time.Second {
					t.Fatal("the old leader still leads or holds its stream 3 s after it woke")
				}
				time.Sleep(20 * time.Millisecond) // the page's state is read by polling
			}
			stepped := time.Since(woke)
			h.publish(5)
			for _, tab := range tabs {
				checkEvents(t, await(t, tab, "event 14", func(s state) bool { return len(s.Events) >= 15 }), 14)
			}
			n := h.hits["/v1/sse"].Load()
			t.Logf("followers had the events %v after the leader froze; the old leader was down %v after it woke; %d SSE requests",
				took.Round(time.Millisecond), stepped.Round(time.Millisecond), n)
			if n != 2 {
				t.Fatalf("%d SSE requests in all, want 2", n)
			}
		})
	}
}

// A follower tab that falls silent (it answers no beat) has its
// patterns dropped by the leader after three beats, and the leader's
// connection carries its own topics only. The same code prunes with and
// without Web Locks; this runs with them, the browser's default here.
func TestBrowserTabsLeaderDropsSilentTab(t *testing.T) {
	h := newHarness(t)
	tabs, _ := openTabs(t, browser(t), h, 2, "")
	topics := func() string {
		s, err := chromedp.Run(tabs[0], chromedp.Evaluate[string](`__c._conn ? __c._conn.topics.join() : ""`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	awaitTopics := func(want string, within time.Duration) time.Duration {
		start := time.Now()
		for topics() != want {
			if time.Since(start) > within {
				t.Fatalf("the leader's connection has %q after %v, want %q", topics(), within, want)
			}
			time.Sleep(20 * time.Millisecond) // the page's state is read by polling
		}
		return time.Since(start)
	}
	if _, err := chromedp.Run(tabs[1], chromedp.Evaluate[any](`__c.subscribe(["ev.b"], function () {}), 0`)); err != nil {
		t.Fatal(err)
	}
	awaitTopics("ev.a,ev.b", 5*time.Second)
	// The tab stops hearing the channel, as if its script had stopped:
	// no pagehide, no word. (Chromium still delivers channel messages to
	// a tab it freezes, and Page.crash on a tab stalled the DevTools
	// session here.)
	if _, err := chromedp.Run(tabs[1], chromedp.Evaluate[any](`__c._bc.onmessage = null, __c._clear("tick"), 0`)); err != nil {
		t.Fatal(err)
	}
	took := awaitTopics("ev.a", 10*time.Second)
	t.Logf("the silent tab's topic was dropped %v after it fell silent", took.Round(time.Millisecond))
	// Three beats of a second, and a fourth that finds it silent.
	if took < 2*time.Second || took > 6*time.Second {
		t.Fatalf("the silent tab's topic was dropped after %v, want after 3 to 4 beats", took)
	}
	h.publish(3)
	checkEvents(t, await(t, tabs[0], "event 2", func(s state) bool { return len(s.Events) >= 3 }), 2)
}
