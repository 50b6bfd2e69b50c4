package static_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// relay is a TCP relay in front of a gateway: the network path between the
// browser and it, which the tests break in the ways real paths break.
type relay struct {
	t        *testing.T
	ln       net.Listener
	upstream string
	// helloCut: every WebSocket passes the upgrade and the server's first
	// line (its hello), then the relay closes it, as a proxy that cuts
	// upgraded connections does.
	helloCut atomic.Bool
	// rate, when set before connections are made, meters what the gateway
	// sends to the browser to this many bytes a second, with small socket
	// buffers: a slow mobile link.
	rate atomic.Int64

	mu      sync.Mutex
	streams []*relayConn // the WebSocket and SSE connections so far
	conns   []net.Conn   // every socket, closed at the end
	done    chan struct{}
}

// relayConn is one client connection and its upstream.
type relayConn struct {
	frozen atomic.Bool
	c, up  net.Conn
}

func startRelay(t *testing.T, upstream string) *relay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{t: t, ln: ln, upstream: upstream, done: make(chan struct{})}
	go r.serve()
	t.Cleanup(func() {
		close(r.done)
		ln.Close()
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, c := range r.conns {
			c.Close()
		}
	})
	return r
}

func (r *relay) url() string { return "http://" + r.ln.Addr().String() }

// freeze makes every WebSocket and SSE connection so far stop forwarding,
// both ways, without closing: a NAT path that died silently.
func (r *relay) freeze() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.streams {
		c.frozen.Store(true)
	}
}

// cut closes every WebSocket and SSE connection so far.
func (r *relay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.streams {
		c.c.Close()
		c.up.Close()
	}
}

func (r *relay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		go r.handle(c)
	}
}

func (r *relay) handle(c net.Conn) {
	up, err := net.Dial("tcp", r.upstream)
	if err != nil {
		c.Close()
		return
	}
	r.mu.Lock()
	r.conns = append(r.conns, c, up)
	r.mu.Unlock()
	defer c.Close()
	defer up.Close()
	// The first request line says whether it is a WebSocket (browsers
	// open a connection of its own for each) or an SSE stream on a new
	// connection. An SSE stream may also follow other requests on a
	// kept-alive connection: copy spots it.
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return
	}
	rc := &relayConn{c: c, up: up}
	isWS := strings.Contains(line, " /v1/ws")
	if isWS || strings.Contains(line, " /v1/sse") {
		// An SSE stream that opens a connection of its own shows in this
		// first line, which copy below never sees.
		r.stream(rc)
	}
	if _, err := io.WriteString(up, line); err != nil {
		return
	}
	go r.copy(rc, up, br, true)
	if isWS && r.helloCut.Load() {
		cutAfterHello(c, up)
		return
	}
	if rate := int(r.rate.Load()); rate > 0 {
		_ = up.(*net.TCPConn).SetReadBuffer(8 << 10)
		r.copy(rc, metered{c, rate}, up, false)
		return
	}
	r.copy(rc, c, up, false)
}

func (r *relay) stream(rc *relayConn) {
	r.mu.Lock()
	r.streams = append(r.streams, rc)
	r.mu.Unlock()
}

// copy forwards src to dst until either fails or the path freezes; a
// frozen path holds its sockets open and forwards nothing more. requests:
// src is the browser's side, where an SSE request makes it a stream.
func (r *relay) copy(rc *relayConn, dst io.Writer, src io.Reader, requests bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if requests && bytes.Contains(buf[:n], []byte("GET /v1/sse")) {
			r.stream(rc)
		}
		if rc.frozen.Load() {
			<-r.done
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cutAfterHello forwards the upgrade response and the first line of the
// server's first WebSocket message (the gateway does not compress, and
// server frames are unmasked), then returns: the caller closes both.
func cutAfterHello(c net.Conn, up net.Conn) {
	br := bufio.NewReader(up)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, line); err != nil || line == "\r\n" {
			if err != nil {
				return
			}
			break
		}
	}
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return
	}
	if i := bytes.IndexByte(payload, '\n'); i >= 0 {
		payload = payload[:i]
	}
	frame := []byte{0x81} // final text frame
	if len(payload) < 126 {
		frame = append(frame, byte(len(payload)))
	} else {
		frame = append(frame, 126, byte(len(payload)>>8), byte(len(payload)))
	}
	c.Write(append(frame, payload...))
}

