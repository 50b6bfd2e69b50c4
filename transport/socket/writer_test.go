package socket

import (
	"bytes"
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
		w := NewWriter(server, timeout)
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
			err = w.Write(frame)
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
func TestWriterWritesWhole(t *testing.T) {
	server, client := tcpPair(t)
	w := NewWriter(server, 5*time.Second)
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
		if err := w.Write(want[off : off+1<<20]); err != nil {
			t.Fatal(err)
		}
	}
	if b := <-got; string(b) != string(want) {
		t.Fatalf("read %d bytes, not what was written (%d)", len(b), len(want))
	}
}

// BenchmarkWriter writes one 150-byte frame per op to a client that
// reads everything: with the non-blocking attempt (raw) and with a
// deadline set and cleared around every write, as before.
func BenchmarkWriter(b *testing.B) {
	for _, raw := range []bool{true, false} {
		name := map[bool]string{true: "raw", false: "deadline"}[raw]
		b.Run(name, func(b *testing.B) {
			server, client := tcpPair(b)
			go func() { _, _ = io.Copy(io.Discard, client) }()
			w := NewWriter(server, 10*time.Second)
			if !raw {
				w.raw = nil
			}
			frame := make([]byte, 150)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := w.Write(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TryWrite never waits: to a client that reads nothing it keeps what the
// socket did not take, and reports it, at once. Whatever is written next
// (a control frame through Write here) goes after that rest, so the
// client reads every byte in order once it reads again; after WriteLast,
// TryWrite refuses.
func TestTryWriteKeepsTheRest(t *testing.T) {
	server, client := tcpPair(t)
	w := NewWriter(server, 5*time.Second)
	if !w.CanTry() {
		t.Fatal("a loopback TCP connection cannot be written without waiting")
	}
	var want []byte
	start := time.Now()
	rest := false
	for i := 0; !rest; i++ {
		bp := Buffer()
		*bp = append(*bp, bytes.Repeat([]byte{byte(i)}, 64<<10)...)
		want = append(want, *bp...)
		var err error
		if rest, err = w.TryWrite(*bp, bp); err != nil {
			t.Fatal(err)
		}
		if len(want) > 256<<20 {
			t.Fatal("256 MiB written to a client that reads nothing, and no rest kept")
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("filling the socket took %v: TryWrite waited", took)
	}
	control := []byte("control")
	want = append(want, control...)
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(client, int64(len(want))))
		got <- b
	}()
	if err := w.WriteLast(control); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("read %d bytes, not the %d written in order", len(b), len(want))
	}
	if _, err := w.TryWrite([]byte("late"), nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("TryWrite after WriteLast: %v, want net.ErrClosed", err)
	}
}
