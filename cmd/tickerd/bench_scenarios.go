package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tickerd/tickerd/internal/bench"
)

// pickScenarios returns the scenarios the names ask for: "standard" for
// all of issue 5's, or their names.
func pickScenarios(names []string) ([]bench.Scenario, error) {
	all := bench.Standard()
	var out []bench.Scenario
	for _, name := range names {
		if name == "standard" {
			out = append(out, all...)
			continue
		}
		found := false
		for _, sc := range all {
			if sc.Name == name {
				out, found = append(out, sc), true
			}
		}
		if !found {
			known := []string{"standard"}
			for _, sc := range all {
				known = append(known, sc.Name)
			}
			return nil, fmt.Errorf("%w: %w %q (known: %s)", errUsage, errNoScenario, name, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// scenarioOptions is a scenario's options with the server, connection
// and profile settings of the flags.
func (f *benchFlags) scenarioOptions(sc bench.Scenario) bench.Options {
	o, b := sc.Options, f.o
	o.Subscribers = max(1, int(float64(o.Subscribers)*f.scale))
	o.URL, o.NATSURL, o.PublishToken, o.Stream = b.URL, b.NATSURL, b.PublishToken, b.Stream
	o.Spawn, o.ServerCommand, o.ServerArgs, o.ServerCPUs = b.Spawn, b.ServerCommand, b.ServerArgs, b.ServerCPUs
	if sc.OwnNATS {
		o.NATSCommand = b.NATSCommand
	}
	o.SourceAddrs, o.ConnectConcurrency, o.ConnectTimeout, o.PollTimeout = b.SourceAddrs, b.ConnectConcurrency, b.ConnectTimeout, b.PollTimeout
	o.Log = b.Log
	if f.profileDir != "" {
		o.CPUProfile = filepath.Join(f.profileDir, sc.Name+".cpu.pprof")
		o.MemProfile = filepath.Join(f.profileDir, sc.Name+".heap.pprof")
	}
	return o
}

// command is the `tickerd bench` command line that runs sc alone, with
// its options o.
func (f *benchFlags) command(sc bench.Scenario, o bench.Options) string {
	a := []string{"tickerd", "bench"}
	switch {
	case o.Spawn:
		a = append(a, "--spawn")
		if o.ServerCPUs != "" {
			a = append(a, "--server-cpus", o.ServerCPUs)
		}
		if sc.Ceiling > 0 {
			a = append(a, "--ceiling", "--rounds", strconv.Itoa(f.scenarioRounds()))
		}
		if len(o.ServerArgs) > 0 {
			a = append(a, "--server-args", fmt.Sprintf("%q", strings.Join(o.ServerArgs, " ")))
		}
		if len(o.NATSCommand) > 0 {
			a = append(a, "--nats-server", strings.Join(o.NATSCommand, " "))
		}
	case o.URL != "":
		a = append(a, "--url", o.URL)
	}
	return strings.Join(append(a, o.Args()...), " ")
}

// scenarioRounds is how many rounds a scenario's comparison with the
// ceiling server runs: --rounds when given, else bench.CeilingRounds.
func (f *benchFlags) scenarioRounds() int {
	if f.roundsSet {
		return f.rounds
	}
	return bench.CeilingRounds
}

// runScenarios runs the scenarios one after the other, each against a
// server of its own, prints each result, and writes the Markdown report.
// It checks every scenario against the open-file limit before running any.
func (f *benchFlags) runScenarios(ctx context.Context, stdout, stderr io.Writer) error {
	picked, err := pickScenarios(f.scenarios)
	if err != nil {
		return err
	}
	runs := make([]bench.ScenarioRun, len(picked))
	for i, sc := range picked {
		sc.Options = f.scenarioOptions(sc)
		if err := bench.CheckLimits(sc.Options); err != nil {
			return fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		runs[i] = bench.ScenarioRun{Scenario: sc, Command: f.command(sc, sc.Options)}
	}
	if f.profileDir != "" {
		if err := os.MkdirAll(f.profileDir, 0o755); err != nil {
			return err
		}
	}
	rep := bench.NewReport("tickerd bench " + strings.Join(os.Args[min(2, len(os.Args)):], " "))
	var failed []error
	for i := range runs {
		r := &runs[i]
		if ctx.Err() != nil {
			r.Err = ctx.Err()
			continue
		}
		fmt.Fprintf(stderr, "scenario %s: %s\n  %s\n", r.Scenario.Name, r.Scenario.Title, r.Command)
		if r.Scenario.Ceiling > 0 && r.Scenario.Options.Spawn {
			r.Ceiling, r.Err = bench.CompareCeiling(ctx, r.Scenario.Options, f.ceilingCmd, f.scenarioRounds())
			if r.Err == nil {
				r.Result = r.Ceiling.Median().Tickerd
				if err := r.Ceiling.Err(); err != nil {
					failed = append(failed, fmt.Errorf("%s: %w", r.Scenario.Name, err))
				}
			}
		} else {
			r.Result, r.Err = bench.Run(ctx, r.Scenario.Options)
		}
		switch {
		case r.Err != nil:
			failed = append(failed, fmt.Errorf("%s: %w", r.Scenario.Name, r.Err))
		case r.Result.Err() != nil:
			failed = append(failed, fmt.Errorf("%s: %w", r.Scenario.Name, r.Result.Err()))
		}
		if !f.json {
			met, fig := r.Verdict()
			fmt.Fprintf(stdout, "== %s: %s\n   goal: %s; measured: %s; met: %v\n", r.Scenario.Name, r.Scenario.Title, r.Scenario.Goal, fig, met)
			if r.Result != nil {
				if err := r.Result.WriteTable(stdout); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(stdout, "did not run: %v\n", r.Err)
			}
			fmt.Fprintln(stdout)
		}
	}
	rep.Runs = runs
	if f.json {
		if err := writeScenariosJSON(stdout, runs); err != nil {
			return err
		}
	}
	if f.markdown != "" {
		if err := f.writeMarkdown(rep); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", f.markdown)
	}
	return exitError(len(runs), errors.Join(failed...))
}

// microBenchCommands are what make bench runs for the --hub-bench file.
const microBenchCommands = "go test -run XXX -bench Fanout -benchmem ./transport/\n" +
	"go test -run XXX -bench 'PollBehind/ring/handler' ./transport/poll/"

// writeMarkdown writes the report to f.markdown, keeping the notes of
// the one it replaces and including the hub micro-benchmark's output.
func (f *benchFlags) writeMarkdown(rep *bench.Report) error {
	if old, err := os.ReadFile(f.markdown); err == nil {
		rep.Notes = bench.KeptNotes(old)
	}
	if f.hubBench != "" {
		b, err := os.ReadFile(f.hubBench)
		if err != nil {
			return fmt.Errorf("--hub-bench: %w", err)
		}
		rep.HubBench, rep.HubCommand = string(b), microBenchCommands
	}
	var buf bytes.Buffer
	if err := rep.WriteMarkdown(&buf); err != nil {
		return err
	}
	return os.WriteFile(f.markdown, buf.Bytes(), 0o644)
}

func writeScenariosJSON(w io.Writer, runs []bench.ScenarioRun) error {
	type out struct {
		Scenario string        `json:"scenario"`
		Title    string        `json:"title"`
		Goal     string        `json:"goal"`
		Command  string        `json:"command"`
		Met      bool          `json:"met"`
		Measured string        `json:"measured"`
		Error    string        `json:"error,omitempty"`
		Result   *bench.Result `json:"result"`
	}
	var all []out
	for _, r := range runs {
		met, fig := r.Verdict()
		o := out{Scenario: r.Scenario.Name, Title: r.Scenario.Title, Goal: r.Scenario.Goal, Command: r.Command, Met: met, Measured: fig, Result: r.Result}
		if r.Err != nil {
			o.Error = r.Err.Error()
		}
		all = append(all, o)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(all)
}
