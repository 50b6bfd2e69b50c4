package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tickerd/tickerd/internal/bench"
)

// benchFlags are `tickerd bench`'s settings: the bench options, and what
// to do with the results.
type benchFlags struct {
	o          bench.Options
	serverCmd  string
	serverArgs string
	natsCmd    string
	json       bool
	quiet      bool
	scenarios  listFlag
	scale      float64
	markdown   string
	hubBench   string
	profileDir string
	// ceiling runs the bench against the ceiling server too, which
	// ceilingCmd runs.
	ceiling    bool
	ceilingCmd []string
	// rounds is how many times the ceiling comparison runs; roundsSet
	// says the flag was given.
	rounds    int
	roundsSet bool
}

func newBenchFlags(fs *flag.FlagSet) *benchFlags {
	f := &benchFlags{scale: 1}
	o := &f.o
	fs.IntVar(&o.Subscribers, "subscribers", 100, "subscribers to open")
	fs.StringVar(&o.Transport, "transport", bench.WebSocket, "ws, sse, poll, or mix (subscriber i takes the (i mod 3)th of them)")
	fs.IntVar(&o.Topics, "topics", 1, "topics to publish to, round-robin")
	fs.StringVar(&o.Interest, "interest", bench.Spread, "which topic a subscriber takes: one (all on the first) or spread (subscriber i on topic i mod topics)")
	fs.Float64Var(&o.Rate, "rate", 0, "updates published per second over all topics; 0 holds idle connections")
	fs.IntVar(&o.Size, "size", 100, "bytes of data per update")
	fs.StringVar(&o.Kind, "kind", "event", "kind of the updates: event (never merged) or state")
	fs.DurationVar(&o.Warmup, "warmup", 3*time.Second, "publishing before the measured window")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "the measured window")
	fs.DurationVar(&o.Drain, "drain", 5*time.Second, "longest wait after publishing for the last updates before the missing count as lost")
	fs.DurationVar(&o.Settle, "settle", 2*time.Second, "wait after connecting before the server's memory is read")
	fs.StringVar(&o.URL, "url", "", "measure the gateway at http://host:port; empty starts one (in this process, or with --spawn as a child)")
	fs.StringVar(&o.NATSURL, "nats-url", "", "with --url: publish into this NATS (the gateway's) rather than through /v1/publish")
	fs.StringVar(&o.PublishToken, "publish-token", "", "with --url and no --nats-url: the gateway's publish token")
	fs.StringVar(&o.AdminURL, "admin-url", "", "with --url: the gateway's admin listener (its --admin-addr), http://host:port, for /metrics; empty reads --url's")
	fs.StringVar(&o.Stream.Name, "stream", "TICKERD", "the gateway's JetStream stream name")
	fs.StringVar(&o.Stream.SubjectPrefix, "subject-prefix", "tickerd", "the gateway's NATS subject prefix")
	fs.BoolVar(&o.Spawn, "spawn", false, "start the server as a child process (tickerd serve), so its CPU and memory are its own")
	fs.StringVar(&f.serverCmd, "server-cmd", "", `with --spawn: the command that runs a gateway; empty runs this binary's "serve"`)
	fs.StringVar(&f.serverArgs, "server-args", "", `with --spawn: more server flags, space-separated, e.g. "--queue-size 512"`)
	fs.StringVar(&f.natsCmd, "nats-server", "", "with --spawn: run NATS as a process of its own with this command (a nats-server binary: go build -o bin/nats-server github.com/nats-io/nats-server/v2), so that the gateway's CPU excludes NATS's; with --scenarios, for the scenarios that measure that (firehose)")
	fs.IntVar(&o.SourceAddrs, "source-addrs", 8, "loopback source addresses (127.0.0.2, ...) to spread connections over; 1 lets the system choose")
	fs.IntVar(&o.ConnectConcurrency, "connect-concurrency", 200, "most subscribers connecting at once")
	fs.DurationVar(&o.ConnectTimeout, "connect-timeout", 30*time.Second, "longest one subscriber may take to subscribe, retries included")
	fs.DurationVar(&o.PollTimeout, "poll-timeout", 25*time.Second, "timeout long polls ask for")
	fs.DurationVar(&o.PollDelay, "poll-delay", 0, "wait between a poll response and the next request, to make a backlog")
	fs.StringVar(&o.CPUProfile, "cpu-profile", "", "write a CPU profile of the server over the measured window to this file (in-process or --spawn)")
	fs.StringVar(&o.MemProfile, "mem-profile", "", "write a heap profile of the server at the end of the window to this file (in-process or --spawn)")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON instead of a table")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress lines on stderr")
	fs.Var(&f.scenarios, "scenarios", `run named scenarios instead of one run: "standard" (issue 5's), or a comma-separated list of their names`)
	fs.Float64Var(&f.scale, "scale", 1, "with --scenarios: multiply their subscriber counts (0.1 for a quick try)")
	fs.StringVar(&f.markdown, "markdown", "", "with --scenarios: write their report to this Markdown file (docs/benchmarks.md), keeping its notes")
	fs.StringVar(&f.hubBench, "hub-bench", "", "with --markdown: a file holding the hub micro-benchmark's output, to include")
	fs.StringVar(&f.profileDir, "profile-dir", "", "with --scenarios: write each scenario's server CPU and heap profiles to this directory")
	fs.StringVar(&f.o.ServerCPUs, "server-cpus", "", `with --spawn: run the spawned servers on these CPUs (a list as taskset takes it, "0") and the bench on the others`)
	fs.IntVar(&f.rounds, "rounds", 1, "with --ceiling: how many times to run the pair, alternating which goes first; the report gives each round's ratio and their median (with --scenarios: of the scenarios that compare, default 3)")
	fs.BoolVar(&f.ceiling, "ceiling", false, "with --spawn and --transport ws: run the same bench against the ceiling server too (tickerd ceiling: a minimal pre-framed WebSocket writer, spawned), and report Tickerd's CPU per million deliveries as a multiple of its")
	return f
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tickerd bench", flag.ContinueOnError)
	f := newBenchFlags(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	explicit := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { explicit[fl.Name] = true })
	if err := f.settle(explicit, stderr); err != nil {
		return err
	}
	if len(f.scenarios) > 0 {
		return f.runScenarios(ctx, stdout, stderr)
	}
	if f.ceiling {
		return f.runCeiling(ctx, stdout)
	}
	res, err := bench.Run(ctx, f.o)
	if err != nil {
		return err
	}
	if f.json {
		return errors.Join(encodeJSON(stdout, res), res.Err())
	}
	return errors.Join(res.WriteTable(stdout), res.Err())
}

