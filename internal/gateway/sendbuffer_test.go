package gateway

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/api"
)

// Every accepted connection has its send buffer capped, as the kernel
// reports it back: Linux doubles what is set, for its bookkeeping
// (socket(7)).
func TestSendBufferCapped(t *testing.T) {
	sndbuf := func(c net.Conn) int {
		t.Helper()
		rc, err := c.(syscall.Conn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var v int
		var gerr error
		if err := rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF) }); err != nil || gerr != nil {
			t.Fatal(err, gerr)
		}
		return v
	}
	accept := func(ln net.Listener) net.Conn {
		t.Helper()
		go func() {
			if nc, err := net.Dial("tcp", ln.Addr().String()); err == nil {
				t.Cleanup(func() { nc.Close() })
			}
		}()
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	kernels := sndbuf(accept(plain))

	for _, tc := range []struct {
		name      string
		set, want int
	}{
		{"default", 0, 2 * DefaultSendBuffer},
		{"set", 32 << 10, 64 << 10},
		{"kernel's", -1, kernels},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			e := newEdge(Config{SendBuffer: tc.set, Logger: quiet}, api.NewClients(noClientCaps), prometheus.NewRegistry())
			c := accept(e.listener(ln))
			if got := sndbuf(c.(*conn).Conn); got != tc.want {
				t.Errorf("SO_SNDBUF %d, want %d (the kernel's own is %d)", got, tc.want, kernels)
			}
		})
	}
}

// A subscriber that stops reading is found by its bounded queue once the
// kernel's buffers between it and the gateway are full. With the send
// buffer capped they hold a couple of hundred KiB; left to the kernel,
// whose buffer grows to net.ipv4.tcp_wmem's maximum, megabytes, which
// the client still gets before it learns it was cut off.
func TestStalledSubscriberHeldByQueueNotKernel(t *testing.T) {
	held := func(sendBuffer int) (events int, kernel int64) {
		g, base := serveGateway(t, Config{SendBuffer: sendBuffer, Clients: noClientCaps})
		nc, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		fmt.Fprintf(nc, "GET /v1/sse?topics=stall.> HTTP/1.1\r\nHost: tickerd\r\n\r\n")
		br := bufio.NewReader(nc)
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("sse: %v %v", resp, err)
		}
		// It reads no more. 1 KB events, 100 a publish, until its queue
		// overflows.
		pad := strings.Repeat("x", 1000)
		for metric(t, g, "tickerd_slow_consumers_total") == 0 {
			if events >= 50000 {
				t.Fatalf("%d events published and the stalled subscriber was not found slow", events)
			}
			var b strings.Builder
			for range 100 {
				fmt.Fprintf(&b, `{"topic":"stall.a","kind":"event","data":{"pad":%q}}`+"\n", pad)
			}
			mustPublish(t, base, b.String())
			events += 100
		}
		// Closed: what it can still read is what the kernel held.
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, br)
		if err != nil {
			t.Fatalf("reading what was held: %v", err)
		}
		return events, n + int64(br.Buffered())
	}
	capped, cappedHeld := held(0)
	free, freeHeld := held(-1)
	t.Logf("a stalled subscriber is closed after %d events with %d KiB in kernel buffers with the default --send-buffer, after %d events with %d KiB with the kernel's own",
		capped, cappedHeld>>10, free, freeHeld>>10)
	if cappedHeld > 512<<10 {
		t.Errorf("with the send buffer capped at %d KiB the kernel held %d KiB", DefaultSendBuffer>>10, cappedHeld>>10)
	}
}
