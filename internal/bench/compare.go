package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Comparison is a bench run against Tickerd and against the ceiling
// server (ServeCeiling), in rounds.
type Comparison struct {
	Rounds []Round `json:"rounds"`
	// MedianRatio is the median of the rounds' ratios (the mean of the
	// middle two for an even count).
	MedianRatio float64 `json:"median_ratio"`
}

// Round is one round of a Comparison: the same options against each
// server, and Tickerd's server CPU per million deliveries as a multiple of
// the ceiling's.
type Round struct {
	Tickerd *Result `json:"tickerd"`
	Ceiling *Result `json:"ceiling"`
	Ratio   float64 `json:"ratio"`
}

// CompareCeiling runs o (spawning Tickerd) and the same against the
// ceiling server, which ceilingCommand runs, rounds times, starting with
// each in alternate rounds: on a shared, noisy machine one pair says
// little, and whichever runs second finds the machine in the state the
// first left it. Every result's own Err is in the Comparison's Err.
func CompareCeiling(ctx context.Context, o Options, ceilingCommand []string, rounds int) (*Comparison, error) {
	if rounds < 1 {
		return nil, fmt.Errorf("%w: a comparison takes at least one round", ErrOptions)
	}
	co := o
	co.Ceiling, co.ServerCommand, co.ServerArgs, co.NATSCommand = true, ceilingCommand, nil, nil
	co.CPUProfile, co.MemProfile = "", ""
	c := &Comparison{}
	for i := range rounds {
		var r Round
		for j := range 2 {
			var err error
			if (i+j)%2 == 0 {
				r.Tickerd, err = Run(ctx, o)
			} else if r.Ceiling, err = Run(ctx, co); err != nil {
				err = fmt.Errorf("the ceiling server: %w", err)
			}
			if err != nil {
				return nil, err
			}
		}
		if r.Ceiling.CPUPerMillion > 0 {
			r.Ratio = r.Tickerd.CPUPerMillion / r.Ceiling.CPUPerMillion
		}
		c.Rounds = append(c.Rounds, r)
	}
	sorted := c.byRatio()
	n := len(sorted)
	c.MedianRatio = sorted[n/2].Ratio
	if n%2 == 0 {
		c.MedianRatio = (sorted[n/2-1].Ratio + sorted[n/2].Ratio) / 2
	}
	return c, nil
}

// Median is the round whose ratio is the median (of an even count, the
// lower of the middle two).
func (c *Comparison) Median() Round {
	sorted := c.byRatio()
	return sorted[(len(sorted)-1)/2]
}

// byRatio is the rounds from the lowest ratio to the highest.
func (c *Comparison) byRatio() []Round {
	rounds := slices.Clone(c.Rounds)
	slices.SortFunc(rounds, func(a, b Round) int { return cmp.Compare(a.Ratio, b.Ratio) })
	return rounds
}

// Err joins what went wrong in any run of the comparison.
func (c *Comparison) Err() error {
	var errs []error
	for _, r := range c.Rounds {
		errs = append(errs, r.Tickerd.Err(), r.Ceiling.Err())
	}
	return errors.Join(errs...)
}

// ratios lists the rounds' ratios, in the order they ran.
func (c *Comparison) ratios() string {
	out := make([]string, len(c.Rounds))
	for i, r := range c.Rounds {
		out[i] = fmt.Sprintf("%.2f", r.Ratio)
	}
	return strings.Join(out, ", ")
}
