package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the result as a plain-text table: what was asked
// for, one row per transport (and a total row for a mix), and the
// server's figures.
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "tickerd bench: %s\n", r.Describe())
	fmt.Fprintf(&b, "server: %s\n\n", r.Server)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "transport\tsubscribers\tconnected\tfailed\tdropped\tdeliveries/s\texpected/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tlost\tout of order\tduplicates\tmerged\tmsgs/poll\t")
	rows := r.Groups
	if len(rows) > 1 {
		rows = append(rows[:len(rows):len(rows)], r.Total)
	}
	for _, g := range rows {
		perPoll := "-"
		if g.Polls > 0 {
			perPoll = fmt.Sprintf("%.1f", g.MessagesPerPoll)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t\n",
			g.Transport, g.Subscribers, g.Connected, g.Failed, g.Dropped, g.DeliveriesRate, g.ExpectedRate,
			ms(g.Latency.P50), ms(g.Latency.P90), ms(g.Latency.P99), ms(g.Latency.Max),
			g.Lost, g.OutOfOrder, g.Duplicates, g.Merged, perPoll)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nserver memory per connection: %s RSS, %s Go heap+stacks (%.0f connected, %.0f sessions open)\n",
		kib(r.PerConnection.RSS), kib(r.PerConnection.Go), float64(r.Total.Connected), r.Sessions)
	fmt.Fprintf(&b, "server memory: %s RSS before connecting, %s connected, %s at the end\n",
		mib(r.Before.RSS), mib(r.After.RSS), mib(r.End.RSS))
	if r.Rate > 0 {
		fmt.Fprintf(&b, "server CPU: %.2f s in the %.0f s window (%.0f%% of one core), %.2f s per million deliveries; bench process %.2f s, %.2f s per million deliveries\n",
			r.ServerCPUS, r.DurationS, 100*r.ServerCPUS/r.DurationS, r.CPUPerMillion, r.BenchCPUS, r.BenchCPUPerMillion)
		fmt.Fprintf(&b, "machine: %.2f of %d CPU seconds busy in the window; other processes took %.2f s\n",
			r.MachineCPUS, int(float64(r.Cores)*r.DurationS), r.OtherCPUS)
		fmt.Fprintf(&b, "published %d updates in the window (%.0f/s); publisher at most %.1f ms behind schedule; server counted %.0f deliveries\n",
			r.Published, r.PublishedRate, r.PublishLateMS, r.ServerDeliveries)
		fmt.Fprintf(&b, "server read %.0f updates from the stream in the window (%.0f/s), %.1f µs of server CPU per update read\n",
			r.ServerUpdates, r.ServerUpdates/r.DurationS, r.UpdateCPUUS)
		if r.NATSCPUS > 0 {
			fmt.Fprintf(&b, "NATS (its own process): %.2f s CPU in the window, %.1f µs per update published\n", r.NATSCPUS, r.NATSUpdateCPUUS)
		}
	}
	if r.SlowConsumers > 0 {
		fmt.Fprintf(&b, "slow-consumer closes: %.0f\n", r.SlowConsumers)
	}
	fmt.Fprintf(&b, "connecting took %.1f s\n", r.ConnectS)
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	if err := r.Err(); err != nil {
		fmt.Fprintf(&b, "NOT CLEAN: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
	} else {
		b.WriteString("clean: nothing lost, out of order or duplicated; every subscriber stayed\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Describe says in one line what the run asked for.
func (r *Result) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s subscribers", r.Subscribers, r.Transport)
	if r.Topics > 1 {
		fmt.Fprintf(&b, " over %d topics (%s)", r.Topics, r.Interest)
	} else {
		b.WriteString(" on one topic")
	}
	if r.Rate > 0 {
		fmt.Fprintf(&b, ", %g updates/s of %d-byte %ss", r.Rate, r.Size, r.Kind)
	} else {
		b.WriteString(", idle")
	}
	if r.PollDelayS > 0 {
		fmt.Fprintf(&b, ", polls %gs apart", r.PollDelayS)
	}
	fmt.Fprintf(&b, ", %gs measured after %gs warm-up, %s server, %d cores", r.DurationS, r.WarmupS, r.Mode, r.Cores)
	return b.String()
}

// ms formats milliseconds with the precision they deserve.
func ms(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func kib(v float64) string { return fmt.Sprintf("%.1f KiB", v/1024) }
func mib(v float64) string { return fmt.Sprintf("%.1f MiB", v/(1<<20)) }
