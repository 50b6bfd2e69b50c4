package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/tickerd/tickerd/internal/hubtest"
	"github.com/tickerd/tickerd/internal/tlscert"
	"github.com/tickerd/tickerd/internal/tlscert/tlscerttest"
	"github.com/tickerd/tickerd/message"
)

// serveTLS serves g over TLS on a loopback port, certificate from r.
func serveTLS(t *testing.T, cfg Config, r *tlscert.Reloader) (*Gateway, string) {
	t.Helper()
	cfg.TLS = r.Config()
	cfg.Clients = noClientCaps
	return serveGateway(t, cfg)
}

// sseLines reads an event stream's lines.
type sseLines struct {
	t  *testing.T
	br *bufio.Reader
}

// await reads until the line want, failing on anything but lines.
func (s sseLines) await(want string) {
	s.t.Helper()
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			s.t.Fatalf("read: %v (waiting for %q)", err, want)
		}
		if strings.TrimSpace(line) == want {
			return
		}
	}
}

// servedSerial is the serial of the certificate a new connection to addr
// is shown.
func servedSerial(t *testing.T, addr string) int64 {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) // what is shown is under test, not trust
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// Over TLS: HTTP/2 is negotiated, an SSE stream runs on it (not taken
// over: HTTP/2 multiplexes), a WebSocket runs on HTTP/1.1 (WSS), both
// counted by the connection budget; replaced certificate files are
// served to new connections while those open go on.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, cert1 := tlscerttest.Write(t, dir, 1)
	certs, err := tlscert.Load(certFile, keyFile, 10*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	g, base := serveTLS(t, Config{}, certs)
	addr := strings.TrimPrefix(base, "http://")
	base = "https://" + addr
	pool := tlscerttest.Pool(cert1)

	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	defer h2.CloseIdleConnections()
	resp, err := h2.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.TLS.NegotiatedProtocol != "h2" {
		t.Fatalf("GET /healthz over %s (ALPN %q), want HTTP/2", resp.Proto, resp.TLS.NegotiatedProtocol)
	}
	// Plain HTTP on the TLS port gets no answer but a closed connection.
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Fatal("plain HTTP served on the TLS port")
	}

	hubtest.Publish(t, g.Hub(), g.Stream(), "ev.a", message.Event, `{"n":0}`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/v1/sse?topics=ev.a", nil)
	sresp, err := h2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	if sresp.ProtoMajor != 2 || sresp.StatusCode != 200 {
		t.Fatalf("SSE: %d over %s, want 200 over HTTP/2", sresp.StatusCode, sresp.Proto)
	}
	sse := sseLines{t, bufio.NewReader(sresp.Body)}
	sse.await("event: hello")
	sse.await("event: snapshot")

	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}}}
	wss, _, err := websocket.Dial(ctx, "wss://"+addr+"/v1/ws?topics=ev.a", &websocket.DialOptions{HTTPClient: h1})
	if err != nil {
		t.Fatalf("WSS: %v", err)
	}
	defer wss.CloseNow()
	wss.SetReadLimit(1 << 20)
	ws := &wsClient{t: t, c: wss}
	ws.expect("hello")
	ws.expect("snapshot")

	// Both are TCP connections of the edge's: the budget counts them.
	if n := metric(t, g, "tickerd_connections"); n < 2 {
		t.Errorf("tickerd_connections %v with an HTTP/2 and a WebSocket connection open, want 2 or more", n)
	}

	hubtest.Publish(t, g.Hub(), g.Stream(), "ev.a", message.Event, `{"n":1}`)
	sse.await("event: update")
	if m := ws.expect("update"); string(m.Data) != `{"n":1}` {
		t.Fatalf("WSS update %s", m.Data)
	}

	// Renewed files: a new connection is shown the new certificate, and
	// the connections made with the old one go on.
	_, _, cert2 := tlscerttest.Write(t, dir, 2)
	deadline := time.Now().Add(10 * time.Second)
	for servedSerial(t, addr) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the old certificate is still served 10s after its files were replaced")
		}
		time.Sleep(5 * time.Millisecond) // the next check; nothing to await
	}
	fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tlscerttest.Pool(cert2)}, ForceAttemptHTTP2: true}}
	if resp, err := fresh.Get(base + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("a client trusting only the new certificate: %v", err)
	} else {
		resp.Body.Close()
	}
	hubtest.Publish(t, g.Hub(), g.Stream(), "ev.a", message.Event, `{"n":2}`)
	sse.await("event: update")
	if m := ws.expect("update"); string(m.Data) != `{"n":2}` {
		t.Fatalf("WSS update after the renewal %s", m.Data)
	}
}

// The budget turns a TLS connection away before its handshake: it is a
// TCP connection like any other.
func TestTLSBudget(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, cert := tlscerttest.Write(t, dir, 1)
	certs, err := tlscert.Load(certFile, keyFile, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, base := serveTLS(t, Config{MaxConns: 1}, certs)
	addr := strings.TrimPrefix(base, "http://")
	hold, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: tlscerttest.Pool(cert)})
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, g, "tickerd_connections") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the held connection is not counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// The server's name, as tls.Dial takes it from the address: without
	// it the handshake would fail in the client, before the server saw it.
	host, _, _ := net.SplitHostPort(addr)
	c := tls.Client(nc, &tls.Config{RootCAs: tlscerttest.Pool(cert), ServerName: host})
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := c.Handshake(); err == nil {
		t.Fatal("a connection past the budget completed a handshake")
	} else if strings.Contains(err.Error(), "ServerName") {
		t.Fatalf("the client refused its own config: %v", err)
	}
	if n := metric(t, g, "tickerd_connections_over_budget_total"); n != 1 {
		t.Fatalf("over budget %v, want 1", n)
	}
}
