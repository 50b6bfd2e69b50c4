package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/gateway"
	"github.com/tickerd/tickerd/internal/stream"
)

// streamFlags are the stream's settings, shared by serve and feed so that
// both create the same stream.
func streamFlags(fs *flag.FlagSet, o *stream.Options) {
	fs.StringVar(&o.Name, "stream", stream.DefaultName, "JetStream stream name")
	fs.StringVar(&o.SubjectPrefix, "subject-prefix", stream.DefaultSubjectPrefix, "NATS subject prefix put before every topic")
	fs.DurationVar(&o.MaxAge, "max-age", stream.DefaultMaxAge, "retention: how long updates are kept (and cursors resume)")
	fs.Int64Var(&o.MaxPerTopic, "max-per-topic", stream.DefaultMaxPerTopic, "retention: most updates kept per topic")
	fs.IntVar(&o.Replicas, "replicas", stream.DefaultReplicas, "JetStream replicas (3 on a cluster)")
}

// feedFlags are the simulators' settings, shared by serve and feed.
func feedFlags(fs *flag.FlagSet, st *feed.StocksOptions, sp *feed.SportsOptions) *listFlag {
	feeds := listFlag{"stocks", "sports"}
	fs.Var(&feeds, "feeds", `simulators to run: stocks, sports, or "none"`)
	fs.Float64Var(&st.TicksPerSecond, "stock-rate", feed.DefaultTicksPerSecond, "quotes per second per stock symbol")
	fs.IntVar(&sp.Games, "games", feed.DefaultGames, "concurrent simulated games")
	fs.DurationVar(&sp.GameLength, "game-length", feed.DefaultGameLength, "real time one simulated game lasts")
	return &feeds
}

func runFeed(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("tickerd feed", flag.ContinueOnError)
	url := fs.String("nats-url", nats.DefaultURL, "NATS to publish to")
	var so stream.Options
	var st feed.StocksOptions
	var sp feed.SportsOptions
	streamFlags(fs, &so)
	feeds := feedFlags(fs, &st, &sp)
	logger := logFlags(fs, stderr)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	log, err := logger()
	if err != nil {
		return err
	}
	st.Logger, sp.Logger = log, log
	runners, err := gateway.Feeds(*feeds, st, sp)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	nc, err := nats.Connect(*url, nats.Name("tickerd-feed"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", *url, err)
	}
	defer nc.Drain()
	s, err := stream.Open(ctx, nc, so, log)
	if err != nil {
		return err
	}
	log.Info("tickerd feed publishing", "nats", *url, "stream", so.Name, "feeds", []string(*feeds))
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Go(func() { _ = r.Run(ctx, s) })
	}
	wg.Wait()
	return nil
}
