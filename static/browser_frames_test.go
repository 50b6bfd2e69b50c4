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

// framesPage opens a bare WebSocket (no client library) and records what
// Chromium makes of the server's frames; %s is the URL.
const framesPage = `(function () {
  var w = window.__w = {sizes: [], ns: [], snapshot: false, close: null, error: false};
  var ws = window.__ws = new WebSocket(%q);
  ws.onmessage = function (e) {
    w.sizes.push(e.data.length);
    e.data.split("\n").forEach(function (l) {
      var m = JSON.parse(l);
      if (m.type === "update") { w.ns.push(m.data.n); }
      if (m.type === "snapshot") { w.snapshot = true; w.sizes = []; }
    });
  };
  ws.onerror = function () { w.error = true; };
  ws.onclose = function (e) { w.close = {code: e.code, clean: e.wasClean}; };
  return true;
}())`

// framesState is window.__w.
type framesState struct {
	Sizes    []int
	Ns       []int
	Snapshot bool
	Close    *struct {
		Code  int
		Clean bool
	}
	Error bool
}

// Chromium, which fails a connection on any frame it finds wrong, reads
// the server's own framing: an update past 64 KiB (64-bit length), one of
// 1 KiB (16-bit), a burst batched into multi-line messages, and a close
// it starts, answered cleanly.
func TestBrowserWebSocketFrames(t *testing.T) {
	h := newHarness(t)
	ctx := browser(t)
	url := "ws://" + h.addr + "/v1/ws?topics=frames.e"
	// From the gateway's own origin, which any origin policy allows.
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url()+"/healthz")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(framesPage, url))); err != nil {
		t.Fatal(err)
	}
	read := func() framesState {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__w)`))
		if err != nil {
			t.Fatal(err)
		}
		var s framesState
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	await := func(what string, cond func(framesState) bool) framesState {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			s := read()
			if cond(s) {
				return s
			}
			if s.Error || s.Close != nil || time.Now().After(deadline) {
				t.Fatalf("waiting for %s: error %v, close %+v, %d updates, sizes %v", what, s.Error, s.Close, len(s.Ns), s.Sizes)
			}
			time.Sleep(50 * time.Millisecond) // the page's state is read by polling
		}
	}
	await("the snapshot", func(s framesState) bool { return s.Snapshot })

	const n = 200 // within the default queue: a burst past it ends the session as slow (4001)
	pads := func(i int) string {
		switch i {
		case 0:
			return strings.Repeat("x", 70<<10)
		case 1:
			return strings.Repeat("y", 1000)
		}
		return strings.Repeat("p", 300)
	}
	for _, batch := range [][2]int{{0, 1}, {1, 2}, {2, n}} {
		var us []message.Update
		for i := batch[0]; i < batch[1]; i++ {
			us = append(us, message.Update{Topic: "frames.e", Kind: message.Event, Time: time.Now(),
				Data: json.RawMessage(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, pads(i)))})
		}
		if _, _, err := h.pub.PublishBatch(context.Background(), us); err != nil {
			t.Fatal(err)
		}
	}
	s := await("every update", func(s framesState) bool { return len(s.Ns) >= n })
	for i, got := range s.Ns {
		if got != i {
			t.Fatalf("update %d at position %d", got, i)
		}
	}
	largest := 0
	for _, sz := range s.Sizes {
		largest = max(largest, sz)
	}
	t.Logf("%d updates in %d messages, the largest %d bytes", len(s.Ns), len(s.Sizes), largest)
	if largest <= 0xffff || len(s.Sizes) >= n {
		t.Fatalf("largest message %d bytes, %d messages for %d updates", largest, len(s.Sizes), n)
	}

	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__ws.close(1000, "bye"), true`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s = read(); s.Close == nil; s = read() {
		if time.Now().After(deadline) {
			t.Fatal("the close Chromium started was not answered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s.Close.Code != 1000 || !s.Close.Clean || s.Error {
		t.Fatalf("closed with %+v, error %v; want a clean 1000", *s.Close, s.Error)
	}
}
