package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The reply flood of issue #9: one WebSocket sends small invalid commands
// as fast as it can and never reads a byte. With the default settings the
// gateway reads its commands no faster than the command rate, so the rest
// waits in the socket, and ends it as a slow consumer once it has been
// held back for 10 s (were it read faster, its unread answers would fill
// its queue and end it the same way). It is cut off within a bounded time
// and the process grows by at most 64 MiB, while another subscriber keeps
// receiving.
func TestAttackReplyFlood(t *testing.T) {
	const (
		maxGrowth = 64 << 20
		// The abuser is cut off after 10 s held back by the command
		// rate and at most 1 s waiting for its close; the rest is room
		// for -race on a loaded machine.
		cutOffWithin = 30 * time.Second
		// A publish every interval; the subscriber must get each within
		// lateBy.
		interval = 50 * time.Millisecond
		lateBy   = 2 * time.Second
	)
	if !ownProcess(t) {
		return
	}
	_, srv := testGateway(t, Config{})
	mustPublish(t, srv.URL, `{"topic":"flood.live","kind":"event","data":{"n":-1}}`)
	sub := dialWS(t, srv.URL, "?topics=flood.live")
	sub.expect("hello")
	sub.expect("snapshot")

	// What the start-up left for the collector is not the attack's.
	runtime.GC()
	debug.FreeOSMemory()
	base, cpu0 := processMemory(t), processCPU(t)
	peak := base
	abuser := dialSilentWS(t, srv.URL)
	cut := make(chan error, 1)
	var sent int
	go func() {
		// 7-byte commands, each an error to answer.
		frames := bytes.Repeat(maskedText([]byte("garbage")), 4096)
		for {
			n, err := abuser.Write(frames)
			sent += n / 13
			if err != nil {
				cut <- err
				return
			}
		}
	}()

	start := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	got := make(chan msg, 64)
	go func() {
		for {
			m, err := sub.read(time.Minute)
			if err != nil {
				close(got)
				return
			}
			got <- m
		}
	}()
	published, received := 0, 0
	var lastRecv = time.Now()
	var cutAfter time.Duration
	for cutAfter == 0 {
		select {
		case err := <-cut:
			cutAfter = time.Since(start)
			t.Logf("abuser cut off after %v, having written %d commands (most never read): %v", cutAfter.Round(time.Millisecond), sent, err)
		case <-tick.C:
			mustPublish(t, srv.URL, fmt.Sprintf(`{"topic":"flood.live","kind":"event","data":{"n":%d}}`, published))
			published++
			if published%20 != 0 {
				break
			}
			// What the attack holds, not what the collector has yet to
			// take back: the old queue grew 1.65 GB of live answers.
			runtime.GC()
			debug.FreeOSMemory()
			rss := processMemory(t)
			peak = max(peak, rss)
			if rss-base > 4*maxGrowth {
				t.Fatalf("memory grew by %d MiB within %v; stopping the attack", (rss-base)>>20, time.Since(start).Round(time.Millisecond))
			}
			if time.Since(start) > cutOffWithin {
				t.Fatalf("abuser still connected after %v (RSS +%d MiB)", cutOffWithin, (peak-base)>>20)
			}
		case m, ok := <-got:
			if !ok {
				t.Fatal("the other subscriber's connection ended")
			}
			if m.Type != "update" {
				t.Fatalf("subscriber got %+v", m)
			}
			var d struct{ N int }
			if err := json.Unmarshal(m.Data, &d); err != nil || d.N != received {
				t.Fatalf("subscriber got %s, want event %d", m.Data, received)
			}
			received++
			lastRecv = time.Now()
		}
		if published > received+1 && time.Since(lastRecv) > lateBy {
			t.Fatalf("subscriber stalled: %d published, %d received, nothing for %v", published, received, time.Since(lastRecv).Round(time.Millisecond))
		}
	}
	t.Logf("memory (RSS; under -race the Go runtime's) %d MiB before, peak %d MiB: +%d MiB; CPU %v; subscriber got %d of %d events meanwhile",
		base>>20, peak>>20, (peak-base)>>20, (processCPU(t) - cpu0).Round(time.Millisecond), received, published)
	if peak-base > maxGrowth {
		t.Errorf("memory grew by %d MiB, want at most %d", (peak-base)>>20, maxGrowth>>20)
	}
	if received < published-2 {
		t.Errorf("subscriber got %d of %d events during the attack", received, published)
	}
}

// processMemory is the process's RSS, or, under the race detector, whose
// shadow memory grows with every allocation and is never given back, the
// memory the Go runtime holds (mapped, less what it released to the
// system): the figure the race detector does not distort.
func processMemory(t *testing.T) int64 {
	t.Helper()
	if raceEnabled {
		s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		return int64(s[0].Value.Uint64() - s[1].Value.Uint64())
	}
	return processRSS(t)
}

// processRSS reads this process's resident set size from /proc.
func processRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatalf("read VmRSS: %v", err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// processCPU is the CPU time, user and system, this process has used.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dialSilentWS opens a WebSocket by hand and returns the TCP connection after the
// handshake: a client that writes frames and reads nothing, not even the
// library's control frames.
func dialSilentWS(t *testing.T, base string) net.Conn {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /v1/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", u.Host)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	return c
}

// maskedText is one client text frame carrying p (shorter than 126 bytes).
func maskedText(p []byte) []byte {
	key := [4]byte{1, 2, 3, 4}
	b := []byte{0x81, 0x80 | byte(len(p)), key[0], key[1], key[2], key[3]}
	for i, c := range p {
		b = append(b, c^key[i%4])
	}
	return b
}
