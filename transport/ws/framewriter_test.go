package ws

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// tcpPair is a real loopback TCP connection: the server's end and the
// client's.
func tcpPair(t testing.TB) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// A client that reads nothing is cut off within the write timeout once its
// buffers are full, with the non-blocking attempt and without it.
func TestStalledClientCutWithinWriteTimeout(t *testing.T) {
	for _, raw := range []bool{true, false} {
		server, _ := tcpPair(t)
		const timeout = 300 * time.Millisecond
		w := newFrameWriter(server, timeout)
		if w.raw == nil {
			t.Fatal("a loopback TCP connection has no raw conn: the non-blocking attempt is never made")
		}
		if !raw {
			w.raw = nil
		}
		frame := make([]byte, 1<<20)
		start := time.Now()
		var err error
		for err == nil && time.Since(start) < 10*time.Second {
			err = w.writeFrame(frame)
		}
		took := time.Since(start)
		if err == nil {
			t.Fatalf("raw %v: writes to a client that reads nothing went on for %v", raw, took)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("raw %v: write failed with %v, want a timeout", raw, err)
		}
		if took > timeout+2*time.Second {
			t.Fatalf("raw %v: cut after %v, write timeout %v", raw, took, timeout)
		}
	}
}

// Every byte arrives, in order, whether it fits the send buffer or waits.
func TestFrameWriterWritesWhole(t *testing.T) {
	server, client := tcpPair(t)
	w := newFrameWriter(server, 5*time.Second)
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, int64(len(want))))
		got <- b
	}()
	for off := 0; off < len(want); off += 1 << 20 {
		if err := w.writeFrame(want[off : off+1<<20]); err != nil {
			t.Fatal(err)
		}
	}
	if b := <-got; string(b) != string(want) {
		t.Fatalf("read %d bytes, not what was written (%d)", len(b), len(want))
	}
}

// BenchmarkFrameWriter writes one 150-byte frame per op to a client that
// reads everything: with the non-blocking attempt (raw) and with a
// deadline set and cleared around every write, as before.
func BenchmarkFrameWriter(b *testing.B) {
	for _, raw := range []bool{true, false} {
		name := map[bool]string{true: "raw", false: "deadline"}[raw]
		b.Run(name, func(b *testing.B) {
			server, client := tcpPair(b)
			go func() { _, _ = io.Copy(io.Discard, client) }()
			w := newFrameWriter(server, 10*time.Second)
			if !raw {
				w.raw = nil
			}
			frame := make([]byte, 150)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := w.writeFrame(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
