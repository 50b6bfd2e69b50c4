package bench_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/internal/bench"
)

func TestMarkdownReport(t *testing.T) {
	sc := map[string]bench.Scenario{}
	for _, s := range bench.Standard() {
		sc[s.Name] = s
	}
	good := &bench.Result{Subscribers: 10000, Rate: 50, DurationS: 10, CPUPerMillion: 1.9,
		Total: bench.Group{Transport: "ws", Subscribers: 10000, Connected: 10000, Deliveries: 5_000_000, Expected: 5_000_000,
			DeliveriesRate: 500_000, ExpectedRate: 500_000, Latency: bench.Latency{Count: 5_000_000, P50: 3, P90: 9, P99: 31, Max: 80}}}
	lossy := &bench.Result{Subscribers: 10000, Rate: 2000, DurationS: 10,
		Total: bench.Group{Transport: "ws", Subscribers: 10000, Connected: 10000, Deliveries: 199_990, Expected: 200_000, Lost: 10,
			Latency: bench.Latency{Count: 199_990, P50: 1, P90: 2, P99: 3, Max: 4}}}
	// Three rounds against the ceiling server: the median ratio is 1.10.
	var fanout, ceil []*bench.Result
	for _, cpu := range []float64{7.0, 6.6, 9.0} {
		fanout = append(fanout, &bench.Result{Subscribers: 5000, Rate: 10, DurationS: 10, CPUPerMillion: cpu,
			Total: bench.Group{Transport: "ws", Subscribers: 5000, Connected: 5000, DeliveriesRate: 50_000, ExpectedRate: 50_000}})
		ceil = append(ceil, &bench.Result{Subscribers: 5000, Rate: 10, DurationS: 10, CPUPerMillion: 6,
			Total: bench.Group{Transport: "ws", Subscribers: 5000, Connected: 5000, DeliveriesRate: 50_000, ExpectedRate: 50_000}})
	}
	comparison := &bench.Comparison{MedianRatio: 1.1}
	for i := range fanout {
		comparison.Rounds = append(comparison.Rounds, bench.Round{Tickerd: fanout[i], Ceiling: ceil[i], Ratio: fanout[i].CPUPerMillion / 6})
	}
	idle := &bench.Result{Subscribers: 15000, PerConnection: bench.Memory{RSS: 20 * 1024, Go: 9 * 1024},
		Total: bench.Group{Transport: "ws", Subscribers: 15000, Connected: 15000}}
	rep := &bench.Report{Command: "tickerd bench --spawn --scenarios standard", Cores: 2, GoVersion: "go1.26",
		Notes: "Run while other tests ran.",
		Runs: []bench.ScenarioRun{
			{Scenario: sc["idle-ws"], Command: "tickerd bench --spawn --subscribers 15000", Result: idle},
			{Scenario: sc["ws-fanout"], Command: "tickerd bench --spawn --ceiling --rounds 3 --subscribers 5000 --rate 10", Result: fanout[1], Ceiling: comparison},
			{Scenario: sc["ws-one"], Command: "tickerd bench --spawn --subscribers 10000 --rate 50", Result: good},
			{Scenario: sc["ws-spread"], Command: "tickerd bench --spawn --subscribers 10000 --topics 1000 --rate 2000", Result: lossy},
			{Scenario: sc["sse-one"], Err: errors.New("boom")},
		},
		HubBench: "BenchmarkFanout/subscribers=1-2   \t 1000\t 500 ns/op\t 500.0 ns/delivery\t 100 B/op\t 2 allocs/op\n" +
			"BenchmarkFanout/subscribers=10000-2\t 10\t 9000000 ns/op\t 900.0 ns/delivery\t 120 B/op\t 2 allocs/op\n" +
			"BenchmarkPollBehind/ring/handler-2  \t  176341\t      6768 ns/op\t         6.612 cpu-µs/op\n",
	}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| 15,000 idle WebSocket connections | server memory ≤ 11 KiB per connection | 20.0 KiB RSS per connection | **no** |",
		"| 10,000 WS subscribers, one topic, 50 msgs/s (overload: one core) | all 500,000 deliveries/s sustained, 0 lost, ≤ 3 server CPU s per 1M deliveries; p99 ≤ 50 ms | 500000 deliveries/s, 1.90 server CPU s per 1M, p99 31.0 ms | yes |",
		"| 5,000 WS subscribers, one topic, 10 msgs/s, against the ceiling server | server CPU per 1M deliveries ≤ 1.18× the ceiling server's in the same run (≥ 85% of it), 0 lost | 6.60 server CPU s per 1M deliveries (the bench's own 0.00); 1.10× the ceiling server's (median of 3 rounds: 1.17, 1.10, 1.50) | yes |",
		"| ws-fanout (ceiling server, same round) | 5000 / 5000 |",
		"| a long poll whose answer is in the ring (micro-benchmark) | ≤ 30 µs of server CPU per request | 6.6 µs | yes |",
		"p99 3.00 ms; 10 lost",
		"did not run: boom",
		"2 allocs/update with 1 subscriber(s), 2 with 10000: 0.0000 per subscriber per delivery | yes |",
		"tickerd bench --spawn --subscribers 10000 --topics 1000 --rate 2000   # ws-spread",
		"2 cores",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q:\n%s", want, md)
		}
	}
	if got := bench.KeptNotes([]byte(md)); got != rep.Notes {
		t.Errorf("notes read back as %q", got)
	}
}

// The standard scenarios are issue 5's and 11's, each with a goal it can
// be held to; ws-fanout alone compares with the ceiling server.
func TestStandardScenarios(t *testing.T) {
	want := map[string]int{"ws-fanout": 5000, "idle-ws": 15000, "idle-sse": 15000, "ws-one": 10000, "ws-spread": 10000, "sse-one": 5000, "poll-one": 5000, "poll-backlog": 5000, "firehose": 10}
	got := bench.Standard()
	if len(got) != len(want) {
		t.Fatalf("%d scenarios, want %d", len(got), len(want))
	}
	for _, sc := range got {
		if want[sc.Name] != sc.Options.Subscribers || sc.Check == nil || sc.Goal == "" {
			t.Errorf("%s: %d subscribers, goal %q", sc.Name, sc.Options.Subscribers, sc.Goal)
		}
		if sc.OwnNATS != (sc.Name == "firehose") {
			t.Errorf("%s: NATS in a process of its own: %v", sc.Name, sc.OwnNATS)
		}
		if (sc.Ceiling > 0) != (sc.Name == "ws-fanout") {
			t.Errorf("%s: compared with the ceiling server at %v×", sc.Name, sc.Ceiling)
		}
	}
}
