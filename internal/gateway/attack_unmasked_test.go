package gateway

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rawWS is a WebSocket client written by hand over TCP, so that it can
// break the protocol as no library would.
type rawWS struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

// dialRawWS opens a TCP connection to the gateway and does the opening
// handshake.
func dialRawWS(t *testing.T, base, query string) *rawWS {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	nc, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(nc, "GET /v1/ws"+query+" HTTP/1.1\r\nHost: "+host+"\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols ||
		resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
	return &rawWS{t: t, nc: nc, br: br}
}

// readFrame reads one server frame: server frames are never masked nor,
// from this server, fragmented.
func (w *rawWS) readFrame() (opcode byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		w.t.Fatalf("the server sent a masked frame: % x", h)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(w.br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(w.br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n > 1<<20 {
		w.t.Fatalf("frame of %d bytes", n)
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(w.br, payload)
	return h[0] & 0x0f, payload, err
}

// TestAttackUnmaskedFrame: a client frame without a mask breaks RFC 6455
// (section 5.1); the server closes with 1002, as docs/protocol.md section
// 5.2 says, then drops the connection, and goes on serving others.
func TestAttackUnmaskedFrame(t *testing.T) {
	g, srv := testGateway(t, Config{})
	cmd := `{"type":"subscribe","id":1,"topics":["b"]}`
	// FIN, text, no mask bit: a command; then an empty frame, after which
	// this client sends nothing more, not even its close frame.
	for _, frame := range [][]byte{append([]byte{0x81, byte(len(cmd))}, cmd...), {0x81, 0}} {
		unmasked(t, srv.URL, frame)
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.Hub().SessionCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions remain", g.Hub().SessionCount())
		}
		time.Sleep(5 * time.Millisecond) // the server decides; nothing to await
	}

	// Others are served as before.
	ws := dialWS(t, srv.URL, "?topics=stocks.AAPL")
	ws.expect("hello")
	ws.expect("snapshot")
}

// unmasked sends frame on a new WebSocket after its hello and checks that
// the server answers with close 1002 and drops the connection within
// about a second, though the client does not answer the close.
func unmasked(t *testing.T, base string, frame []byte) {
	t.Helper()
	w := dialRawWS(t, base, "?topics=stocks.AAPL")
	op, hello, err := w.readFrame()
	if err != nil || op != 1 || !strings.Contains(string(hello), `"type":"hello"`) {
		t.Fatalf("first frame: opcode %d %q, %v; want the hello", op, hello, err)
	}
	if _, err := w.nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	var closeCode uint16
	var reason string
	for closeCode == 0 {
		op, payload, err := w.readFrame()
		if err != nil {
			t.Fatalf("reading to the close frame: %v (the connection was dropped without one)", err)
		}
		switch op {
		case 1: // the snapshot of the request's topics may come first
		case 8:
			if len(payload) < 2 {
				t.Fatalf("close frame without a code: % x", payload)
			}
			closeCode, reason = binary.BigEndian.Uint16(payload), string(payload[2:])
		default:
			t.Fatalf("frame opcode %d: %q", op, payload)
		}
	}
	if closeCode != 1002 || !strings.Contains(reason, "protocol error") || !strings.Contains(reason, "unmasked") {
		t.Fatalf("closed with %d %q, want 1002 naming the unmasked frame", closeCode, reason)
	}
	// The server then drops the connection, waiting for the close frame
	// this client does not send no longer than protocol.md says (1 s).
	if _, _, err := w.readFrame(); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after the close frame: %v, want the connection closed", err)
	}
	if d := time.Since(sent); d > 3*time.Second {
		t.Fatalf("the connection was dropped %v after the breach, want about 1s", d)
	}
}
