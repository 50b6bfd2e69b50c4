package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// serveGateway starts a gateway as testGateway does, but serves it with
// Serve on a loopback listener, so that its connection edge (budget,
// per-client caps, send buffer) applies. It returns the base URL.
func serveGateway(t *testing.T, cfg Config) (*Gateway, string) {
	t.Helper()
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 2 * time.Second
	}
	g := startGateway(t, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		g.Close()
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(sctx, ln) }()
	t.Cleanup(func() { stop(); <-done })
	return g, "http://" + ln.Addr().String()
}

// from is an HTTP client whose connections come from the loopback address
// src: Linux routes all of 127.0.0.0/8 to lo, so a test has as many client
// addresses as it needs.
func from(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, ResponseHeaderTimeout: 5 * time.Second}}
}

// answer is how the gateway answered a request or an upgrade.
type answer struct {
	status     int
	code       string // of an error body
	retryAfter string
	closes     bool // Connection: close
	took       time.Duration
}

func answerOf(resp *http.Response, took time.Duration) answer {
	a := answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), closes: resp.Close, took: took}
	if resp.StatusCode >= 400 {
		var e apiError
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &e)
		a.code = e.Error.Code
	}
	return a
}

// held is a WebSocket or SSE subscription held open; close ends it.
type held struct{ close func() }

// openStream subscribes over transport ("ws" or "sse") with client and
// extra headers. It returns the open stream, or the refusal.
func openStream(t *testing.T, c *http.Client, base, transport string, hdr http.Header) (*held, answer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	switch transport {
	case "ws":
		ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/ws?topics=a.>",
			&websocket.DialOptions{HTTPClient: c, HTTPHeader: hdr})
		if err != nil {
			if resp == nil {
				t.Fatalf("ws: %v", err)
			}
			return nil, answerOf(resp, time.Since(start))
		}
		// The hello proves the session is served, not just upgraded.
		if _, b, err := ws.Read(ctx); err != nil || !strings.Contains(string(b), `"hello"`) {
			t.Fatalf("ws: first message %q, %v", b, err)
		}
		t.Cleanup(func() { ws.CloseNow() })
		return &held{close: func() { ws.CloseNow() }}, answer{status: http.StatusSwitchingProtocols, took: time.Since(start)}
	case "sse":
		sctx, scancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(sctx, http.MethodGet, base+"/v1/sse?topics=a.>", nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := c.Do(req)
		if err != nil {
			scancel()
			t.Fatalf("sse: %v", err)
		}
		a := answerOf(resp, time.Since(start))
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			scancel()
			return nil, a
		}
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil {
			t.Fatalf("sse: first line %q, %v", line, err)
		}
		end := func() { scancel(); resp.Body.Close() }
		t.Cleanup(end)
		return &held{close: end}, a
	}
	t.Fatalf("no transport %q", transport)
	return nil, answer{}
}

// get requests base+path with client.
func get(t *testing.T, c *http.Client, url string, hdr http.Header) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	a := answerOf(resp, time.Since(start))
	_, _ = io.Copy(io.Discard, resp.Body)
	return a
}

// eventually polls cond until it holds or timeout passes; there is no
// event to wait for when the server's side of a connection closes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refused checks that a is err code with its status and Retry-After,
// answered within a second.
func refused(t *testing.T, what string, a answer, status int, code string) {
	t.Helper()
	if a.status != status || a.code != code || a.retryAfter == "" || a.took > time.Second {
		t.Errorf("%s: %d %q Retry-After %q in %v, want %d %s with Retry-After within 1s", what, a.status, a.code, a.retryAfter, a.took, status, code)
	}
}
