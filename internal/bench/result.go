package bench

import (
	"errors"
	"fmt"
	"time"
)

// Result is what a run measured.
type Result struct {
	// Start is when the run started; Server says which gateway it measured.
	Start  time.Time `json:"start"`
	Server string    `json:"server"`
	// Mode is where the server ran: "in-process" (its CPU and memory
	// figures then include the bench's clients), "spawned" or "remote".
	Mode string `json:"mode"`
	// Cores is how many CPUs the machine has (runtime.NumCPU).
	Cores int `json:"cores"`

	// What was asked for.
	Transport   string  `json:"transport"`
	Interest    string  `json:"interest"`
	Subscribers int     `json:"subscribers"`
	Topics      int     `json:"topics"`
	Rate        float64 `json:"rate"`
	Size        int     `json:"size"`
	Kind        string  `json:"kind"`
	WarmupS     float64 `json:"warmup_s"`
	DurationS   float64 `json:"duration_s"`
	PollDelayS  float64 `json:"poll_delay_s,omitempty"`

	// Published counts the updates published in the measured window;
	// PublishedRate is that per second.
	Published     int64   `json:"published"`
	PublishedRate float64 `json:"published_per_s"`
	// PublishLateMS is the most an update was sent after its scheduled
	// time, in milliseconds: a publisher that falls behind (more than a
	// few ms) understates the load.
	PublishLateMS float64 `json:"publish_late_max_ms"`

	// Groups has one entry per transport used; Total sums them.
	Groups []Group `json:"groups"`
	Total  Group   `json:"total"`

	// ConnectS is how long opening and subscribing every subscriber took.
	ConnectS float64 `json:"connect_s"`

	// ServerCPUS is the server's CPU seconds in the measured window;
	// CPUPerMillion is that per million deliveries.
	ServerCPUS    float64 `json:"server_cpu_s"`
	CPUPerMillion float64 `json:"server_cpu_s_per_million"`
	// BenchCPUS is the bench process's CPU seconds in the window (with the
	// in-process server, the same as ServerCPUS); BenchCPUPerMillion is
	// that per million deliveries, to set beside the server's: a bench
	// that costs as much as the server may be the limit.
	BenchCPUS          float64 `json:"bench_cpu_s"`
	BenchCPUPerMillion float64 `json:"bench_cpu_s_per_million"`
	// MachineCPUS is the CPU seconds the whole machine was busy in the
	// window (Cores × DurationS at most); OtherCPUS is what processes
	// other than the bench and a spawned server took of it: noise.
	MachineCPUS float64 `json:"machine_cpu_s"`
	OtherCPUS   float64 `json:"other_cpu_s"`

	// Memory of the server before the subscribers connected, and once they
	// had, settled (Settle) — but before anything was published. With the
	// in-process server the heap is read after a GC.
	Before Memory `json:"memory_before"`
	After  Memory `json:"memory_after"`
	// PerConnection is (After - Before) / connected subscribers.
	PerConnection Memory `json:"memory_per_connection"`
	// End is the server's memory after the drain, the subscribers still
	// connected.
	End Memory `json:"memory_end"`
	// Sessions is the server's tickerd_sessions once the subscribers had
	// connected (long polls between requests hold none).
	Sessions float64 `json:"server_sessions"`

	// ServerDeliveries is the growth of the gateway's
	// tickerd_deliveries_total plus tickerd_replayed_total (what resumes and
	// long polls get) over the window; SlowConsumers of
	// tickerd_slow_consumers_total over the whole run.
	ServerDeliveries float64 `json:"server_deliveries"`
	SlowConsumers    float64 `json:"slow_consumers"`
	// ServerUpdates is the growth of tickerd_updates_received_total over
	// the window: the updates the gateway read from the stream, whoever
	// wanted them. UpdateCPUUS is the server's CPU per update read, in
	// microseconds.
	ServerUpdates float64 `json:"server_updates"`
	UpdateCPUUS   float64 `json:"server_cpu_us_per_update"`
	// NATSCPUS is the CPU seconds of NATS's own process over the window
	// (NATSCommand), and NATSUpdateCPUUS that per update published; both
	// zero when NATS ran inside the gateway.
	NATSCPUS        float64 `json:"nats_cpu_s,omitempty"`
	NATSUpdateCPUUS float64 `json:"nats_cpu_us_per_update,omitempty"`

	// Errors holds the first few reasons subscribers failed.
	Errors []string `json:"errors,omitempty"`
}

