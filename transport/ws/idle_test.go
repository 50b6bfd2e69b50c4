package ws_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/ws"
)

// An idle subscriber holds no goroutine: between messages its connection
// waits in the readiness poller, and its reader runs only when the client
// sends something. It still answers what the client sends next: a ping
// frame gets a pong, a command its ack; one the client closed while it
// waited ends its session.
func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the readiness poller is Linux's; elsewhere a reader keeps a goroutine")
	}
	f := newFixture(t, transport.Options{}, ws.Options{})
	const n = 200
	before := runtime.NumGoroutine()
	conns := make([]*rawClient, n)
	for i := range conns {
		conns[i] = dialRaw(t, f, "?topics=idle.a")
		conns[i].expectLine(t, `"type":"hello"`)
		conns[i].expectLine(t, `"type":"snapshot"`)
	}
	// Those that served the handshakes are gone once each is answered.
	waitGoroutines(t, before, n/10)
	t.Logf("%d goroutines more for %d idle connections", runtime.NumGoroutine()-before, n)
	deadline := time.Now().Add(10 * time.Second)

	// An idle connection wakes for what its client sends. Pings are
	// answered without leaving a goroutine behind (the library, having
	// answered one, would wait in its read for a data message).
	settled := runtime.NumGoroutine()
	for _, c := range conns[:20] {
		c.send(t, 0x9, []byte("are you there"))
		if op, payload := c.frame(t); op != 0xA || string(payload) != "are you there" {
			t.Fatalf("a ping got opcode %#x %q, want its pong", op, payload)
		}
	}
	waitGoroutines(t, settled, 10)
	c := conns[n/2]
	c.send(t, 0x1, []byte(`{"type":"subscribe","id":"s1","topics":["idle.b"]}`))
	c.expectLine(t, `"type":"ack"`)
	// And again, once it waited again.
	c.send(t, 0x1, []byte(`{"type":"unsubscribe","id":"u1","topics":["idle.b"]}`))
	c.expectLine(t, `"id":"u1"`)

	for _, c := range conns {
		c.nc.Close()
	}
	for f.hub.SessionCount() != 0 {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("%d sessions left after their clients closed", f.hub.SessionCount())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rawClient speaks WebSocket over a plain TCP connection, with no
// goroutine of its own, so that the test counts the server's.
type rawClient struct {
	nc    net.Conn
	br    *bufio.Reader
	lines []string
}

func dialRaw(t *testing.T, f *fixture, query string) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	fmt.Fprintf(nc, "GET /%s HTTP/1.1\r\nHost: tickerd\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", query)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	return &rawClient{nc: nc, br: br}
}

// send writes one final, masked frame.
func (c *rawClient) send(t *testing.T, op byte, payload []byte) {
	t.Helper()
	if len(payload) > 125 {
		t.Fatal("a test frame is short")
	}
	mask := [4]byte{1, 2, 3, 4}
	b := append([]byte{0x80 | op, 0x80 | byte(len(payload))}, mask[:]...)
	for i, x := range payload {
		b = append(b, x^mask[i%4])
	}
	if _, err := c.nc.Write(b); err != nil {
		t.Fatal(err)
	}
}

// frame reads one server frame: unmasked, and final here.
func (c *rawClient) frame(t *testing.T) (op byte, payload []byte) {
	t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var head [2]byte
	if _, err := io.ReadFull(c.br, head[:]); err != nil {
		t.Fatal(err)
	}
	n := uint64(head[1] & 0x7F)
	switch n {
	case 126:
		var l [2]byte
		_, _ = io.ReadFull(c.br, l[:])
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		_, _ = io.ReadFull(c.br, l[:])
		n = binary.BigEndian.Uint64(l[:])
	}
	if head[0]&0x80 == 0 || head[1]&0x80 != 0 {
		t.Fatalf("frame header %#x %#x: want final and unmasked", head[0], head[1])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		t.Fatal(err)
	}
	return head[0] & 0x0F, payload
}

// expectLine reads server messages until one line contains want.
func (c *rawClient) expectLine(t *testing.T, want string) {
	t.Helper()
	for {
		for len(c.lines) > 0 {
			line := c.lines[0]
			c.lines = c.lines[1:]
			if strings.Contains(line, want) {
				return
			}
		}
		op, payload := c.frame(t)
		if op == 0x1 {
			c.lines = strings.Split(string(bytes.TrimSpace(payload)), "\n")
		}
	}
}

// waitGoroutines waits until the process has at most most goroutines more
// than before, for 10 s at most: goroutines end on their own time.
func waitGoroutines(t *testing.T, before, most int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine()-before > most {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines more than before, want at most %d", runtime.NumGoroutine()-before, most)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