// A proxy passes the WebSocket upgrade and the hello, then closes, every
// time: the client counts those as failures, moves to SSE within 20 s
// with at most 6 WebSocket attempts in all (its probes back up included),
// and gets every event, once, in order.
func TestBrowserHelloThenCloseFallsBackToSSE(t *testing.T) {
	h := newHarness(t)
	r := startRelay(t, h.addr)
	r.helloCut.Store(true)
	ctx := browser(t)
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(r.url()+"/__test.html?probe=5000")); err != nil {
		t.Fatal(err)
	}
	await(t, ctx, "SSE", func(s state) bool { return s.Transport == "sse" })
	took := time.Since(start)
	if took > 20*time.Second {
		t.Fatalf("on SSE after %v", took)
	}
	// Events through the next 20 s, while probes try WebSocket again.
	for time.Since(start) < 20*time.Second {
		h.publish(1)
		time.Sleep(200 * time.Millisecond) // a feed's pace, not a wait for anything
	}
	s := deliverAll(t, ctx, h, 5)
	attempts := h.hits["/v1/ws"].Load()
	t.Logf("on SSE after %v; %d WebSocket attempts in %v; statuses %v", took.Round(time.Millisecond), attempts,
		time.Since(start).Round(time.Second), s.Statuses)
	if attempts > 6 {
		t.Fatalf("%d WebSocket attempts, want at most 6", attempts)
	}
	if s.Transport != "sse" {
		t.Fatalf("ends on %q", s.Transport)
	}
}

// Under a heartbeat of 2 s, a quiet connection stays up (the server's ping
// messages are liveness the script sees); then the path freezes silently
// (the relay stops forwarding both ways and closes nothing): the client
// notices within 3 heartbeats, resumes with its cursor and gets every
// event once, in order.
func TestBrowserSilentFreeze(t *testing.T) {
	for _, tc := range []struct{ name, query string }{
		{"WebSocket", ""},
		{"SSE", "?nows=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const hb = 2 * time.Second
			h := startHarnessWith(t, &harness{heartbeat: hb})
			r := startRelay(t, h.addr)
			ctx := browser(t)
			if err := chromedp.Do(ctx, chromedp.Navigate(r.url()+"/__test.html"+tc.query)); err != nil {
				t.Fatal(err)
			}
			s := await(t, ctx, "open", func(s state) bool {
				return len(s.Statuses) > 0 && strings.HasPrefix(s.Statuses[len(s.Statuses)-1], "open/")
			})
			s = deliverAll(t, ctx, h, 10)
			// Quiet for 3 heartbeats: the server's ping messages keep the
			// client from taking the connection for dead.
			n := len(s.Statuses)
			time.Sleep(3 * hb) // nothing should happen: no event to await
			if s = read(t, ctx); len(s.Statuses) != n {
				t.Fatalf("a quiet connection was dropped: statuses %v", s.Statuses)
			}
			stop, stopped := make(chan struct{}), make(chan struct{})
			go func() { // events keep coming across the freeze
				defer close(stopped)
				for {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond): // a feed's pace
						h.publish(1)
					}
				}
			}()
			r.freeze()
			frozeAt := time.Now()
			s = await(t, ctx, "the freeze noticed", func(s state) bool { return len(s.Statuses) > n })
			noticed := time.Since(frozeAt)
			s = await(t, ctx, "open again", func(s state) bool {
				return strings.HasPrefix(s.Statuses[len(s.Statuses)-1], "open/")
			})
			close(stop)
			<-stopped
			s = deliverAll(t, ctx, h, 5)
			t.Logf("freeze noticed after %v; statuses %v; %d events", noticed.Round(time.Millisecond), s.Statuses, len(s.Events))
			if noticed > 3*hb {
				t.Fatalf("freeze noticed after %v, want within %v", noticed, 3*hb)
			}
		})
	}
}

