package transport

import (
	"context"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// A snapshot is read in two steps, so that however long it takes it never
// holds up the fan-out:
//
//  1. Without any lock, note the head C0, walk the cache for the patterns,
//     then apply the ring's updates after C0 that match them. The fan-out
//     puts an update in the ring before the cache and moves the head last,
//     so every value the walk saw is in the ring after C0, and once the
//     ring is applied up to its newest the items are the state at that
//     position exactly.
//  2. A subscription then takes the hub lock, applies the few updates
//     routed since, up to the head, and registers its patterns with the
//     snapshot at the head: the fan-out takes over from exactly there.
//
// If the ring dropped updates after C0 before they were applied, the walk
// starts again; after snapshotTries walks the snapshot fails.
const snapshotTries = 3

var errOutrun = wire.ErrUnavailable.With("updates arrived faster than the snapshot could be read; try again, or narrow the patterns")

// gathered is the latest update of every topic matching some patterns, as
// of the stream position pos.
type gathered struct {
	patterns []string
	max      int
	pos      uint64
	items    []*wire.Frame // what the walk found; sorted by topic once it is done
	extra    map[string]*wire.Frame
	over     bool // more than max topics matched
}

// add keeps a value the walk found (the walk finds each topic once);
// false, with over set, past max.
func (g *gathered) add(f *wire.Frame) bool {
	if len(g.items) == g.max {
		g.over = true
		return false
	}
	g.items = append(g.items, f)
	return true
}

func (g *gathered) sort() { slices.SortFunc(g.items, compareTopics) }

func compareTopics(a, b *wire.Frame) int { return strings.Compare(a.Topic, b.Topic) }

// put makes an update from the ring its topic's latest value, once the
// walk's items are sorted; false, with over set, when its topic is new
// and max are held already.
func (g *gathered) put(f *wire.Frame) bool {
	if i, found := slices.BinarySearchFunc(g.items, f, compareTopics); found {
		g.items[i] = f
		return true
	}
	if _, ok := g.extra[f.Topic]; !ok && len(g.items)+len(g.extra) == g.max {
		g.over = true
		return false
	}
	if g.extra == nil {
		g.extra = make(map[string]*wire.Frame)
	}
	g.extra[f.Topic] = f
	return true
}

// merge places the topics the ring brought among the items, in order.
func (g *gathered) merge() {
	if len(g.extra) == 0 {
		return
	}
	extra := slices.SortedFunc(maps.Values(g.extra), compareTopics)
	merged := make([]*wire.Frame, 0, len(g.items)+len(extra))
	i, j := 0, 0
	for i < len(g.items) && j < len(extra) {
		if compareTopics(g.items[i], extra[j]) < 0 {
			merged = append(merged, g.items[i])
			i++
		} else {
			merged = append(merged, extra[j])
			j++
		}
	}
	g.items = append(append(merged, g.items[i:]...), extra[j:]...)
	g.extra = nil
}

// tooMany is wire.ErrTooManyMatches with the limit.
func tooMany(max int) error {
	return fmt.Errorf("%w: more than %d topics match; narrow the patterns", wire.ErrTooManyMatches, max)
}

// walkers bounds the walks that run at once, so that however many clients
// ask for snapshots together, the fan-out keeps CPUs of its own: half of
// them, and at least one walk.
func walkers() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// walking waits for a turn among the walkers; done ends it.
func (h *Hub) walking(ctx context.Context) (done func(), err error) {
	select {
	case h.walks <- struct{}{}:
		return func() { <-h.walks }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// walkCache gathers the latest values of the patterns, unsorted, without
// the hub lock, current at some position at or after g.pos that catchUp
// finds.
func (h *Hub) walkCache(ctx context.Context, patterns []string) (*gathered, error) {
	done, err := h.walking(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	g := &gathered{patterns: patterns, max: h.opts.MaxSnapshot, pos: h.head.Load()}
	if err := h.cache.match(ctx, patterns, g.add); err != nil {
		return nil, err
	}
	if g.over {
		return nil, tooMany(g.max)
	}
	return g, nil
}

// catchUp applies the ring's updates after g.pos, up to limit, that match
// g's patterns, and moves g.pos past them. It reports false when the ring
// no longer holds them all; g.over tells when they were too many.
func (h *Hub) catchUp(g *gathered, limit uint64) bool {
	buf := make([]*wire.Frame, 0, replayChunk)
	for {
		var ok bool
		buf, ok = h.ring.after(g.pos, buf[:0], replayChunk)
		if !ok {
			return false
		}
		for _, f := range buf {
			if f.Seq > limit {
				return true
			}
			if matchAny(g.patterns, f.Topic) && !g.put(f) {
				return true
			}
			g.pos = f.Seq
		}
		if len(buf) < replayChunk {
			return true
		}
	}
}

// snapshot gathers the latest value of every topic matching the patterns,
// sorted by topic, at one position of the stream. With commit, it then
// takes the hub lock, brings the values up to the head, and calls commit
// with them before letting go: a subscription registers its patterns
// there. Without, the values are current at the newest update the ring
// holds, which may be a little ahead of the head: a cursor there resumes
// exactly.
func (h *Hub) snapshot(ctx context.Context, patterns []string, commit func(*gathered)) (*gathered, error) {
	for range snapshotTries {
		g, err := h.walkCache(ctx, patterns)
		if err != nil {
			return nil, err
		}
		g.sort()
		// Only updates the fan-out has routed may be in a subscription's
		// snapshot: one it has yet to route goes to the subscriber live.
		limit := uint64(math.MaxUint64)
		if commit != nil {
			limit = h.head.Load()
		}
		if !h.catchUp(g, limit) {
			continue
		}
		if g.over {
			return nil, tooMany(g.max)
		}
		g.merge()
		if commit == nil {
			return g, nil
		}
		h.mu.Lock()
		ok := h.catchUp(g, h.head.Load())
		if ok && !g.over {
			g.merge()
			commit(g)
		}
		h.mu.Unlock()
		if g.over {
			return nil, tooMany(g.max)
		}
		if ok {
			return g, nil
		}
	}
	return nil, errOutrun
}

// checkSnapshot reports wire.ErrTooManyMatches when the patterns match
// more topics than a snapshot holds, at the cost of a walk that stops past
// the limit. Before the hub is loaded it cannot tell and lets them pass.
func (h *Hub) checkSnapshot(ctx context.Context, patterns []string) error {
	if !h.isLoaded() {
		return nil
	}
	_, err := h.walkCache(ctx, patterns)
	return err
}

// Snapshot returns the latest update of every topic matching the
// patterns, sorted by topic, and the position they are current at, if p
// may read them. It holds no lock of the hub's while it reads.
func (h *Hub) Snapshot(ctx context.Context, p Principal, patterns []string) (message.Cursor, []*wire.Frame, error) {
	if len(patterns) > h.opts.MaxTopics {
		return message.Cursor{}, nil, wire.TooManyTopics(h.opts.MaxTopics)
	}
	if err := h.authorize(ctx, p, patterns); err != nil {
		return message.Cursor{}, nil, err
	}
	if err := h.waitLoaded(ctx); err != nil {
		return message.Cursor{}, nil, err
	}
	g, err := h.snapshot(ctx, patterns, nil)
	if err != nil {
		if ctx.Err() != nil {
			err = errSnapshotSlow
		}
		return message.Cursor{}, nil, err
	}
	return message.Cursor{Epoch: h.epoch, Seq: g.pos}, g.items, nil
}

var errSnapshotSlow = wire.ErrUnavailable.With("the snapshot was not read in time; narrow the patterns")
