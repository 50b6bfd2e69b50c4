package gateway

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickerd/tickerd/internal/stream"
)

// Backoff of the start-up's retries: the first comes soon, since a NATS
// starting alongside the gateway is typically up in a second, and the
// wait doubles to startupBackoffMax. Each wait is jittered, so that
// gateways started together on a new cluster do not ask in lockstep.
const (
	startupBackoffFirst = 100 * time.Millisecond
	startupBackoffMax   = 5 * time.Second
	// defaultStartupAttempt bounds the first attempt's wait for NATS to
	// answer; it doubles with each retry, to startupAttemptMax, so that a
	// cluster that is slow to answer (electing its leaders) is given longer.
	defaultStartupAttempt = 5 * time.Second
	startupAttemptMax     = 20 * time.Second
)

// retryStartup runs attempt until it succeeds or ctx ends, each attempt
// bounded by its own timeout, logging every failure at warn with when the
// next attempt comes. It returns the last failure when ctx ends.
func (g *Gateway) retryStartup(ctx context.Context, what string, attempt func(ctx context.Context) error) error {
	began := time.Now()
	wait, limit := startupBackoffFirst, g.cfg.startupAttempt
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, limit)
		err := attempt(actx)
		cancel()
		if err == nil {
			if n > 1 {
				g.cfg.Logger.Info(what+": done", "attempts", n, "took", time.Since(began).Round(time.Millisecond))
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: gave up after %d attempts in %v (--nats-startup-timeout): %w", what, n, time.Since(began).Round(time.Millisecond), err)
		}
		// Between half and all of the wait: apart, yet never much sooner.
		jittered := wait/2 + rand.N(wait/2+1)
		g.cfg.Logger.Warn(what+": failed; retrying", "attempt", n, "err", err, "in", jittered.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: gave up after %d attempts in %v (--nats-startup-timeout): %w", what, n, time.Since(began).Round(time.Millisecond), err)
		case <-time.After(jittered):
		}
		wait = min(2*wait, startupBackoffMax)
		limit = min(max(2*limit, defaultStartupAttempt), startupAttemptMax)
	}
}

// dial connects to the external NATS at cfg.NATSURL, which may list several
// servers separated by commas (nats.Connect takes that form), retrying
// until ctx ends.
func (g *Gateway) dial(ctx context.Context, opts []nats.Option) (*nats.Conn, error) {
	var nc *nats.Conn
	err := g.retryStartup(ctx, "connect to NATS at "+g.cfg.NATSURL, func(context.Context) error {
		// nats.Connect takes no context: its dial timeout (2 s a server)
		// bounds it.
		var err error
		nc, err = nats.Connect(g.cfg.NATSURL, append(opts, nats.RetryOnFailedConnect(false))...)
		return err
	})
	return nc, err
}

// openStream creates the stream, or finds it, retrying until ctx ends. A
// creation that timed out may still have created the stream (gateways
// racing on a new cluster); the next attempt then finds it.
func (g *Gateway) openStream(ctx context.Context) (*stream.Stream, error) {
	var st *stream.Stream
	err := g.retryStartup(ctx, "open the stream", func(ctx context.Context) error {
		var err error
		st, err = stream.Open(ctx, g.nc, g.cfg.Stream, g.cfg.Logger)
		return err
	})
	return st, err
}
