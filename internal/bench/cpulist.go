package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// parseCPUList reads a CPU list as taskset(1) and /sys take it: numbers
// and ranges, comma-separated ("0", "0-1,3").
func parseCPUList(list string) (map[int]bool, error) {
	cpus := map[int]bool{}
	for part := range strings.SplitSeq(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b < a || b >= 1024 {
			return nil, fmt.Errorf("%w: bad CPU list %q", ErrOptions, list)
		}
		for cpu := a; cpu <= b; cpu++ {
			cpus[cpu] = true
		}
	}
	return cpus, nil
}
