package transport

import (
	"sort"
	"sync"

	"github.com/tickerd/tickerd/transport/wire"
)

// ring keeps the most recent updates of the whole stream, in order, so that
// a resume from a recent cursor needs no trip to the stream. It is bounded
// by count and by the bytes of the messages it holds: updates of up to
// 64 KiB each would otherwise make a count bound gigabytes.
type ring struct {
	mu       sync.RWMutex
	buf      []*wire.Frame
	start    int // index of the oldest
	n        int
	bytes    int // sum of len(JSON) of the n held
	maxBytes int
	// from is the sequence after which the ring holds every update; below
	// it, ask the stream.
	from uint64
}

func newRing(size, maxBytes int) *ring {
	return &ring{buf: make([]*wire.Frame, size), maxBytes: maxBytes}
}

func (r *ring) reset(from uint64) {
	r.mu.Lock()
	clear(r.buf)
	r.start, r.n, r.bytes, r.from = 0, 0, 0, from
	r.mu.Unlock()
}

// add appends f, letting the oldest go while the ring is over either
// bound. A frame larger than the byte bound on its own leaves the ring
// empty, after it.
func (r *ring) add(f *wire.Frame) {
	r.mu.Lock()
	if r.n == len(r.buf) {
		r.evict()
	}
	r.buf[(r.start+r.n)%len(r.buf)] = f
	r.n++
	r.bytes += len(f.JSON)
	for r.bytes > r.maxBytes {
		r.evict()
	}
	r.mu.Unlock()
}

// evict drops the oldest entry. Caller holds mu for writing.
func (r *ring) evict() {
	old := r.buf[r.start]
	r.from = old.Seq
	r.bytes -= len(old.JSON)
	r.buf[r.start] = nil
	r.start = (r.start + 1) % len(r.buf)
	r.n--
}

func (r *ring) at(i int) *wire.Frame { return r.buf[(r.start+i)%len(r.buf)] }

// after appends to dst up to max updates with sequence above seq, oldest
// first. ok is false when the ring no longer holds everything after seq.
func (r *ring) after(seq uint64, dst []*wire.Frame, max int) (_ []*wire.Frame, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if seq < r.from {
		return dst, false
	}
	i := r.search(seq)
	for ; i < r.n && max > 0; i, max = i+1, max-1 {
		dst = append(dst, r.at(i))
	}
	return dst, true
}

// search is the index of the oldest entry after seq. Caller holds mu.
func (r *ring) search(seq uint64) int {
	return sort.Search(r.n, func(i int) bool { return r.at(i).Seq > seq })
}

// floor is the sequence after which the ring holds every update.
func (r *ring) floor() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.from
}
