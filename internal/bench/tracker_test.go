package bench

import (
	"math/rand/v2"
	"testing"
)

func TestTracker(t *testing.T) {
	type span struct {
		lo, hi  uint64
		missing int64
	}
	for _, c := range []struct {
		name       string
		seen       []uint64
		outOfOrder int64
		duplicates int64
		spans      []span
	}{
		{"in order", []uint64{1, 2, 3, 4, 5}, 0, 0, []span{{1, 5, 0}}},
		{"a gap", []uint64{1, 2, 4, 5}, 0, 0, []span{{1, 5, 1}, {1, 2, 0}, {3, 3, 1}, {4, 5, 0}}},
		{"late fills its gap", []uint64{1, 3, 2}, 1, 0, []span{{1, 3, 0}}},
		{"twice", []uint64{1, 2, 2, 3}, 0, 1, []span{{1, 3, 0}}},
		{"old twice", []uint64{1, 2, 3, 1}, 0, 1, []span{{1, 3, 0}}},
		{"late then twice", []uint64{1, 3, 2, 2}, 1, 1, []span{{1, 3, 0}}},
		{"split a gap", []uint64{1, 10, 5}, 1, 0, []span{{1, 10, 7}, {2, 4, 3}, {5, 5, 0}, {6, 9, 4}}},
		{"gap ends", []uint64{1, 6, 2, 5}, 2, 0, []span{{1, 6, 2}, {3, 4, 2}}},
		{"first missing", []uint64{2, 3}, 0, 0, []span{{1, 3, 1}}},
		{"nothing", nil, 0, 0, []span{{1, 4, 4}}},
		{"tail not yet seen", []uint64{1, 2, 3}, 0, 0, []span{{1, 6, 3}, {4, 4, 1}}},
		{"two gaps, one filled", []uint64{1, 3, 5, 4}, 1, 0, []span{{1, 5, 1}, {2, 2, 1}}},
		{"empty span", []uint64{5}, 0, 0, []span{{0, 3, 0}, {3, 2, 0}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := newTracker()
			for _, n := range c.seen {
				tr.see(n)
			}
			if tr.outOfOrder != c.outOfOrder || tr.duplicates != c.duplicates {
				t.Errorf("out of order %d, duplicates %d; want %d, %d", tr.outOfOrder, tr.duplicates, c.outOfOrder, c.duplicates)
			}
			for _, s := range c.spans {
				if got := tr.missing(s.lo, s.hi); got != s.missing {
					t.Errorf("missing(%d, %d) = %d, want %d", s.lo, s.hi, got, s.missing)
				}
			}
		})
	}
}

// The tracker agrees with a plain set on random arrivals: some numbers
// dropped, some repeated, some late.
func TestTrackerAgreesWithASet(t *testing.T) {
	for round := range 200 {
		const last = 300
		var arrivals []uint64
		for n := uint64(1); n <= last; n++ {
			switch rand.IntN(10) {
			case 0: // dropped
			case 1:
				arrivals = append(arrivals, n, n)
			default:
				arrivals = append(arrivals, n)
			}
		}
		for range rand.IntN(30) { // move some later
			i := rand.IntN(len(arrivals))
			j := min(len(arrivals)-1, i+1+rand.IntN(20))
			arrivals[i], arrivals[j] = arrivals[j], arrivals[i]
		}
		tr := newTracker()
		seen := map[uint64]bool{}
		var highest uint64
		var outOfOrder, duplicates int64
		for _, n := range arrivals {
			switch {
			case seen[n]:
				duplicates++
			case n < highest:
				outOfOrder++
			}
			seen[n] = true
			highest = max(highest, n)
			tr.see(n)
		}
		if tr.outOfOrder != outOfOrder || tr.duplicates != duplicates {
			t.Fatalf("round %d: out of order %d, duplicates %d; the set says %d, %d", round, tr.outOfOrder, tr.duplicates, outOfOrder, duplicates)
		}
		lo, hi := uint64(1+rand.IntN(last)), uint64(1+rand.IntN(last+20))
		var want int64
		for n := lo; n <= hi; n++ {
			if !seen[n] {
				want++
			}
		}
		if got := tr.missing(lo, hi); got != want {
			t.Fatalf("round %d: missing(%d, %d) = %d, the set says %d", round, lo, hi, got, want)
		}
	}
}
