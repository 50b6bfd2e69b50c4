package transport

import (
	"context"
	"time"

	"github.com/tickerd/tickerd/transport/wire"
)

// errReplayBusy fails a resume that waited its Info.ReplayWait for a slot
// to read the stream.
var errReplayBusy = wire.ErrOverloaded.With("the gateway is reading the stream for as many resumes as it may; retry shortly")

// slots caps how many resumes read the stream at once (Options.MaxReplays):
// the stream is shared by every gateway and its reads are the costly part
// of a resume. It owns no lock: a slot is a token in the channel.
type slots chan struct{}

func newSlots(n int) slots { return make(slots, n) }

// acquire takes a slot for s, waiting until one is free, s or ctx ends, or
// s.replayWait has passed since wait started (zero: no limit). The caller
// calls release once its read is done.
func (sl slots) acquire(ctx context.Context, s *Session, since time.Time) (release func(), err error) {
	release = func() { <-sl }
	select {
	case sl <- struct{}{}:
		return release, nil
	default:
	}
	var timeout <-chan time.Time
	if s.replayWait > 0 {
		t := time.NewTimer(time.Until(since.Add(s.replayWait)))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case sl <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, s.Err()
	case <-timeout:
		return nil, errReplayBusy
	}
}
