package gateway

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every caller gets the outcome of a check that started after it called;
// checks never overlap, start at least the gap apart, and callers share
// them.
func TestFreshCheck(t *testing.T) {
	const gap = 5 * time.Millisecond
	var clock, running, overlap, runs, early atomic.Int64
	var last atomic.Int64 // when the last check started, Unix ns
	c := newFreshCheck(gap, func() error {
		if running.Add(1) > 1 {
			overlap.Add(1)
		}
		defer running.Add(-1)
		runs.Add(1)
		now := time.Now().UnixNano()
		if prev := last.Swap(now); prev != 0 && time.Duration(now-prev) < gap {
			early.Add(1)
		}
		started := clock.Add(1)
		time.Sleep(time.Millisecond) // a check takes a while; callers pile up meanwhile
		return fmt.Errorf("%d", started)
	})
	const callers = 200
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			called := clock.Add(1)
			err := c.do(context.Background())
			started, _ := strconv.ParseInt(err.Error(), 10, 64)
			if started <= called {
				t.Errorf("called at %d, got a check that started at %d", called, started)
			}
		})
	}
	wg.Wait()
	if overlap.Load() != 0 {
		t.Errorf("%d checks ran while another did", overlap.Load())
	}
	if early.Load() != 0 {
		t.Errorf("%d checks started less than %v after the one before", early.Load(), gap)
	}
	if n := runs.Load(); n >= callers {
		t.Errorf("%d checks for %d callers: none shared", n, callers)
	}
	t.Logf("%d callers, %d checks", callers, runs.Load())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.do(ctx); err != context.Canceled {
		t.Errorf("do with an ended context: %v", err)
	}
}
