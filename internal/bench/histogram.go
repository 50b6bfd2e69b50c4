package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// subBucketBits sets the histogram's precision: each power of two is split
// into 2^subBucketBits linear buckets, so a value is known to within 1/32
// (about 3%) of itself.
const subBucketBits = 5

const (
	subBuckets = 1 << subBucketBits
	// maxExp bounds the values told apart: up to 2^41 ns, about 36
	// minutes; the last bucket holds every longer one too.
	maxExp     = 40
	numBuckets = (maxExp - subBucketBits + 2) * subBuckets
)

// Histogram counts durations in log-linear buckets, HDR-style: constant
// memory whatever it counts, and quantiles within about 3%. Record is safe
// for concurrent use and does not allocate.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	total  atomic.Uint64
	max    atomic.Int64
}

// bucketOf maps v (ns, >= 0) to its bucket index.
func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	exp := bits.Len64(v) - 1 // v is in [2^exp, 2^(exp+1))
	if exp > maxExp {
		return numBuckets - 1
	}
	shift := exp - subBucketBits
	sub := int(v>>uint(shift)) - subBuckets // 0..subBuckets-1
	return (shift+1)*subBuckets + sub
}

// bucketHigh is the largest value bucket i holds.
func bucketHigh(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	shift := i/subBuckets - 1
	sub := uint64(i%subBuckets + subBuckets)
	return (sub+1)<<uint(shift) - 1
}

// Record counts one duration; negative ones count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(uint64(v))].Add(1)
	h.total.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count is how many durations were recorded.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Max is the largest duration recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Quantile returns the duration below which fraction q (0..1) of the
// recorded ones fall, as the upper bound of its bucket (never above Max;
// Max itself for the last bucket, which also holds every longer one).
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = max(rank, 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			if i == numBuckets-1 {
				return h.Max()
			}
			return min(time.Duration(bucketHigh(i)), h.Max())
		}
	}
	return h.Max()
}

// Merge adds the counts of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c > 0 {
			h.counts[i].Add(c)
		}
	}
	h.total.Add(o.total.Load())
	for {
		m, om := h.max.Load(), o.max.Load()
		if om <= m || h.max.CompareAndSwap(m, om) {
			return
		}
	}
}
