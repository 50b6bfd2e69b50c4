package feed

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
)

// Runner is a feed that runs in-process: it publishes through p until ctx
// ends.
type Runner interface {
	Run(ctx context.Context, p Publisher) error
}

// Options are the settings of every registered feed, in one struct so that
// one set of flags serves both `tickerd serve` and `tickerd feed`.
// RegisterFlags fills it from the command line; Build reads the part of it
// that each named feed needs.
type Options struct {
	Stocks StocksOptions
	Sports SportsOptions
	// Logger, when set, is given to every feed Build makes, in place of
	// the logger in that feed's own options.
	Logger *slog.Logger
}

// logger is the logger for a feed whose own options hold own.
func (o Options) logger(own *slog.Logger) *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return own
}

// registered is a feed Build can make. Adding a feed is a file in this
// package with its options and Runner, plus one row in registry.
type registered struct {
	name string
	// about is a one-line description for the --feeds help.
	about string
	// demo feeds run unless --feeds says otherwise.
	demo bool
	// flags adds the feed's own flags to fs, writing into o. Every command
	// shares the names, so they must not collide across feeds.
	flags func(fs *flag.FlagSet, o *Options)
	// build validates the feed's part of o and makes the feed.
	build func(o Options) (Runner, error)
}

var registry = []registered{
	{
		name:  "stocks",
		about: "simulated quotes on stocks.<SYMBOL>",
		demo:  true,
		flags: func(fs *flag.FlagSet, o *Options) {
			fs.Float64Var(&o.Stocks.TicksPerSecond, "stock-rate", DefaultTicksPerSecond, "quotes per second per stock symbol")
		},
		build: func(o Options) (Runner, error) {
			st := o.Stocks
			st.Logger = o.logger(st.Logger)
			if err := st.Validate(); err != nil {
				return nil, err
			}
			return NewStocks(st), nil
		},
	},
	{
		name:  "sports",
		about: "simulated games on sports.<league>.<id>, their plays on sports.<league>.<id>.events",
		demo:  true,
		flags: func(fs *flag.FlagSet, o *Options) {
			fs.IntVar(&o.Sports.Games, "games", DefaultGames, "concurrent simulated games")
			fs.DurationVar(&o.Sports.GameLength, "game-length", DefaultGameLength, "real time one simulated game lasts")
		},
		build: func(o Options) (Runner, error) {
			sp := o.Sports
			sp.Logger = o.logger(sp.Logger)
			if err := sp.Validate(); err != nil {
				return nil, err
			}
			return NewSports(sp), nil
		},
	},
}

// Names are the feeds Build knows, in registry order.
func Names() []string {
	out := make([]string, len(registry))
	for i, r := range registry {
		out[i] = r.name
	}
	return out
}

// Defaults are the feeds a gateway runs when it is not told which: the
// demo simulators.
func Defaults() []string {
	var out []string
	for _, r := range registry {
		if r.demo {
			out = append(out, r.name)
		}
	}
	return out
}

// Describe is one line per known feed, "name: description", for help
// text.
func Describe() string {
	lines := make([]string, len(registry))
	for i, r := range registry {
		lines[i] = r.name + ": " + r.about
	}
	return strings.Join(lines, "\n")
}

// RegisterFlags adds every known feed's own flags to fs, writing into o.
// The flag that names the feeds to run is the caller's.
func RegisterFlags(fs *flag.FlagSet, o *Options) {
	for _, r := range registry {
		r.flags(fs, o)
	}
}

// ErrUnknownFeed is returned by Build for a name that is not one of Names().
var ErrUnknownFeed = errors.New("feed: unknown feed")

// Build validates and makes the named feeds, in the order named. "none"
// and empty names make nothing, so "none" alone runs no feed. A name that
// is unknown or given twice is an error, and then nothing is returned.
func Build(names []string, o Options) ([]Runner, error) {
	var out []Runner
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || n == "none" {
			continue
		}
		r := lookup(n)
		if r == nil {
			return nil, fmt.Errorf("%w %q (known: %s, or none)", ErrUnknownFeed, n, strings.Join(Names(), ", "))
		}
		if seen[n] {
			// Two copies of one simulator would publish conflicting values
			// on the same topics.
			return nil, fmt.Errorf("feed: %q is named twice", n)
		}
		seen[n] = true
		run, err := r.build(o)
		if err != nil {
			return nil, fmt.Errorf("feed %s: %w", n, err)
		}
		out = append(out, run)
	}
	return out, nil
}

func lookup(name string) *registered {
	for i := range registry {
		if registry[i].name == name {
			return &registry[i]
		}
	}
	return nil
}
