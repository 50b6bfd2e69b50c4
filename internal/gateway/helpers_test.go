package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/hubtest"

	"github.com/coder/websocket"
)

const testToken = "test-token"

// testGateway starts a gateway on an embedded NATS and serves it over a real
// loopback HTTP server. It waits until the gateway is ready.
func testGateway(t *testing.T, cfg Config) (*Gateway, *httptest.Server) {
	t.Helper()
	g := startGateway(t, cfg)
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		g.Close()
	})
	return g, srv
}

// startGateway starts a gateway with the tests' defaults (a publish token,
// a silent log, an embedded NATS in a temporary directory) and waits
// until it has loaded the stream. The caller serves it and closes it.
func startGateway(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	if cfg.PublishToken == "" {
		cfg.PublishToken = testToken
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.DataDir == "" && cfg.NATSURL == "" {
		cfg.DataDir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start gateway: %v", err)
	}
	select {
	case <-g.Hub().Loaded():
	case <-ctx.Done():
		g.Close()
		t.Fatal("gateway did not load the stream")
	}
	return g
}

// publish posts body to /v1/publish and returns the status and body.
func publish(t *testing.T, base, token, contentType, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/publish", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustPublish(t *testing.T, base, body string) {
	t.Helper()
	if code, resp := publish(t, base, testToken, "application/json", body); code != http.StatusOK {
		t.Fatalf("publish %s: %d %s", body, code, resp)
	}
}

// msg is any server message, decoded loosely for assertions.
type msg = hubtest.Msg

// wsClient reads server messages, several of which may share one
// WebSocket message, one per line.
type wsClient struct {
	t       *testing.T
	c       *websocket.Conn
	pending [][]byte
}

func dialWS(t *testing.T, base, query string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(base, "http") + "/v1/ws" + query
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(1 << 24)
	t.Cleanup(func() { c.CloseNow() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) next() msg {
	w.t.Helper()
	m, err := w.read(10 * time.Second)
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	return m
}

func (w *wsClient) read(timeout time.Duration) (msg, error) {
	for len(w.pending) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		_, b, err := w.c.Read(ctx)
		cancel()
		if err != nil {
			return msg{}, err
		}
		w.pending = bytes.Split(b, []byte("\n"))
	}
	line := w.pending[0]
	w.pending = w.pending[1:]
	var m msg
	if err := json.Unmarshal(line, &m); err != nil {
		w.t.Fatalf("server sent invalid JSON %q: %v", line, err)
	}
	return m, nil
}

// expect reads the next message and checks its type.
func (w *wsClient) expect(typ string) msg {
	w.t.Helper()
	m := w.next()
	if m.Type != typ {
		w.t.Fatalf("got %s message %+v, want %s", m.Type, m, typ)
	}
	return m
}

func (w *wsClient) send(s string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		w.t.Fatalf("write: %v", err)
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %d %q: %v", url, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// do runs req and returns the status and body.
func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// dialHeader opens a WebSocket with extra request headers.
func dialHeader(base, query string, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/ws"+query, &websocket.DialOptions{HTTPHeader: hdr})
}
