// Command tickerd is the Tickerd binary:
//
//	tickerd serve   run a gateway (with an embedded NATS and the demo feeds by default)
//	tickerd feed    run only the simulators against an existing NATS
//	tickerd bench   measure a gateway: N subscribers, publish, count and time deliveries
//	tickerd token   print a signed JWT granting topics, for development and tests
//	tickerd ceiling a minimal pre-framed WebSocket writer, which bench --ceiling compares with
//
// Every flag also reads an environment variable: --nats-url reads
// TICKERD_NATS_URL, and so on. A flag given on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `tickerd — live ticker push service

usage:
  tickerd serve [flags]   run a gateway: embedded NATS, demo feeds, HTTP on :8080
  tickerd feed  [flags]   run the stock and sports simulators against --nats-url
  tickerd bench [flags]   load-test a gateway (in-process, --spawn, or --url):
                          subscribers over ws/sse/poll, deliveries/s, latency,
                          losses, server CPU and memory; --scenarios standard
                          runs the standard set (make bench)
  tickerd token [flags]   print an HS256 JWT for --jwt-secret granting --topics
                          (and --publish) to --sub for --ttl: development, tests
  tickerd ceiling [flags] a minimal pre-framed WebSocket writer: the machine's
                          ceiling, which tickerd bench --ceiling runs beside

Run "tickerd <command> -h" for the flags. Every flag also reads the
environment variable TICKERD_<FLAG> (dashes become underscores).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "feed":
		err = runFeed(ctx, args[1:], stderr)
	case "bench":
		err = runBench(ctx, args[1:], stdout, stderr)
	case "token":
		err = runToken(ctx, args[1:], stdout, stderr)
	case "ceiling":
		err = runCeiling(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "tickerd: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		if !errors.Is(err, errUsageShown) {
			fmt.Fprintf(stderr, "tickerd %s: %v\n", args[0], err)
		}
		return 2
	}
	fmt.Fprintf(stderr, "tickerd %s: %v\n", args[0], err)
	return 1
}

// logFlags adds --log-level and --log-json to fs; the returned func builds
// the logger they describe, once fs is parsed.
func logFlags(fs *flag.FlagSet, w io.Writer) func() (*slog.Logger, error) {
	level := fs.String("log-level", "info", "debug, info, warn or error")
	json := fs.Bool("log-json", false, "log JSON lines instead of text")
	return func() (*slog.Logger, error) {
		var l slog.Level
		if err := l.UnmarshalText([]byte(*level)); err != nil {
			return nil, fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, *level)
		}
		opts := &slog.HandlerOptions{Level: l}
		if *json {
			return slog.New(slog.NewJSONHandler(w, opts)), nil
		}
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
}
