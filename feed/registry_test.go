package feed

import (
	"errors"
	"flag"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/logbuf"
)

func TestBuild(t *testing.T) {
	for _, tt := range []struct {
		names []string
		want  []string // the runners' types, in order
	}{
		{nil, nil},
		{[]string{"none"}, nil},
		{[]string{"", " none "}, nil},
		{[]string{"stocks"}, []string{"*feed.Stocks"}},
		{[]string{"sports", " stocks"}, []string{"*feed.Sports", "*feed.Stocks"}},
		{Defaults(), []string{"*feed.Stocks", "*feed.Sports"}},
	} {
		runners, err := Build(tt.names, Options{Logger: quiet()})
		if err != nil {
			t.Errorf("Build(%q): %v", tt.names, err)
			continue
		}
		var got []string
		for _, r := range runners {
			got = append(got, reflect.TypeOf(r).String())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Build(%q) made %v, want %v", tt.names, got, tt.want)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	runners, err := Build([]string{"stocks", "weather"}, Options{})
	if !errors.Is(err, ErrUnknownFeed) || runners != nil {
		t.Fatalf("unknown feed: %v, %d runners", err, len(runners))
	}
	// The error is what a user who mistyped --feeds reads.
	for _, name := range append(Names(), `"weather"`) {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if _, err := Build([]string{"stocks", "stocks"}, Options{}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a feed named twice: %v", err)
	}
	// Options that would make a constructor panic are errors instead.
	if _, err := Build([]string{"sports"}, Options{Sports: SportsOptions{Leagues: []string{"xfl"}}}); !errors.Is(err, ErrUnknownLeague) {
		t.Errorf("unknown league: %v", err)
	}
	if _, err := Build([]string{"stocks"}, Options{Stocks: StocksOptions{Stocks: []Stock{{Symbol: "A.B", Price: 1}}}}); !errors.Is(err, ErrBadStock) {
		t.Errorf("bad stock: %v", err)
	}
}

func TestRegisterFlags(t *testing.T) {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	var o Options
	RegisterFlags(fs, &o)
	if o.Stocks.TicksPerSecond != DefaultTicksPerSecond || o.Sports.Games != DefaultGames || o.Sports.GameLength != DefaultGameLength {
		t.Fatalf("defaults: %+v %+v", o.Stocks, o.Sports)
	}
	if err := fs.Parse([]string{"--stock-rate", "0.5", "--games", "2", "--game-length", "30s"}); err != nil {
		t.Fatal(err)
	}
	if o.Stocks.TicksPerSecond != 0.5 || o.Sports.Games != 2 || o.Sports.GameLength != 30*time.Second {
		t.Fatalf("parsed: %+v %+v", o.Stocks, o.Sports)
	}
}

func TestRegistryListing(t *testing.T) {
	names := Names()
	for _, d := range Defaults() {
		if !slices.Contains(names, d) {
			t.Errorf("default feed %q is not registered", d)
		}
	}
	lines := strings.Split(Describe(), "\n")
	if len(lines) != len(names) {
		t.Fatalf("Describe has %d lines for %d feeds:\n%s", len(lines), len(names), Describe())
	}
	for i, n := range names {
		if !strings.HasPrefix(lines[i], n+": ") {
			t.Errorf("line %d %q does not describe %s", i, lines[i], n)
		}
	}
}

// Options.Logger replaces each feed's own, so the gateway's log level and
// format apply to the feeds it runs.
func TestBuildLogger(t *testing.T) {
	var logs logbuf.Buffer
	runners, err := Build([]string{"stocks"}, Options{
		Stocks: StocksOptions{Logger: quiet()},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	cancel, done := start(runners[0].Run, rec)
	rec.await(t, "a quote", func(_, got int) bool { return got > 0 })
	cancel()
	awaitReturn(t, done)
	if !strings.Contains(logs.String(), "feed=stocks") {
		t.Errorf("the feed did not log through Options.Logger:\n%s", logs.String())
	}
}
