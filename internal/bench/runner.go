package bench

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// histShards spreads a group's latency counting over several histograms,
// so that subscribers on different cores seldom touch the same counters.
const histShards = 16

// group is the subscribers of one transport.
type group struct {
	transport string
	hists     [histShards]Histogram
}

// runner is one run in progress: its subscribers and how far they got.
type runner struct {
	o      Options
	t      *target
	logf   func(format string, args ...any)
	base   *url.URL
	dialer *dialer

	// t0 and t1 bound the measured window (ns since the epoch); 0 until
	// it is set.
	t0, t1 atomic.Int64

	subs   []*subscriber
	groups map[string]*group

	// Connecting: sem bounds the subscribers connecting at once;
	// connectWG counts those that have not subscribed nor given up.
	sem       chan struct{}
	connectWG sync.WaitGroup
	nDone     atomic.Int64
	nFailed   atomic.Int64

	// clients counts the subscribers' goroutines; stopClients ends them.
	clients     sync.WaitGroup
	stopClients context.CancelFunc
	stopOnce    sync.Once

	// Draining: final holds the last number published per topic once
	// publishing is over; behind counts the subscribers that have not got
	// theirs (plus one while drain looks); drained closes at zero.
	final   atomic.Pointer[[]uint64]
	behind  atomic.Int64
	drained chan struct{}
}

func newRunner(o Options, t *target, logf func(string, ...any)) (*runner, error) {
	r := &runner{
		o: o, t: t, logf: logf, base: t.base,
		groups:      map[string]*group{},
		sem:         make(chan struct{}, o.ConnectConcurrency),
		drained:     make(chan struct{}),
		stopClients: func() {},
	}
	var err error
	if r.dialer, err = newDialer(t.base, o.SourceAddrs); err != nil {
		return nil, err
	}
	return r, nil
}

// connect starts every subscriber, ConnectConcurrency at a time, and
// waits until each has subscribed or given up.
func (r *runner) connect(ctx context.Context) error {
	cctx, cancel := context.WithCancel(ctx)
	r.stopClients = cancel
	for i := range r.o.Subscribers {
		tr := r.o.transportOf(i)
		g := r.groups[tr]
		if g == nil {
			g = &group{transport: tr}
			r.groups[tr] = g
		}
		s := &subscriber{r: r, id: i, transport: tr, topicIdx: r.o.topicOf(i), group: g, hist: &g.hists[i%histShards], tr: newTracker()}
		s.topic = []byte(r.o.topic(s.topicIdx))
		s.next.Store(1)
		r.subs = append(r.subs, s)
		r.connectWG.Add(1)
		r.clients.Add(1)
		go r.client(cctx, s)
	}
	done := make(chan struct{})
	go func() { r.connectWG.Wait(); close(done) }()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			r.logf("connecting: %d of %d done, %d failed", r.nDone.Load(), r.o.Subscribers, r.nFailed.Load())
		}
	}
}

// client is subscriber s's goroutine: it waits for a connecting slot,
// then runs s until ctx ends or its connection does.
func (r *runner) client(ctx context.Context, s *subscriber) {
	defer r.clients.Done()
	select {
	case r.sem <- struct{}{}:
		s.holdsSlot = true
	case <-ctx.Done():
		s.ready(ctx.Err())
		return
	}
	s.run(ctx)
}

// connected is called once per subscriber, from its goroutine, when it
// has subscribed or given up; it frees its connecting slot.
func (r *runner) connected(s *subscriber, err error) {
	if err != nil {
		r.nFailed.Add(1)
	}
	r.nDone.Add(1)
	if s.holdsSlot {
		s.holdsSlot = false
		<-r.sem
	}
	r.connectWG.Done()
}

// stop closes every subscriber and waits for their goroutines.
func (r *runner) stop() {
	r.stopOnce.Do(func() {
		r.stopClients()
		r.clients.Wait()
	})
}

// connectedCount is how many subscribers subscribed.
func (r *runner) connectedCount() int {
	n := 0
	for _, s := range r.subs {
		if s.subscribed.Load() {
			n++
		}
	}
	return n
}

// received sums the updates the subscribers have received so far: a
// progress figure only.
func (r *runner) received() uint64 {
	var n uint64
	for _, s := range r.subs {
		n += s.received.Load()
	}
	return n
}

// drain waits until every subscriber still connected has got the last
// update of its topic, Drain has passed, or ctx ends (its error). Those
// still behind then count what they lack as lost.
func (r *runner) drain(ctx context.Context, sched *schedule) error {
	final := sched.seq
	r.behind.Store(int64(len(r.subs)) + 1)
	r.final.Store(&final)
	for _, s := range r.subs {
		if !s.subscribed.Load() || s.ended.Load() || s.next.Load() > final[s.topicIdx] {
			r.caughtUp(s)
		}
	}
	r.release()
	t := time.NewTimer(r.o.Drain)
	defer t.Stop()
	select {
	case <-r.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		r.logf("drain: %d subscribers still behind after %s", r.behind.Load(), r.o.Drain)
		return nil
	}
}

// caughtUp counts s as done with draining, once.
func (r *runner) caughtUp(s *subscriber) {
	if s.caughtUp.CompareAndSwap(false, true) {
		r.release()
	}
}

func (r *runner) release() {
	if r.behind.Add(-1) == 0 {
		close(r.drained)
	}
}

// checkCaughtUp is called by s's goroutine after each update and when its
// connection ends: once publishing is over, it tells drain whether s has
// what it is owed (or will get nothing more).
func (r *runner) checkCaughtUp(s *subscriber) {
	f := r.final.Load()
	if f != nil && (s.ended.Load() || s.next.Load() > (*f)[s.topicIdx]) {
		r.caughtUp(s)
	}
}
