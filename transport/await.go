package transport

import (
	"context"
	"sync"
	"sync/atomic"
)

// waiters lets callers wait for the hub to route a sequence, at no cost to
// the fan-out while nobody waits.
type waiters struct {
	n    atomic.Int32
	mu   sync.Mutex
	list []waiter
}

type waiter struct {
	seq uint64
	ch  chan struct{}
}

// Await returns once the hub has routed the update with sequence seq, so
// that what a publisher stored is in this gateway's snapshot when its
// publish returns.
func (h *Hub) Await(ctx context.Context, seq uint64) error {
	if h.head.Load() >= seq {
		return nil
	}
	w := waiter{seq: seq, ch: make(chan struct{})}
	h.waiters.mu.Lock()
	h.waiters.list = append(h.waiters.list, w)
	h.waiters.n.Add(1)
	h.waiters.mu.Unlock()
	h.notify(h.head.Load()) // routed between the check and the registration
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		h.waiters.mu.Lock()
		for i, x := range h.waiters.list {
			if x.ch == w.ch {
				h.waiters.list = append(h.waiters.list[:i], h.waiters.list[i+1:]...)
				h.waiters.n.Add(-1)
				break
			}
		}
		h.waiters.mu.Unlock()
		return ctx.Err()
	}
}

// notify releases the waiters for sequences up to head.
func (h *Hub) notify(head uint64) {
	if h.waiters.n.Load() == 0 {
		return
	}
	h.waiters.mu.Lock()
	kept := h.waiters.list[:0]
	for _, w := range h.waiters.list {
		if w.seq <= head {
			close(w.ch)
			h.waiters.n.Add(-1)
		} else {
			kept = append(kept, w)
		}
	}
	clear(h.waiters.list[len(kept):])
	h.waiters.list = kept
	h.waiters.mu.Unlock()
}
