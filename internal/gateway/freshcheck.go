package gateway

import (
	"context"
	"sync"
	"time"
)

// freshCheck runs a check for callers that need an answer from after they
// asked, without running one per caller: at most one check runs at a
// time, checks start at least gap apart, and everyone who asks meanwhile
// shares the next one, which starts after all of them asked. /readyz can
// be asked as often as anyone likes; the stream is asked at most once per
// gap (the store check is a write: on a cluster, a replicated one).
type freshCheck struct {
	run     func() error
	gap     time.Duration
	sem     chan struct{} // held by the running check
	last    time.Time     // when the last check started; guarded by sem
	mu      sync.Mutex
	pending *checkRun // the check not started yet that new callers join
}

type checkRun struct {
	done chan struct{}
	err  error
}

func newFreshCheck(gap time.Duration, run func() error) *freshCheck {
	return &freshCheck{run: run, gap: gap, sem: make(chan struct{}, 1)}
}

// do returns the outcome of a check that starts after it was called, or
// ctx's error if ctx ends first (the check still runs).
func (c *freshCheck) do(ctx context.Context) error {
	c.mu.Lock()
	r := c.pending
	if r == nil {
		r = &checkRun{done: make(chan struct{})}
		c.pending = r
		go c.start(r)
	}
	c.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *freshCheck) start(r *checkRun) {
	c.sem <- struct{}{}
	if wait := time.Until(c.last.Add(c.gap)); wait > 0 {
		time.Sleep(wait) // the rate limit; callers that come meanwhile join r
	}
	c.last = time.Now()
	c.mu.Lock()
	c.pending = nil // who asks from now on needs a later check
	c.mu.Unlock()
	r.err = c.run()
	<-c.sem
	close(r.done)
}
