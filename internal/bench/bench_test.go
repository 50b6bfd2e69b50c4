package bench_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/bench"
	"github.com/tickerd/tickerd/internal/bench/benchtest"
)

// The bench, briefly, against an in-process gateway with its embedded
// NATS: a few hundred subscribers over all three transports, every update
// delivered once, in order, with a latency.
func TestRunInProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 300
	res, err := bench.Run(ctx, bench.Options{
		Subscribers: n, Transport: bench.Mix, Topics: 4, Rate: 80,
		Warmup: 500 * time.Millisecond, Duration: 2 * time.Second, Drain: 20 * time.Second,
		Settle: 100 * time.Millisecond, SourceAddrs: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	tot := res.Total
	if tot.Connected != n || tot.Failed != 0 || tot.Dropped != 0 {
		t.Errorf("connected %d of %d, %d failed, %d dropped: %q", tot.Connected, n, tot.Failed, tot.Dropped, res.Errors)
	}
	if res.Published == 0 || tot.Deliveries == 0 || tot.Deliveries != tot.Expected {
		t.Errorf("published %d, delivered %d of %d expected", res.Published, tot.Deliveries, tot.Expected)
	}
	if tot.Lost != 0 || tot.OutOfOrder != 0 || tot.Duplicates != 0 || tot.Foreign != 0 || tot.Malformed != 0 {
		t.Errorf("lost %d, out of order %d, duplicates %d, foreign %d, malformed %d",
			tot.Lost, tot.OutOfOrder, tot.Duplicates, tot.Foreign, tot.Malformed)
	}
	if err := res.Err(); err != nil {
		t.Errorf("Err: %v", err)
	}
	if len(res.Groups) != 3 {
		t.Fatalf("%d transport groups, want ws, sse and poll", len(res.Groups))
	}
	for _, g := range append(res.Groups, tot) {
		l := g.Latency
		if l.Count == 0 || l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
			t.Errorf("%s latency: %+v", g.Transport, l)
		}
		if g.Deliveries == 0 || (g.Connected != n/3 && g.Transport != "all") {
			t.Errorf("%s: %d connected, %d deliveries", g.Transport, g.Connected, g.Deliveries)
		}
	}
	if res.Groups[2].Polls == 0 || res.Groups[2].MessagesPerPoll < 1 {
		t.Errorf("poll: %d responses, %.1f messages each", res.Groups[2].Polls, res.Groups[2].MessagesPerPoll)
	}
	if res.ServerCPUS <= 0 || res.After.RSS <= 0 || res.PerConnection.Go <= 0 {
		t.Errorf("server figures: CPU %.2fs, RSS %.0f, per connection %+v", res.ServerCPUS, res.After.RSS, res.PerConnection)
	}
	var table strings.Builder
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ws", "sse", "poll", "p99 ms", "clean:"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, table.String())
		}
	}
}

// Asked for more subscribers than the open-file limit allows, the bench
// refuses with a clear error before it starts anything: here a spawned
// "server" that would leave a file behind.
func TestRefusesOverTheOpenFileLimit(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "started")
	for _, o := range []bench.Options{
		{Subscribers: 10_000_000},
		{Subscribers: 10_000_000, Spawn: true, ServerCommand: []string{"/bin/sh", "-c", "touch " + marker}},
	} {
		start := time.Now()
		_, err := bench.Run(context.Background(), o)
		if !errors.Is(err, bench.ErrLimit) {
			t.Fatalf("Run with %d subscribers: %v, want ErrLimit", o.Subscribers, err)
		}
		var le *bench.LimitError
		if !errors.As(err, &le) || le.Max <= 0 || le.Max >= o.Subscribers || le.Limit == 0 {
			t.Fatalf("not a useful *LimitError: %#v", le)
		}
		for _, want := range []string{"refusing to start", "10000000 subscribers", "open-file limit", "at most"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("refusing took %v", d)
		}
		if err := bench.CheckLimits(o); !errors.Is(err, bench.ErrLimit) {
			t.Errorf("CheckLimits: %v", err)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the server was started before the refusal")
	}
	if err := bench.CheckLimits(bench.Options{Subscribers: 100}); err != nil {
		t.Fatalf("100 subscribers do not fit: %v", err)
	}
}

// Against a fake gateway that loses, repeats and reorders updates, the
// bench counts each, and Err says so.
func TestCountsWhatAGatewayGetsWrong(t *testing.T) {
	gw := benchtest.New(func(n uint64) benchtest.Fault {
		switch n {
		case 10, 11:
			return benchtest.Drop
		case 20:
			return benchtest.Twice
		case 30:
			return benchtest.Late
		}
		return benchtest.Deliver
	})
	defer gw.Close()
	const subs, rate = 6, 50
	res, err := bench.Run(context.Background(), bench.Options{
		URL: gw.URL, PublishToken: benchtest.Token, Subscribers: subs, Transport: bench.SSE, Topics: 1,
		Rate: rate, Warmup: 10 * time.Millisecond, Duration: 1500 * time.Millisecond, Drain: 10 * time.Second, Settle: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	tot := res.Total
	if tot.Lost != 2*subs || tot.Duplicates != subs || tot.OutOfOrder != subs {
		t.Errorf("lost %d, duplicates %d, out of order %d; want %d, %d, %d", tot.Lost, tot.Duplicates, tot.OutOfOrder, 2*subs, subs, subs)
	}
	if tot.Deliveries != tot.Expected-2*subs+subs {
		t.Errorf("%d deliveries of %d expected", tot.Deliveries, tot.Expected)
	}
	err = res.Err()
	if !errors.Is(err, bench.ErrLost) || !errors.Is(err, bench.ErrDisorder) || errors.Is(err, bench.ErrConnect) {
		t.Errorf("Err: %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []bench.Options{
		{Transport: "carrier-pigeon"},
		{Interest: "some"},
		{Rate: -1},
		{Kind: "rumour"},
		{Spawn: true},
		{URL: "ftp://x"},
		{URL: "http://127.0.0.1:1", Rate: 1},
		{NATSURL: "nats://127.0.0.1:4222"},
		{URL: "http://127.0.0.1:1", CPUProfile: "cpu.pprof"},
	} {
		if _, err := bench.Run(context.Background(), o); !errors.Is(err, bench.ErrOptions) {
			t.Errorf("%+v: %v, want ErrOptions", o, err)
		}
	}
}

// Cancelling the context stops a run promptly.
func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	logs := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		_, err := bench.Run(ctx, bench.Options{Subscribers: 20, Rate: 10, Duration: time.Hour, Settle: time.Millisecond, Log: chanWriter(logs)})
		done <- err
	}()
	for publishing := false; !publishing; { // cancel once it publishes
		select {
		case line := <-logs:
			publishing = strings.Contains(line, "publishing")
		case err := <-done:
			t.Fatalf("the run ended before publishing: %v", err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not stop")
	}
}

// chanWriter sends each write to a channel, or drops it when full.
type chanWriter chan string

func (c chanWriter) Write(p []byte) (int, error) {
	select {
	case c <- string(p):
	default:
	}
	return len(p), nil
}
