package transport

import (
	"context"
	"sync"
	"sync/atomic"
)

// waiters lets callers wait for the hub to route a sequence, at no cost to
// the fan-out while nobody waits. It owns its lock.
type waiters struct {
	n    atomic.Int32
	mu   sync.Mutex
	list []waiter
}

type waiter struct {
	seq uint64
	ch  chan struct{}
}

// wait returns once release has been called with a head at or past seq.
// head reads the hub's head now, for a release that came before the
// registration.
func (ws *waiters) wait(ctx context.Context, seq uint64, head func() uint64) error {
	if head() >= seq {
		return nil
	}
	w := waiter{seq: seq, ch: make(chan struct{})}
	ws.mu.Lock()
	ws.list = append(ws.list, w)
	ws.n.Add(1)
	ws.mu.Unlock()
	ws.release(head()) // routed between the check and the registration
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		ws.mu.Lock()
		for i, x := range ws.list {
			if x.ch == w.ch {
				ws.list = append(ws.list[:i], ws.list[i+1:]...)
				ws.n.Add(-1)
				break
			}
		}
		ws.mu.Unlock()
		return ctx.Err()
	}
}

// release lets go of the waiters for sequences up to head.
func (ws *waiters) release(head uint64) {
	if ws.n.Load() == 0 {
		return
	}
	ws.mu.Lock()
	kept := ws.list[:0]
	for _, w := range ws.list {
		if w.seq <= head {
			close(w.ch)
			ws.n.Add(-1)
		} else {
			kept = append(kept, w)
		}
	}
	clear(ws.list[len(kept):])
	ws.list = kept
	ws.mu.Unlock()
}