// dotPage is a widget on ev.a whose status dot's classes, as they change,
// go to window.__dots and its updates to window.__w.
const dotPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>tickerd widget dot test</title></head><body>
<div id="w" data-tickerd-topics="ev.a"></div>
<script src="/ticker-widget.js"></script>
<script>
window.__dots = []; window.__w = [];
document.addEventListener("DOMContentLoaded", function () {
  var w = document.getElementById("w").tkdWidget, up = w.update, dot = w.dot;
  __dots.push(dot.className);
  new MutationObserver(function () {
    if (__dots[__dots.length - 1] !== dot.className) { __dots.push(dot.className); }
  }).observe(dot, {attributes: true});
  w.update = function (u) { __w.push(u.data.n); return up.call(this, u); };
});
</script>
</body></html>`

// The widget's connection is cut and comes back within a second: its dot
// stays green throughout, never grey (offline) nor amber.
func TestBrowserWidgetDotRidesOutQuickReconnect(t *testing.T) {
	h := newHarness(t)
	r := startRelay(t, h.addr)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(r.url()+"/__dot.html")); err != nil {
		t.Fatal(err)
	}
	type page struct {
		Dots   []string `json:"dots"`
		Events []int    `json:"w"`
	}
	read := func() page {
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({dots: window.__dots || [], w: window.__w || []})`))
		if err != nil {
			t.Fatal(err)
		}
		var p page
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wait := func(what string, cond func(page) bool) page {
		deadline := time.Now().Add(30 * time.Second)
		for {
			p := read()
			if cond(p) {
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %+v", what, p)
			}
			time.Sleep(50 * time.Millisecond) // the page's state is read by polling
		}
	}
	live := func(p page) bool { return len(p.Dots) > 0 && p.Dots[len(p.Dots)-1] == "tkd-dot tkd-on" }
	wait("a live dot", live)
	h.publish(1)
	wait("event 0", func(p page) bool { return len(p.Events) == 1 })
	before := h.hits["/v1/ws"].Load()
	r.cut()
	cutAt := time.Now()
	for h.hits["/v1/ws"].Load() == before {
		if time.Since(cutAt) > 10*time.Second {
			t.Fatal("the widget did not reconnect")
		}
		time.Sleep(10 * time.Millisecond) // no event tells the test of a reconnect
	}
	h.publish(1)
	p := wait("event 1", func(p page) bool { return len(p.Events) == 2 })
	back := time.Since(cutAt)
	t.Logf("reconnected and delivered within %v; dot classes %v", back.Round(time.Millisecond), p.Dots)
	if back > time.Second {
		t.Fatalf("the reconnect took %v: this client retries a working connection within minBackoff (500 ms)", back)
	}
	on := "tkd-dot tkd-on"
	for _, d := range p.Dots[slices.Index(p.Dots, on):] {
		if d != on {
			t.Fatalf("the dot turned %q after it was live: %v", d, p.Dots)
		}
	}
}

// metered writes at most rate bytes a second, in chunks of a tenth of it.
type metered struct {
	w    io.Writer
	rate int
}

func (m metered) Write(p []byte) (int, error) {
	chunk, done := max(m.rate/10, 1), 0
	for done < len(p) {
		n := min(chunk, len(p)-done)
		if _, err := m.w.Write(p[done : done+n]); err != nil {
			return done, err
		}
		done += n
		time.Sleep(time.Duration(n) * time.Second / time.Duration(m.rate)) // the link's pace
	}
	return done, nil
}
