package transport

import (
	"context"
	"fmt"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// The known topics are bounded two ways: a topic is forgotten once
// retention has dropped its latest update from the stream (a gateway that
// started now would not know it either), and there are at most
// Options.MaxKnownTopics of them.

// sweepEvery is how often the hub forgets the topics retention dropped.
const sweepEvery = time.Minute

// boundsTimeout bounds the sweep's question to the stream.
const boundsTimeout = 5 * time.Second

func (h *Hub) sweepLoop(ctx context.Context) {
	select {
	case <-h.loaded:
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(h.sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := h.sweep(ctx); err != nil && ctx.Err() == nil {
			h.opts.Logger.Warn("could not read the stream's bounds to forget old topics", "err", err)
		}
	}
}

// sweep forgets every topic whose latest update is older than the oldest
// the stream holds.
func (h *Hub) sweep(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, boundsTimeout)
	first, _, err := h.src.Bounds(ctx)
	cancel()
	if err != nil {
		return err
	}
	if n := h.cache.forget(first); n > 0 {
		h.metrics.forgotten.Add(float64(n))
		h.opts.Logger.Info("forgot topics retention dropped", "topics", n, "left", h.cache.len(), "first", first)
	}
	return nil
}

// Fits reports, as wire.ErrTopicCapacity, when keeping the topics of
// updates would take the hub past Options.MaxKnownTopics: the publish
// handler asks before publishing anything. Publishes that pass together
// may still go past it; the hub then keeps what fits and routes the rest
// live without keeping it.
func (h *Hub) Fits(updates []message.Update) error {
	var fresh map[string]struct{}
	for _, u := range updates {
		if h.cache.known(u.Topic) {
			continue
		}
		if fresh == nil {
			fresh = make(map[string]struct{})
		}
		fresh[u.Topic] = struct{}{}
	}
	if n := h.cache.len(); n+len(fresh) > h.opts.MaxKnownTopics {
		return wire.ErrTopicCapacity.With(fmt.Sprintf("the gateway keeps at most %d topics and knows %d; this body has %d new ones",
			h.opts.MaxKnownTopics, n, len(fresh)))
	}
	return nil
}

// Topics returns a page of the known topics p may read that start with
// prefix and sort after after: at most limit of them, sorted, and whether
// more follow. Topics p may not subscribe to are left out, so that a
// listing tells no more than a subscription would.
func (h *Hub) Topics(ctx context.Context, p Principal, prefix, after string, limit int) ([]string, bool, error) {
	done, err := h.walking(ctx)
	if err != nil {
		return nil, false, err
	}
	defer done()
	var readable func(string) bool
	if h.opts.Authorizer != nil {
		one := make([]string, 1)
		readable = func(t string) bool {
			one[0] = t
			return h.authorize(ctx, p, one) == nil
		}
	}
	page, more := h.cache.topics(prefix, after, limit, readable)
	return page, more, nil
}

// fullWarnEvery spaces the warnings that the cache is full.
const fullWarnEvery = 10 * time.Second

// fullCache warns that updates of new topics are not kept, at most once
// every fullWarnEvery. Only the fan-out uses it.
type fullCache struct {
	warned  time.Time
	dropped int // since the last warning
}

func (fc *fullCache) notKept(h *Hub, topic string) {
	h.metrics.notKept.Inc()
	fc.dropped++
	if now := time.Now(); now.Sub(fc.warned) >= fullWarnEvery {
		h.opts.Logger.Warn("topic cache full: updates of new topics are routed live but not kept for snapshots (--max-known-topics)",
			"max", h.opts.MaxKnownTopics, "topic", topic, "not_kept", fc.dropped)
		fc.warned, fc.dropped = now, 0
	}
}
