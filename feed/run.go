package feed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
	"time"

	"github.com/tickerd/tickerd/message"
)

// errorLogEvery bounds how often a feed whose publishes keep failing logs:
// a NATS outage must not turn a hundred quotes a second into a hundred log
// lines a second.
const errorLogEvery = 10 * time.Second

// drive calls step every period with the wall-clock time and publishes what
// it returns, until ctx is cancelled. It is the Run loop of every simulator.
//
// When a publish fails, the rest of that step's batch is dropped rather than
// tried: one failure almost always means the stream is unreachable, and
// trying the others would stall the loop for a publish timeout each. Nothing
// important is lost: a quote is superseded by the symbol's next tick, and a
// live scoreboard is republished every refresh. The time.Ticker drops ticks
// while a publish blocks, and Step catches up from the real time in one go,
// so a stall never turns into a burst.
//
// Every update gets an ID (message.Update.ID) unique to this run, so that
// a publish retried after a timeout or a stream leader change is stored
// once.
func drive(ctx context.Context, p Publisher, period time.Duration, step func(time.Time) []message.Update, log *slog.Logger, name string) error {
	if p == nil {
		return ErrNoPublisher
	}
	log = log.With("feed", name)
	log.Info("feed: started")
	defer log.Info("feed: stopped")

	t := time.NewTicker(period)
	defer t.Stop()
	errs := publishErrors{log: log}
	ids := newIDs(name)
	for {
		batch := step(time.Now())
		for i, u := range batch {
			if u.ID == "" {
				u.ID = ids.next()
			}
			err := p.Publish(ctx, u)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				errs.failed(err, u.Topic, len(batch)-i)
				break
			}
			errs.ok()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// publishErrors logs the first publish failure at once, then at most one
// summary every errorLogEvery while failures continue, and one line when
// publishing works again.
type publishErrors struct {
	log      *slog.Logger
	failures int       // since publishing last worked
	dropped  int       // updates not published since then
	logged   time.Time // when a failure was last logged
}

// failed records a failed publish of topic, which cost dropped updates.
func (e *publishErrors) failed(err error, topic string, dropped int) {
	e.failures++
	e.dropped += dropped
	now := time.Now()
	if e.failures > 1 && now.Sub(e.logged) < errorLogEvery {
		return
	}
	e.logged = now
	e.log.Error("feed: publish failed",
		"err", err, "topic", topic, "failures", e.failures, "dropped", e.dropped)
}

func (e *publishErrors) ok() {
	if e.failures == 0 {
		return
	}
	e.log.Info("feed: publishing again", "failures", e.failures, "dropped", e.dropped)
	e.failures, e.dropped = 0, 0
}

// ids names a feed run's updates: the feed's name, a random prefix that
// tells this run from every other (a restarted feed, or the same feed in
// another gateway, counts from 1 again), and a counter.
type ids struct {
	prefix []byte
	n      uint64
}

func newIDs(feed string) *ids {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return &ids{prefix: []byte(feed + "-" + hex.EncodeToString(r[:]) + "-")}
}

func (x *ids) next() string {
	x.n++
	return string(strconv.AppendUint(x.prefix, x.n, 10))
}
