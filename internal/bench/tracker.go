package bench

// tracker follows the sequence numbers one subscriber gets for its topic,
// which the publisher numbers 1, 2, 3, ...: what is missing, what came
// late, what came twice. Its memory is the gaps still open, not the
// numbers seen. It is used by one goroutine.
type tracker struct {
	next       uint64 // every number below it was seen or is in gaps
	gaps       []gap  // numbers below next not seen (yet), in order
	outOfOrder int64
	duplicates int64
}

// gap is the numbers lo..hi, inclusive, not seen.
type gap struct{ lo, hi uint64 }

func newTracker() tracker { return tracker{next: 1} }

// see records number n.
func (t *tracker) see(n uint64) {
	switch {
	case n == t.next:
		t.next++
	case n > t.next:
		t.gaps = append(t.gaps, gap{t.next, n - 1})
		t.next = n + 1
	default:
		if t.fill(n) {
			t.outOfOrder++
		} else {
			t.duplicates++
		}
	}
}

// fill removes n from the gaps, reporting whether it was missing.
func (t *tracker) fill(n uint64) bool {
	for i := len(t.gaps) - 1; i >= 0; i-- {
		g := t.gaps[i]
		if n > g.hi {
			return false
		}
		if n < g.lo {
			continue
		}
		switch {
		case g.lo == g.hi:
			t.gaps = append(t.gaps[:i], t.gaps[i+1:]...)
		case n == g.lo:
			t.gaps[i].lo++
		case n == g.hi:
			t.gaps[i].hi--
		default:
			t.gaps = append(t.gaps[:i+1], t.gaps[i:]...)
			t.gaps[i].hi = n - 1
			t.gaps[i+1].lo = n + 1
		}
		return true
	}
	return false
}

// missing counts the numbers in lo..hi (inclusive) not seen.
func (t *tracker) missing(lo, hi uint64) int64 {
	if lo == 0 || hi < lo {
		return 0
	}
	var n int64
	for _, g := range t.gaps {
		n += overlap(g.lo, g.hi, lo, hi)
	}
	if t.next <= hi {
		n += overlap(t.next, hi, lo, hi)
	}
	return n
}

func overlap(alo, ahi, blo, bhi uint64) int64 {
	lo, hi := max(alo, blo), min(ahi, bhi)
	if hi < lo {
		return 0
	}
	return int64(hi - lo + 1)
}
