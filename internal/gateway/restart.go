package gateway

import (
	"errors"
	"time"

	"github.com/tickerd/tickerd/internal/embednats"
	"github.com/tickerd/tickerd/internal/stream"
)

// restartBackoffMax bounds the wait between restarts of an embedded
// JetStream that keeps failing.
const restartBackoffMax = 10 * time.Second

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

// step restarts JetStream if probeErr calls for it and the backoff allows,
// and reports whether it did.
func (r *restarter) step(probeErr error) bool {
	log := r.g.cfg.Logger
	if probeErr == nil {
		r.next, r.backoff, r.waiting = time.Time{}, 0, false
		return false
	}
	if !errors.Is(probeErr, embednats.ErrNotStoring) && !errors.Is(probeErr, stream.ErrStoreFailed) {
		// Not a store that refuses, but one that cannot be looked at (no
		// file descriptor left to read its directory) or does not
		// answer: a restart does not cure that; the next probe looks again.
		return false
	}
	if time.Now().Before(r.next) {
		return false
	}
	start := time.Now()
	err := r.g.ns.RestartJetStream()
	if errors.Is(err, embednats.ErrNoFreeFiles) {
		if !r.waiting {
			log.Error("embedded JetStream is not storing; it restarts once files can be opened again", "probe", probeErr, "err", err)
			r.waiting = true
		}
		return false
	}
	r.waiting = false
	r.backoff = min(max(2*r.backoff, probeEvery), restartBackoffMax)
	r.next = time.Now().Add(r.backoff)
	if err != nil {
		log.Error("restarting the embedded JetStream failed", "probe", probeErr, "err", err, "retry_in", r.backoff)
		return false
	}
	// Its consumers went with it: the hub follows again where it was.
	r.g.stream.Refollow()
	log.Warn("restarted the embedded JetStream, which was not storing", "probe", probeErr, "took", time.Since(start).Round(time.Millisecond))
	return true
}
