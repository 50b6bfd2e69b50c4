package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/tickerd/tickerd/feed"
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
	fs.DurationVar(&o.DedupWindow, "dedup-window", stream.DefaultDedupWindow, "how long the stream remembers update ids: a publish repeating one within it is stored once (at most --max-age)")
}

// feedFlags are the feeds' settings, shared by serve and feed: --feeds
// names the feeds to run and every registered feed adds its own flags.
func feedFlags(fs *flag.FlagSet, names *[]string, o *feed.Options) {
	*names = feed.Defaults()
	known := "  " + strings.ReplaceAll(feed.Describe(), "\n", "\n  ")
	fs.Var((*listFlag)(names), "feeds", "comma-separated `names` of the feeds to run, or none; known:\n"+known)
	feed.RegisterFlags(fs, o)
}

func runFeed(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("tickerd feed", flag.ContinueOnError)
	url := fs.String("nats-url", nats.DefaultURL, "NATS to publish to")
	var so stream.Options
	var names []string
	var fo feed.Options
	streamFlags(fs, &so)
	feedFlags(fs, &names, &fo)
	logger := logFlags(fs, stderr)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	log, err := logger()
	if err != nil {
		return err
	}
	fo.Logger = log
	runners, err := feed.Build(names, fo)
	if err != nil {
		return fmt.Errorf("%w: --feeds: %v", errUsage, err)
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
	log.Info("tickerd feed publishing", "nats", *url, "stream", so.Name, "feeds", names)
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Go(func() { _ = r.Run(ctx, s) })
	}
	wg.Wait()
	return nil
}
