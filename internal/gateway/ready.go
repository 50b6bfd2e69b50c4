package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// What /readyz answers; the causes go to the log, not to anonymous callers.
var (
	errNotConnected = errors.New("NATS is not connected")
	errLoading      = errors.New("latest values are still loading")
	errNotFollowing = errors.New("not following the stream: updates would not be delivered")
	errNotStoring   = errors.New("JetStream is not storing: a publish would fail")
)

const (
	// probeEvery is how often the gateway checks that JetStream stores.
	probeEvery = time.Second
	// probeTimeout bounds one probe's store check.
	probeTimeout = time.Second
	// freshProbeGap spaces the probes /readyz runs.
	freshProbeGap = 100 * time.Millisecond
)

// Ready reports whether a publish would succeed now and subscribers can
// be served. When the gateway would say yes, it runs the probe first,
// shared with concurrent callers but begun after this one asked: a store
// that stopped writing since the last probe makes it say no at once. A
// fresh probe's success does not clear an earlier failure, though: a
// failed publish is direct evidence, and a probe cannot prove every
// publish (a full disk passes a write of nothing); only a publish that
// succeeds, or the next periodic probe, clears it.
//
// Its error is one of four fixed messages: the causes, with file paths in
// them, go to the log rather than to anonymous callers.
func (g *Gateway) Ready(ctx context.Context) error {
	err := g.notReady()
	if err == nil {
		if cerr := g.check.do(ctx); ctx.Err() != nil {
			return cerr
		}
		err = g.notReady()
	}
	if errors.Is(err, errNotStoring) {
		return errNotStoring
	}
	if errors.Is(err, errNotFollowing) {
		return errNotFollowing
	}
	return err
}

// notReady says why a publish would fail or subscribers cannot be served,
// by what the gateway knows now, nil when neither: NATS not connected, the
// latest value of every topic not loaded yet, the stream not being
// followed (its reader lost and not yet made again), or the last probe or
// publish a failure.
func (g *Gateway) notReady() error {
	if !g.nc.IsConnected() {
		return errNotConnected
	}
	select {
	case <-g.hub.Loaded():
	default:
		return errLoading
	}
	if err := g.stream.Following(); err != nil {
		return fmt.Errorf("%w: %w", errNotFollowing, err)
	}
	if err := g.health.get(); err != nil {
		return fmt.Errorf("%w: %w", errNotStoring, err)
	}
	return nil
}

// embeddedHealth is the embedded server's health check of the stream;
// nil with an external NATS.
func (g *Gateway) embeddedHealth() error {
	if g.ns == nil {
		return nil
	}
	name := g.stream.Name()
	if g.stream.Memory() {
		name = "" // a memory stream has no directory to check
	}
	if err := g.ns.JetStreamHealth(name); err != nil {
		return fmt.Errorf("embedded NATS: %w", err)
	}
	return nil
}

// probe checks that JetStream would store a publish. With the embedded
// server it first asks the server's own health check (in-process, about
// 12 µs), which sees JetStream disabled, a stream not loaded, and a store
// directory that cannot be read. Then it has the stream's store do a write
// that changes nothing (Stream.CheckStore): a store that latched a write
// error refuses every publish without answering, while stream info still
// succeeds and the health check sees the error only once a publish has
// failed, so only a write tells at once. A write into a separate probe
// stream or KV bucket would not do: each has a store of its own, which
// can be fine while this one is not.
func (g *Gateway) probe() error {
	if err := g.embeddedHealth(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(g.runCtx, probeTimeout)
	defer cancel()
	if err := g.stream.CheckStore(ctx); err != nil {
		return fmt.Errorf("stream store check: %w", err)
	}
	return nil
}

// freshProbe is the probe /readyz runs (through g.check): its failure is
// recorded, its success is not (see Ready).
func (g *Gateway) freshProbe() error {
	mark := g.health.probing()
	err := g.probe()
	if err != nil && g.runCtx.Err() == nil {
		g.health.probed(mark, err)
	}
	return err
}

// watch probes every probeEvery until ctx ends, logs readiness changes,
// and restarts an embedded JetStream that is not storing.
func (g *Gateway) watch(ctx context.Context) {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	r := restarter{g: g}
	was := errLoading // as at start
	for {
		mark := g.health.probing()
		err := g.probe()
		if ctx.Err() != nil {
			return
		}
		g.health.probed(mark, err)
		// Readiness changes are logged here, once a second at most, so
		// that publishes that fail and succeed in turn do not flood the log.
		now := g.notReady()
		switch {
		case was == nil && now != nil:
			g.cfg.Logger.Warn("not ready", "why", now)
		case was != nil && now == nil:
			g.cfg.Logger.Info("ready", "was", was)
		}
		was = now
		// A memory stream would not survive a restart, and has no files
		// to fail.
		if g.ns != nil && !g.stream.Memory() && r.step(err) {
			continue // look again at once: readiness need not wait a tick
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