// runCeiling runs the bench against Tickerd and the ceiling server in
// --rounds rounds (bench.CompareCeiling) and reports each round's ratio
// and their median.
func (f *benchFlags) runCeiling(ctx context.Context, stdout io.Writer) error {
	c, err := bench.CompareCeiling(ctx, f.o, f.ceilingCmd, f.rounds)
	if err != nil {
		return err
	}
	if f.json {
		return errors.Join(encodeJSON(stdout, c), c.Err())
	}
	var errs []error
	for _, r := range c.Rounds {
		errs = append(errs, r.Tickerd.WriteTable(stdout), r.Ceiling.WriteTable(stdout))
	}
	fmt.Fprintln(stdout)
	for i, r := range c.Rounds {
		fmt.Fprintf(stdout, "round %d: Tickerd %.2f, ceiling %.2f server CPU s per million deliveries: %.2f×\n",
			i+1, r.Tickerd.CPUPerMillion, r.Ceiling.CPUPerMillion, r.Ratio)
	}
	fmt.Fprintf(stdout, "Tickerd costs %.2f× the ceiling (median of %d rounds)\n", c.MedianRatio, len(c.Rounds))
	return errors.Join(append(errs, c.Err())...)
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// settle checks the flags against each other and fills in what they
// leave to be worked out.
func (f *benchFlags) settle(explicit map[string]bool, stderr io.Writer) error {
	o := &f.o
	// serve and bench share TICKERD_NATS_URL and TICKERD_PUBLISH_TOKEN:
	// from the environment they are for --url only.
	if o.URL == "" {
		for _, name := range []string{"nats-url", "publish-token", "admin-url"} {
			if explicit[name] {
				return fmt.Errorf("%w: --%s is for the gateway at --url", errUsage, name)
			}
		}
		o.NATSURL, o.PublishToken = "", ""
	}
	if !o.Spawn && (explicit["server-cmd"] || explicit["server-args"] || explicit["nats-server"]) {
		return fmt.Errorf("%w: --server-cmd, --server-args and --nats-server go with --spawn", errUsage)
	}
	if len(f.scenarios) == 0 {
		for _, name := range []string{"scale", "markdown", "hub-bench", "profile-dir"} {
			if explicit[name] {
				return fmt.Errorf("%w: --%s goes with --scenarios", errUsage, name)
			}
		}
	} else if explicit["cpu-profile"] || explicit["mem-profile"] {
		return fmt.Errorf("%w: with --scenarios, profiles go to --profile-dir", errUsage)
	}
	if f.ceiling && (!o.Spawn || o.Transport != bench.WebSocket || len(f.scenarios) > 0) {
		return fmt.Errorf("%w: --ceiling goes with --spawn and --transport ws, without --scenarios", errUsage)
	}
	if o.Spawn && (f.ceiling || len(f.scenarios) > 0) {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this binary to spawn the ceiling server: %w", err)
		}
		f.ceilingCmd = []string{exe, "ceiling"}
	}
	f.roundsSet = explicit["rounds"]
	if f.rounds < 1 || f.roundsSet && !f.ceiling && len(f.scenarios) == 0 {
		return fmt.Errorf("%w: --rounds is 1 or more, and goes with --ceiling or --scenarios", errUsage)
	}
	if f.scale <= 0 {
		return fmt.Errorf("%w: --scale must be positive", errUsage)
	}
	if o.Spawn {
		if f.serverCmd == "" {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find this binary to spawn: %w (give --server-cmd)", err)
			}
			o.ServerCommand = []string{exe, "serve"}
		} else {
			o.ServerCommand = strings.Fields(f.serverCmd)
		}
		o.ServerArgs = strings.Fields(f.serverArgs)
		o.NATSCommand = strings.Fields(f.natsCmd)
	}
	if !f.quiet {
		o.Log = stderr
	}
	return nil
}

// exitError is the error for a result that was not clean, so that the
// exit status is non-zero.
func exitError(results int, err error) error {
	if err == nil {
		return nil
	}
	if results > 1 {
		return fmt.Errorf("not every run was clean: %w", err)
	}
	return err
}

var errNoScenario = errors.New("no such scenario")
