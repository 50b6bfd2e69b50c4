package gateway

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tickerd/tickerd/internal/embednats"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
)

// What /readyz answers; the causes go to the log, not to anonymous callers.
var (
	errNotConnected = errors.New("NATS is not connected")
	errLoading      = errors.New("latest values are still loading")
	errNotStoring   = errors.New("JetStream is not storing: a publish would fail")
)

const (
	// probeEvery is how often the gateway checks that JetStream stores.
	probeEvery = time.Second
	// probeTimeout bounds one probe's stream info request.
	probeTimeout = time.Second
	// restartBackoffMax bounds the wait between restarts of an embedded
	// JetStream that keeps failing.
	restartBackoffMax = 10 * time.Second
)

// health is the gateway's latest word on whether a publish would succeed:
// the outcome of the probe or the publish that ended last, except that a
// probe's success does not clear a publish failure that came while the
// probe ran: the probe may have looked before the failure.
type health struct {
	mu  sync.Mutex
	err error
	gen uint64 // counts recorded outcomes
}

func (h *health) get() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// probing is called as a probe starts; it returns the mark to hand to probed.
func (h *health) probing() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gen
}

// probed records the outcome of the probe that started at mark.
func (h *health) probed(mark uint64, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil && h.gen != mark && h.err != nil {
		return
	}
	h.setLocked(err)
}

// published records a publish's outcome. One its caller gave up on (a
// client that left, a feed that stopped) or refused for its content says
// nothing about JetStream.
func (h *health) published(err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, message.ErrBadTopic) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setLocked(err)
}

func (h *health) setLocked(err error) {
	h.err = err
	h.gen++
}

// watchedStream is the stream as the gateway's publishers (the API and
// the feeds) use it: every publish's outcome is readiness's latest word.
type watchedStream struct {
	s *stream.Stream
	h *health
}

func (w watchedStream) Publish(ctx context.Context, u message.Update) error {
	err := w.s.Publish(ctx, u)
	w.h.published(err)
	return err
}

func (w watchedStream) PublishBatch(ctx context.Context, us []message.Update) (uint64, int, error) {
	last, n, err := w.s.PublishBatch(ctx, us)
	w.h.published(err)
	return last, n, err
}

// Ready reports whether a publish would succeed now and subscribers can
// be served. Its error is one of three fixed messages: the causes, with
// file paths in them, go to the log rather than to anonymous callers.
func (g *Gateway) Ready(context.Context) error {
	err := g.notReady()
	if errors.Is(err, errNotStoring) {
		return errNotStoring
	}
	return err
}

// notReady says why a publish would fail or subscribers cannot be served
// now, nil when neither: NATS not connected, the latest value of every
// topic not loaded yet, the last probe or publish a failure, or an
// embedded JetStream's own health check failing at this moment (it is
// in-process and cheap, and sees a store that stopped writing as soon as
// that happens).
func (g *Gateway) notReady() error {
	if !g.nc.IsConnected() {
		return errNotConnected
	}
	select {
	case <-g.hub.Loaded():
	default:
		return errLoading
	}
	if err := g.health.get(); err != nil {
		return fmt.Errorf("%w: %w", errNotStoring, err)
	}
	if err := g.embeddedHealth(); err != nil {
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

// probe checks that JetStream would store a publish: the embedded server's
// health check (embedded, nil with an external NATS), then a stream info
// round trip, which also proves the connection and the JetStream API
// answer. err is the first that failed.
//
// It writes nothing. A write would be the only proof for an external
// NATS, but only a write into this very stream proves its store (a
// separate probe stream has a store of its own), and probe messages in the
// stream would take sequences, retention and every gateway's follower
// with them. An external server's store that stopped writing is seen at
// the next publish instead, which marks the gateway not ready.
func (g *Gateway) probe(ctx context.Context) (embedded, err error) {
	if embedded = g.embeddedHealth(); embedded != nil {
		return embedded, embedded
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	if _, _, err := g.stream.Bounds(ctx); err != nil {
		return nil, fmt.Errorf("stream info: %w", err)
	}
	return nil, nil
}

// watch probes every probeEvery until ctx ends, and restarts an embedded
// JetStream that fails its health check.
func (g *Gateway) watch(ctx context.Context) {
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	r := restarter{g: g}
	var was error
	for {
		mark := g.health.probing()
		embedded, err := g.probe(ctx)
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
			g.cfg.Logger.Info("ready again", "was", was)
		}
		was = now
		// A memory stream would not survive a restart, and has no files
		// to fail.
		if g.ns != nil && !g.stream.Memory() {
			r.step(embedded)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// restarter restarts an embedded JetStream that is not storing:
// nats-server never clears a store's write error by itself (a file limit
// hit once while it synced leaves the stream refusing every publish, and
// answering none, for good), and does not re-enable a JetStream it
// disabled. Restarting opens every store afresh from its files.
type restarter struct {
	g       *Gateway
	next    time.Time     // no restart before this
	backoff time.Duration // the wait after the next failed restart
	waiting bool          // logged that it waits for free files
}

func (r *restarter) step(healthErr error) {
	log := r.g.cfg.Logger
	if healthErr == nil {
		r.next, r.backoff, r.waiting = time.Time{}, 0, false
		return
	}
	if !errors.Is(healthErr, embednats.ErrNotStoring) {
		// A store directory it cannot read (no file descriptor left) is
		// not cured by a restart: the next probe looks again.
		return
	}
	if time.Now().Before(r.next) {
		return
	}
	start := time.Now()
	err := r.g.ns.RestartJetStream()
	if errors.Is(err, embednats.ErrNoFreeFiles) {
		if !r.waiting {
			log.Error("embedded JetStream is not storing; it restarts once files can be opened again", "health", healthErr, "err", err)
			r.waiting = true
		}
		return
	}
	r.waiting = false
	r.backoff = min(max(2*r.backoff, probeEvery), restartBackoffMax)
	r.next = time.Now().Add(r.backoff)
	if err != nil {
		log.Error("restarting the embedded JetStream failed", "health", healthErr, "err", err, "retry_in", r.backoff)
		return
	}
	// Its consumers went with it: the hub follows again where it was.
	r.g.stream.Refollow()
	log.Warn("restarted the embedded JetStream, which was not storing", "health", healthErr, "took", time.Since(start).Round(time.Millisecond))
}
