package bench

import (
	"fmt"
	"strconv"
	"time"
)

// Scenario is a named bench run with the goal it is held to.
type Scenario struct {
	// Name is short, for flags and file names: "ws-one".
	Name string
	// Title says what runs, for people: "10,000 WS subscribers on one
	// topic, 50 msgs/s".
	Title string
	// Goal says what the run should reach.
	Goal string
	// Options are the run's; the caller adds where the server runs.
	Options Options
	// OwnNATS asks for NATS in a process of its own when the bench has
	// one to run (Options.NATSCommand), so that the server's CPU is the
	// gateway's alone.
	OwnNATS bool
	// Ceiling, when above 0, compares the run with the ceiling server
	// (CompareCeiling, in CeilingRounds rounds) and holds Tickerd to at
	// most this multiple of the ceiling's CPU per million deliveries.
	Ceiling float64
	// Check tells whether a result meets the goal, and the figure that
	// decides it.
	Check func(*Result) (met bool, figure string) `json:"-"`
}

// CeilingRounds is how many rounds a scenario's comparison with the
// ceiling server runs.
const CeilingRounds = 3

// Standard is the standard scenarios: idle connections for memory, then
// fan-out on each transport for throughput and latency (issue 5), and
// the cost of a delivery against the ceiling server and under overload
// (issue 11).
func Standard() []Scenario {
	const kb = 1024
	live := func(n int, tr string, topics int, rate float64) Options {
		return Options{Subscribers: n, Transport: tr, Topics: topics, Interest: Spread, Rate: rate,
			Warmup: 3 * time.Second, Duration: 10 * time.Second, Drain: 10 * time.Second, Settle: 2 * time.Second}
	}
	idle := func(n int, tr string) Options {
		return Options{Subscribers: n, Transport: tr, Warmup: time.Second, Duration: 2 * time.Second, Settle: 5 * time.Second}
	}
	backlog := live(5000, Poll, 1, 10)
	backlog.PollDelay = time.Second
	// The firehose: the gateway reads every update of the stream, as
	// every gateway does, though only one topic in 1,000 has subscribers
	// (their latency shows whether it keeps up: the stream is read in
	// order).
	firehose := live(10, WebSocket, 1000, 20000)
	firehose.Interest = One
	fanout := live(5000, WebSocket, 1, 10)
	fanout.Interest, fanout.Warmup, fanout.Duration, fanout.Drain, fanout.Settle = One, 2*time.Second, 10*time.Second, 5*time.Second, time.Second
	return []Scenario{
		{Name: "idle-ws", Title: "15,000 idle WebSocket connections", Goal: "server memory ≤ 11 KiB per connection",
			Options: idle(15000, WebSocket), Check: memoryGoal(11 * kb)},
		{Name: "idle-sse", Title: "15,000 idle SSE connections", Goal: "server memory ≤ 12 KiB per connection",
			Options: idle(15000, SSE), Check: memoryGoal(12 * kb)},
		{Name: "ws-fanout", Title: "5,000 WS subscribers, one topic, 10 msgs/s, against the ceiling server", Goal: "server CPU per 1M deliveries ≤ 1.18× the ceiling server's in the same run (≥ 85% of it), 0 lost",
			Options: fanout, Ceiling: 1.18, Check: costGoal()},
		{Name: "ws-one", Title: "10,000 WS subscribers, one topic, 50 msgs/s (overload: one core)", Goal: "all 500,000 deliveries/s sustained, 0 lost, ≤ 3 server CPU s per 1M deliveries; p99 ≤ 50 ms",
			Options: live(10000, WebSocket, 1, 50), Check: throughputGoal(50, 3)},
		{Name: "ws-spread", Title: "10,000 WS subscribers over 1,000 topics, 2,000 msgs/s in all", Goal: "p99 ≤ 20 ms, 0 lost",
			Options: live(10000, WebSocket, 1000, 2000), Check: latencyGoal(20)},
		{Name: "sse-one", Title: "5,000 SSE subscribers, one topic, 50 msgs/s", Goal: "p99 ≤ 50 ms, 0 lost",
			Options: live(5000, SSE, 1, 50), Check: latencyGoal(50)},
		{Name: "poll-one", Title: "5,000 long-poll clients, one topic, 10 msgs/s", Goal: "every update delivered, p99 ≤ 100 ms after publish",
			Options: live(5000, Poll, 1, 10), Check: latencyGoal(100)},
		{Name: "poll-backlog", Title: "5,000 long-poll clients, one topic, 10 msgs/s, polling 1 s after each response", Goal: "every update delivered, ≥ 5 messages per poll response when backlogged",
			Options: backlog, Check: perPollGoal(5)},
		{Name: "firehose", Title: "a gateway following 20,000 updates/s over 1,000 topics, 10 WS subscribers on one of them", Goal: "every update read from the stream, p99 ≤ 50 ms, 0 lost; server CPU per update read",
			Options: firehose, OwnNATS: true, Check: followGoal(50)},
	}
}

