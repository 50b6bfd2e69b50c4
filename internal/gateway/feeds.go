package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/tickerd/tickerd/feed"
)

// Runner is a feed: it publishes until ctx ends.
type Runner interface {
	Run(ctx context.Context, p feed.Publisher) error
}

// FeedNames are the simulators Feeds knows.
var FeedNames = []string{"stocks", "sports"}

// Feeds builds the named simulators. "none" or nothing builds none.
func Feeds(names []string, stocks feed.StocksOptions, sports feed.SportsOptions) ([]Runner, error) {
	var out []Runner
	for _, n := range names {
		switch strings.TrimSpace(n) {
		case "", "none":
		case "stocks":
			if err := stocks.Validate(); err != nil {
				return nil, err
			}
			out = append(out, feed.NewStocks(stocks))
		case "sports":
			if err := sports.Validate(); err != nil {
				return nil, err
			}
			out = append(out, feed.NewSports(sports))
		default:
			return nil, fmt.Errorf("unknown feed %q (known: %s)", n, strings.Join(FeedNames, ", "))
		}
	}
	return out, nil
}
