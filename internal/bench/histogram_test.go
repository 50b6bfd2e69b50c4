package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Every value falls in a bucket whose upper bound is at least the value
// and within 1/32 of it, and buckets neither overlap nor leave gaps.
func TestBucketBounds(t *testing.T) {
	vals := []uint64{0, 1, 31, 32, 33, 63, 64, 65, 1000, 1 << 20, 1<<20 + 1, 123456789, 1 << 40, 1<<41 - 1}
	for range 10000 {
		vals = append(vals, rand.Uint64N(1<<41))
	}
	for _, v := range vals {
		i := bucketOf(v)
		hi := bucketHigh(i)
		if v > hi {
			t.Fatalf("value %d in bucket %d whose high is %d", v, i, hi)
		}
		if i > 0 && v <= bucketHigh(i-1) {
			t.Fatalf("value %d in bucket %d but bucket %d reaches %d", v, i, i-1, bucketHigh(i-1))
		}
		if float64(hi-v) > float64(v)/32 {
			t.Fatalf("value %d: bucket high %d is more than 1/32 above it", v, hi)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Count() != 0 {
		t.Fatal("an empty histogram is not all zero")
	}
	// 1 ms .. 1000 ms, once each, shuffled: the q quantile is q*1000 ms.
	ds := make([]time.Duration, 1000)
	for i := range ds {
		ds[i] = time.Duration(i+1) * time.Millisecond
	}
	rand.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
	for _, d := range ds {
		h.Record(d)
	}
	if h.Count() != 1000 {
		t.Fatalf("count %d, want 1000", h.Count())
	}
	if h.Max() != time.Second {
		t.Fatalf("max %v, want 1s exactly", h.Max())
	}
	for _, q := range []float64{0.001, 0.1, 0.5, 0.9, 0.99, 0.999, 1} {
		want := time.Duration(math.Ceil(q*1000)) * time.Millisecond
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/32 {
			t.Errorf("quantile %v = %v, want %v to %v", q, got, want, want+want/32)
		}
	}
}

// A quantile is a value from the right rank: checked against sorting, on
// skewed data.
func TestHistogramMatchesSorting(t *testing.T) {
	var h Histogram
	var all []time.Duration
	for range 20000 {
		d := time.Duration(rand.ExpFloat64() * float64(3*time.Millisecond))
		if rand.IntN(100) == 0 {
			d += 200 * time.Millisecond // a tail
		}
		all = append(all, d)
		h.Record(d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := all[int(math.Ceil(q*float64(len(all))))-1]
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/32+1 {
			t.Errorf("quantile %v = %v, sorting says %v", q, got, want)
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	var h Histogram
	h.Record(-time.Second) // a clock step: counts as zero
	if h.Count() != 1 || h.Quantile(1) != 0 {
		t.Fatalf("negative duration: count %d, q1 %v", h.Count(), h.Quantile(1))
	}
	huge := 100 * time.Hour // beyond the last bucket
	h.Record(huge)
	if h.Max() != huge || h.Quantile(1) != huge {
		t.Fatalf("huge duration: max %v, q1 %v", h.Max(), h.Quantile(1))
	}
}

func TestHistogramMerge(t *testing.T) {
	var a, b, all Histogram
	for i := 1; i <= 100; i++ {
		d := time.Duration(i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Histogram
	m.Merge(&a)
	m.Merge(&b)
	if m.Count() != all.Count() || m.Max() != all.Max() {
		t.Fatalf("merged count %d max %v, want %d %v", m.Count(), m.Max(), all.Count(), all.Max())
	}
	for _, q := range []float64{0.25, 0.5, 0.75, 0.99} {
		if m.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged quantile %v = %v, want %v", q, m.Quantile(q), all.Quantile(q))
		}
	}
}

func TestHistogramRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	if n := testing.AllocsPerRun(100, func() { h.Record(1234567) }); n != 0 {
		t.Fatalf("Record allocates %v times", n)
	}
}