// Memory is a server memory reading, in bytes.
type Memory struct {
	// RSS is the process's resident set.
	RSS float64 `json:"rss"`
	// Go is the Go runtime's heap spans and goroutine stacks in use.
	Go float64 `json:"go_heap_stacks"`
}

// Group is what the subscribers of one transport got.
type Group struct {
	Transport string `json:"transport"`
	// Subscribers were asked for; Connected subscribed; Dropped lost their
	// connection before the bench closed it; Failed never subscribed.
	Subscribers int `json:"subscribers"`
	Connected   int `json:"connected"`
	Dropped     int `json:"dropped"`
	Failed      int `json:"failed"`

	// Deliveries counts updates published in the measured window and
	// received; Expected how many that should be (every connected
	// subscriber gets every update of its topic). Both per second of the
	// window too.
	Deliveries     int64   `json:"deliveries"`
	Expected       int64   `json:"expected"`
	DeliveriesRate float64 `json:"deliveries_per_s"`
	ExpectedRate   float64 `json:"expected_per_s"`

	// Latency is from publish to receipt, of the window's updates.
	Latency Latency `json:"latency"`

	// Lost counts window updates a connected subscriber had not got by
	// the end of the drain (late ones count too); with kind "state", where the server may merge, only a
	// subscriber that never got its topic's last update loses (one).
	// Skipped counts the state updates of the window merged away.
	// OutOfOrder counts updates that came after a later one of their
	// topic; Duplicates those that came twice; Merged those marked
	// "merged" (state updates that replaced others).
	Lost       int64 `json:"lost"`
	Skipped    int64 `json:"skipped,omitempty"`
	OutOfOrder int64 `json:"out_of_order"`
	Duplicates int64 `json:"duplicates"`
	Merged     int64 `json:"merged"`
	// Foreign counts updates of topics the subscriber had not asked for;
	// Malformed messages the bench could not read.
	Foreign   int64 `json:"foreign"`
	Malformed int64 `json:"malformed"`

	// For long polling: responses received in the window, and the mean
	// number of updates they carried.
	Polls           int64   `json:"polls,omitempty"`
	MessagesPerPoll float64 `json:"messages_per_poll,omitempty"`
}

// Latency summarises a latency histogram, in milliseconds.
type Latency struct {
	// Count is how many deliveries were timed.
	Count uint64 `json:"count"`
	// P50, P90 and P99 are quantiles, within about 3%; Max is exact.
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func summarize(h *Histogram) Latency {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return Latency{
		Count: h.Count(),
		P50:   ms(h.Quantile(0.50)),
		P90:   ms(h.Quantile(0.90)),
		P99:   ms(h.Quantile(0.99)),
		Max:   ms(h.Max()),
	}
}

// Err says what was wrong with the run, nil when it was clean: updates
// lost (ErrLost), out of order or duplicated (ErrDisorder), subscribers
// that failed to connect or were dropped (ErrConnect).
func (r *Result) Err() error {
	t := r.Total
	var errs []error
	if t.Lost > 0 {
		errs = append(errs, fmt.Errorf("%w: %d of %d", ErrLost, t.Lost, t.Expected))
	}
	if t.OutOfOrder > 0 || t.Duplicates > 0 {
		errs = append(errs, fmt.Errorf("%w: %d out of order, %d duplicated", ErrDisorder, t.OutOfOrder, t.Duplicates))
	}
	if t.Failed > 0 || t.Dropped > 0 {
		errs = append(errs, fmt.Errorf("%w: %d never subscribed, %d dropped, of %d", ErrConnect, t.Failed, t.Dropped, t.Subscribers))
	}
	return errors.Join(errs...)
}
