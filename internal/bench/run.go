package bench

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/tickerd/tickerd/internal/profiles"
)

// Run runs one bench: it starts or finds the server, connects the
// subscribers, samples the server's memory once they have settled,
// publishes for Warmup+Duration, waits up to Drain for the last updates,
// and reports. It refuses with a *LimitError (wrapping ErrLimit), before
// opening anything, when the connections would not fit RLIMIT_NOFILE.
// Cancelling ctx stops the run and everything it started.
//
// Run returns an error only when it could not measure; a run that
// measured losses returns its Result, whose Err says what went wrong.
func Run(ctx context.Context, o Options) (*Result, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := checkLimits(o.Subscribers, o.mode()); err != nil {
		return nil, err
	}
	res := newResult(o)
	logf := func(format string, args ...any) { fmt.Fprintf(o.Log, "bench: "+format+"\n", args...) }

	if o.PprofAddr != "" {
		stop, _, err := profiles.Serve(o.PprofAddr)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	if o.ServerCPUs != "" {
		if err := pinAway(o.ServerCPUs); err != nil {
			return nil, err
		}
	}
	t, err := startTarget(ctx, o)
	if err != nil {
		return nil, err
	}
	defer t.close()
	res.Server = t.desc
	logf("server: %s", t.desc)

	r, err := newRunner(o, t, logf)
	if err != nil {
		return nil, err
	}
	defer r.stop()
	before, err := t.sample(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("read the server's figures: %w", err)
	}

	connectStart := time.Now()
	if err := r.connect(ctx); err != nil {
		return nil, err
	}
	res.ConnectS = time.Since(connectStart).Seconds()
	logf("%d of %d subscribers connected in %.1fs", r.connectedCount(), o.Subscribers, res.ConnectS)

	if err := sleep(ctx, o.Settle); err != nil {
		return nil, err
	}
	after, err := t.sample(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("read the server's figures: %w", err)
	}
	res.Before, res.After = before.memory(), after.memory()
	res.Sessions = after.Sessions
	if n := r.connectedCount(); n > 0 {
		res.PerConnection = Memory{
			RSS: (after.RSS - before.RSS) / float64(n),
			Go:  (after.Heap + after.Stacks - before.Heap - before.Stacks) / float64(n),
		}
	}

	sched, s0, s1, err := r.measure(ctx)
	if err != nil {
		return nil, err
	}
	res.Published = sched.inWindow
	res.PublishedRate = float64(sched.inWindow) / o.Duration.Seconds()
	res.PublishLateMS = float64(sched.maxLate) / 1e6
	res.ServerCPUS = s1.CPU - s0.CPU
	res.BenchCPUS = s1.BenchCPU - s0.BenchCPU
	res.MachineCPUS = s1.MachineCPU - s0.MachineCPU
	res.OtherCPUS = res.MachineCPUS - res.BenchCPUS
	if t.mode == modeSpawn {
		res.OtherCPUS -= res.ServerCPUS
	}
	res.ServerDeliveries = s1.Deliveries - s0.Deliveries
	res.ServerUpdates = s1.Updates - s0.Updates
	if res.ServerUpdates > 0 {
		res.UpdateCPUUS = res.ServerCPUS / res.ServerUpdates * 1e6
	}
	if t.natsPid != 0 {
		res.NATSCPUS = s1.NATSCPU - s0.NATSCPU
		res.OtherCPUS -= res.NATSCPUS
		if res.Published > 0 {
			res.NATSUpdateCPUUS = res.NATSCPUS / float64(res.Published) * 1e6
		}
	}
	res.OtherCPUS = max(res.OtherCPUS, 0)

	if err := r.drain(ctx, sched); err != nil {
		return nil, err
	}
	if end, err := t.sample(ctx, false); err == nil {
		res.End = end.memory()
		res.SlowConsumers = end.Slow - before.Slow
	}
	r.stop()
	r.report(res, sched)
	if d := res.Total.Deliveries; d > 0 {
		res.CPUPerMillion = res.ServerCPUS / (float64(d) / 1e6)
		res.BenchCPUPerMillion = res.BenchCPUS / (float64(d) / 1e6)
	}
	return res, nil
}

// newResult starts a Result with what was asked for.
func newResult(o Options) *Result {
	return &Result{
		Start: time.Now(), Cores: runtime.NumCPU(), Mode: o.mode().String(),
		Transport: o.Transport, Interest: o.Interest, Subscribers: o.Subscribers, Topics: o.Topics,
		Rate: o.Rate, Size: o.Size, Kind: o.Kind, WarmupS: o.Warmup.Seconds(), DurationS: o.Duration.Seconds(),
		PollDelayS: o.PollDelay.Seconds(),
	}
}

// measure publishes from now for Warmup+Duration and samples the server
// at both ends of the measured window, profiling it in between when asked.
func (r *runner) measure(ctx context.Context) (sched *schedule, s0, s1 sample, err error) {
	o, t := r.o, r.t
	start := time.Now()
	t0, t1 := start.Add(o.Warmup), start.Add(o.Warmup+o.Duration)
	r.t0.Store(t0.UnixNano())
	r.t1.Store(t1.UnixNano())
	sched = newSchedule(o, t.pub, t0.UnixNano(), t1.UnixNano())
	pctx, stopPublishing := context.WithCancel(ctx)
	defer stopPublishing()
	pubErr := make(chan error, 1)
	go func() { pubErr <- sched.run(pctx, start.UnixNano()) }()
	fail := func(err error) (*schedule, sample, sample, error) {
		stopPublishing()
		<-pubErr
		return nil, s0, s1, err
	}
	if o.Rate > 0 {
		r.logf("publishing %g updates/s over %d topics; measuring from %s for %s", o.Rate, o.Topics, o.Warmup, o.Duration)
	} else {
		r.logf("idle: holding the connections for %s", o.Warmup+o.Duration)
	}

	if err := sleep(ctx, time.Until(t0)); err != nil {
		return fail(err)
	}
	if s0, err = t.sample(ctx, false); err != nil {
		return fail(err)
	}
	stopProfile, err := t.startCPUProfile(ctx, o.CPUProfile, o.Duration)
	if err != nil {
		return fail(err)
	}
	end := time.NewTimer(time.Until(t1))
	defer end.Stop()
	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	for waiting := true; waiting; {
		select {
		case <-ctx.Done():
			_ = stopProfile()
			return fail(ctx.Err())
		case <-end.C:
			waiting = false
		case <-progress.C:
			r.logf("%.0fs of %s measured; %d updates received so far", time.Since(t0).Seconds(), o.Duration, r.received())
		}
	}
	s1, err = t.sample(ctx, false)
	if perr := stopProfile(); err == nil && perr != nil {
		err = fmt.Errorf("CPU profile: %w", perr)
	}
	if err != nil {
		return fail(err)
	}
	if err := t.writeHeapProfile(ctx, o.MemProfile); err != nil {
		return fail(fmt.Errorf("heap profile: %w", err))
	}
	if err := <-pubErr; err != nil {
		return nil, s0, s1, err
	}
	return sched, s0, s1, nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