// clean is the part of every goal that nothing is lost, reordered or
// dropped.
func clean(r *Result) (bool, string) {
	if err := r.Err(); err != nil {
		return false, fmt.Sprintf("%d lost, %d out of order, %d failed, %d dropped", r.Total.Lost, r.Total.OutOfOrder+r.Total.Duplicates, r.Total.Failed, r.Total.Dropped)
	}
	return true, ""
}

func memoryGoal(perConn float64) func(*Result) (bool, string) {
	return func(r *Result) (bool, string) {
		fig := fmt.Sprintf("%s RSS per connection", kib(r.PerConnection.RSS))
		if ok, why := clean(r); !ok {
			return false, fig + "; " + why
		}
		return r.PerConnection.RSS <= perConn, fig
	}
}

func latencyGoal(p99 float64) func(*Result) (bool, string) {
	return func(r *Result) (bool, string) {
		fig := "p99 " + ms(r.Total.Latency.P99) + " ms"
		if ok, why := clean(r); !ok {
			return false, fig + "; " + why
		}
		return r.Total.Latency.Count > 0 && r.Total.Latency.P99 <= p99, fig
	}
}

// throughputGoal wants every subscriber to get every update at the
// rate asked for (within 1%: the window's edges), at most perMillion
// server CPU seconds per million deliveries, and a p99 latency.
func throughputGoal(p99, perMillion float64) func(*Result) (bool, string) {
	return func(r *Result) (bool, string) {
		fig := fmt.Sprintf("%.0f deliveries/s, %.2f server CPU s per 1M, p99 %s ms", r.Total.DeliveriesRate, r.CPUPerMillion, ms(r.Total.Latency.P99))
		if ok, why := clean(r); !ok {
			return false, fig + "; " + why
		}
		want := float64(r.Subscribers) * r.Rate
		return r.Total.DeliveriesRate >= 0.99*want && r.CPUPerMillion <= perMillion && r.Total.Latency.P99 <= p99, fig
	}
}

// costGoal reports the server CPU per million deliveries, which the
// scenario's comparison with the ceiling server judges, and wants nothing
// lost. An absolute figure would say more about the machine's load that
// day than about the server.
func costGoal() func(*Result) (bool, string) {
	return func(r *Result) (bool, string) {
		fig := fmt.Sprintf("%.2f server CPU s per 1M deliveries (the bench's own %.2f)", r.CPUPerMillion, r.BenchCPUPerMillion)
		if ok, why := clean(r); !ok {
			return false, fig + "; " + why
		}
		return true, fig
	}
}

// followGoal wants the gateway to have read every update published in
// the window (within 1%: the window's edges) and its few subscribers to
// get theirs within p99; the figure is what each update read cost.
func followGoal(p99 float64) func(*Result) (bool, string) {
	return func(r *Result) (bool, string) {
		fig := fmt.Sprintf("%.1f µs server CPU per update read, %.0f updates/s read, p99 %s ms", r.UpdateCPUUS, r.ServerUpdates/r.DurationS, ms(r.Total.Latency.P99))
		if r.NATSCPUS > 0 {
			fig += fmt.Sprintf("; NATS %.1f µs per update", r.NATSUpdateCPUUS)
		}
		if ok, why := clean(r); !ok {
			return false, fig + "; " + why
		}
		return r.ServerUpdates >= 0.99*float64(r.Published) && r.Total.Latency.Count > 0 && r.Total.Latency.P99 <= p99, fig
	}
}

func perPollGoal(n float64) func(*Result) (bool, string) {
	return func(r *Result) (bool, string) {
		fig := fmt.Sprintf("%.1f messages per poll response", r.Total.MessagesPerPoll)
		if ok, why := clean(r); !ok {
			return false, fig + "; " + why
		}
		return r.Total.MessagesPerPoll >= n, fig
	}
}

// Args returns the `tickerd bench` flags that ask for these options,
// leaving out what is left at its default and where the server runs.
func (o Options) Args() []string {
	o = o.withDefaults()
	d := Options{}.withDefaults()
	var a []string
	add := func(name, v, def string) {
		if v != def {
			a = append(a, "--"+name, v)
		}
	}
	itoa, ftoa := strconv.Itoa, func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	add("subscribers", itoa(o.Subscribers), itoa(d.Subscribers))
	add("transport", o.Transport, d.Transport)
	add("topics", itoa(o.Topics), itoa(d.Topics))
	add("interest", o.Interest, d.Interest)
	add("rate", ftoa(o.Rate), "0")
	add("size", itoa(o.Size), itoa(d.Size))
	add("kind", o.Kind, d.Kind)
	add("warmup", o.Warmup.String(), d.Warmup.String())
	add("duration", o.Duration.String(), d.Duration.String())
	add("drain", o.Drain.String(), d.Drain.String())
	add("settle", o.Settle.String(), d.Settle.String())
	add("poll-delay", o.PollDelay.String(), "0s")
	return a
}
