package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Report is a set of scenario runs, as docs/benchmarks.md shows them.
type Report struct {
	// Date is when the runs started; Cores, CPU, GoVersion and OS
	// describe the machine.
	Date      time.Time
	Cores     int
	CPU       string
	GoVersion string
	OS        string
	// Revision is the source the binary was built from: its commit, and
	// whether the working tree had changes.
	Revision string
	// Command is what made the report, such as "make bench".
	Command string
	// Runs are the scenarios run, in order.
	Runs []ScenarioRun
	// HubBench is the output of the Go micro-benchmarks (the hub's
	// fan-out, a poll answered from the ring), and HubCommand the
	// commands that printed it; empty when not run.
	HubBench, HubCommand string
	// Notes is Markdown kept between the notes markers of the previous
	// report (see KeptNotes): what a person wrote about the figures.
	Notes string
}

// ScenarioRun is one scenario's run: its command line and what it gave.
type ScenarioRun struct {
	Scenario Scenario
	// Command is the `tickerd bench` command line that runs it alone.
	Command string
	// Result is nil when the run failed; Err says why. With a
	// comparison, it is Tickerd's result in the median round.
	Result *Result
	Err    error
	// Ceiling is the comparison with the ceiling server the scenario asks
	// for (Scenario.Ceiling); nil when it did not run.
	Ceiling *Comparison
}

// Verdict says whether the run met its scenario's goal, and the figure
// that decides it.
func (s ScenarioRun) Verdict() (met bool, figure string) {
	if s.Result == nil {
		return false, "did not run: " + oneLine(s.Err)
	}
	met, figure = s.Result.Err() == nil, ""
	if s.Scenario.Check != nil {
		met, figure = s.Scenario.Check(s.Result)
	}
	if s.Scenario.Ceiling > 0 {
		if s.Ceiling == nil {
			return false, figure + "; the ceiling server did not run (it needs --spawn)"
		}
		figure += fmt.Sprintf("; %.2f× the ceiling server's (median of %d rounds: %s)", s.Ceiling.MedianRatio, len(s.Ceiling.Rounds), s.Ceiling.ratios())
		met = met && s.Ceiling.Err() == nil && s.Ceiling.MedianRatio <= s.Scenario.Ceiling
	}
	return met, figure
}

// The markers around the hand-written notes that a new report keeps.
const (
	notesBegin = "<!-- notes: kept when the report is made again -->"
	notesEnd   = "<!-- end of notes -->"
)

// KeptNotes returns the notes between the markers of a previous report,
// so that making the report again keeps them.
func KeptNotes(old []byte) string {
	_, rest, ok := bytes.Cut(old, []byte(notesBegin))
	if !ok {
		return ""
	}
	notes, _, ok := bytes.Cut(rest, []byte(notesEnd))
	if !ok {
		return ""
	}
	return strings.TrimSpace(string(notes))
}

// WriteMarkdown writes the report: the machine, the commands, a table of
// goals, a table of figures, the hub micro-benchmark and the notes.
func (rep *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks\n\n")
	p("Made on %s by `%s` (what `make bench` runs). Do not edit the tables by hand: run it again. ", rep.Date.UTC().Format("2006-01-02 15:04 MST"), rep.Command)
	p("The notes at the end are kept when the report is made again.\n\n")
	p("- Machine: %d cores", rep.Cores)
	if rep.CPU != "" {
		p(" (%s)", rep.CPU)
	}
	if rep.OS != "" {
		p(", %s", rep.OS)
	}
	p("; %s.\n", rep.GoVersion)
	if rep.Revision != "" {
		p("- Source: %s.\n", rep.Revision)
	}
	p("- The bench and the server share the machine; the server is a `tickerd serve` child process, ")
	p("so its CPU and memory figures (from `/proc/<pid>`) are its own. Memory per connection is the growth of the ")
	p("server's resident set (RSS) from before the subscribers connected to %s after they all had, after a forced GC; ", "a few seconds")
	p("\"Go\" is the growth of its Go heap and goroutine stacks in use.\n")
	p("- Latency is from the moment the bench hands an update to NATS JetStream to the moment a subscriber has read it, ")
	p("measured with the nanosecond send time the update carries. Lost counts updates of the measured window that a subscriber had not ")
	p("received by the end of the drain (up to 10 s after publishing stopped): lost, or later than that.\n")
	p("- CPU is in seconds over the measured window (%d cores give %d per second): the server's, the bench's, and other processes' ", rep.Cores, rep.Cores)
	p("(the rest of what `/proc/stat` counts busy), so that a noisy machine shows.\n\n")

	p("## Goals\n\n")
	p("| scenario | goal | measured | met |\n| --- | --- | --- | --- |\n")
	for _, r := range rep.Runs {
		met, fig := r.Verdict()
		p("| %s | %s | %s | %s |\n", r.Scenario.Title, r.Scenario.Goal, fig, yesNo(met))
	}
	if hub := rep.hubVerdict(); hub != "" {
		p("| hub micro-benchmark | 0 allocations per subscriber per delivery | %s |\n", hub)
	}
	if poll := rep.pollVerdict(); poll != "" {
		p("| a long poll whose answer is in the ring (micro-benchmark) | ≤ 30 µs of server CPU per request | %s |\n", poll)
	}

	p("\n## Figures\n\n")
	p("| scenario | connected | deliveries/s | expected/s | p50 ms | p90 ms | p99 ms | max ms | lost | out of order | msgs/poll | server RSS/conn | server Go/conn | server CPU (of 1 core) | CPU s per 1M deliveries, server / bench | CPU s server / bench / other |\n")
	p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rep.Runs {
		res := r.Result
		if res == nil {
			p("| %s | did not run: %s |%s\n", r.Scenario.Name, oneLine(r.Err), strings.Repeat(" |", 14))
			continue
		}
		figureRow(p, r.Scenario.Name, res)
		if r.Ceiling != nil {
			figureRow(p, r.Scenario.Name+" (ceiling server, same round)", r.Ceiling.Median().Ceiling)
		}
	}

	p("\n## Commands\n\n")
	p("Each scenario alone (`--spawn` starts the server as a child process, a new one per scenario), and the hub micro-benchmark:\n\n```sh\n")
	for _, r := range rep.Runs {
		p("%s   # %s\n", r.Command, r.Scenario.Name)
	}
	if rep.HubCommand != "" {
		p("%s\n", rep.HubCommand)
	}
	p("```\n")
	for _, r := range rep.Runs {
		if r.Result != nil && (len(r.Result.Errors) > 0 || r.Result.Err() != nil || r.Result.PublishLateMS > 100) {
			if len(r.Result.Errors) > 0 || r.Result.Err() != nil {
				p("\n%s: %s", r.Scenario.Name, oneLine(r.Result.Err()))
				for _, e := range r.Result.Errors {
					p("; %s", e)
				}
				p(".\n")
			}
			if r.Result.PublishLateMS > 100 {
				p("\n%s: the publisher fell up to %.0f ms behind its schedule.\n", r.Scenario.Name, r.Result.PublishLateMS)
			}
		}
	}

	if rep.HubBench != "" {
		p("\n## Micro-benchmarks\n\n```\n%s\n```\n", strings.TrimSpace(rep.HubBench))
	}
	p("\n## Notes\n\n%s\n", notesBegin)
	if rep.Notes != "" {
		p("\n%s\n\n", rep.Notes)
	}
	p("%s\n", notesEnd)
	_, err := io.WriteString(w, b.String())
	return err
}

// figureRow writes one row of the figures table.
func figureRow(p func(string, ...any), name string, res *Result) {
	t := res.Total
	perPoll, cpu, perM, split := "-", "-", "-", "-"
	if t.Polls > 0 {
		perPoll = fmt.Sprintf("%.1f", t.MessagesPerPoll)
	}
	if res.Rate > 0 {
		cpu = fmt.Sprintf("%.0f%%", 100*res.ServerCPUS/res.DurationS)
		perM = fmt.Sprintf("%.2f / %.2f", res.CPUPerMillion, res.BenchCPUPerMillion)
		split = fmt.Sprintf("%.1f / %.1f / %.1f", res.ServerCPUS, res.BenchCPUS, res.OtherCPUS)
	}
	p("| %s | %d / %d | %.0f | %.0f | %s | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s |\n",
		name, t.Connected-t.Dropped, t.Subscribers, t.DeliveriesRate, t.ExpectedRate,
		ms(t.Latency.P50), ms(t.Latency.P90), ms(t.Latency.P99), ms(t.Latency.Max),
		t.Lost, t.OutOfOrder+t.Duplicates, perPoll, kib(res.PerConnection.RSS), kib(res.PerConnection.Go), cpu, perM, split)
}

// pollLine is the result line of BenchmarkPollBehind for the handler as
// served, called directly.
var pollLine = regexp.MustCompile(`^BenchmarkPollBehind/ring/handler\S*\s+\d+\s+.*?([\d.]+) cpu-µs/op`)

// pollVerdict reads the server CPU of a poll answered from the ring.
func (rep *Report) pollVerdict() string {
	if rep.HubBench == "" {
		return ""
	}
	sc := bufio.NewScanner(strings.NewReader(rep.HubBench))
	for sc.Scan() {
		if m := pollLine.FindStringSubmatch(sc.Text()); m != nil {
			us, _ := strconv.ParseFloat(m[1], 64)
			return fmt.Sprintf("%.1f µs | %s", us, yesNo(us <= 30))
		}
	}
	return ""
}

// hubLine is one result line of BenchmarkFanout.
var hubLine = regexp.MustCompile(`^BenchmarkFanout/subscribers=(\d+)\S*\s+\d+\s+.*?(\d+) allocs/op`)

// hubVerdict reads the micro-benchmark's allocations per update at each
// subscriber count: when they do not grow with the subscribers, a
// delivery costs none per subscriber.
func (rep *Report) hubVerdict() string {
	if rep.HubBench == "" {
		return ""
	}
	type point struct{ subs, allocs int }
	var pts []point
	sc := bufio.NewScanner(strings.NewReader(rep.HubBench))
	for sc.Scan() {
		if m := hubLine.FindStringSubmatch(sc.Text()); m != nil {
			s, _ := strconv.Atoi(m[1])
			a, _ := strconv.Atoi(m[2])
			pts = append(pts, point{s, a})
		}
	}
	if len(pts) < 2 {
		return "no result read | no"
	}
	lo, hi := pts[0], pts[0]
	for _, pt := range pts {
		if pt.subs < lo.subs {
			lo = pt
		}
		if pt.subs > hi.subs {
			hi = pt
		}
	}
	// Per-subscriber allocations would add at least one per delivery;
	// a few more per update over a short run are amortised growth.
	perSub := max(float64(hi.allocs-lo.allocs)/float64(hi.subs-lo.subs), 0)
	return fmt.Sprintf("%d allocs/update with %d subscriber(s), %d with %d: %.4f per subscriber per delivery | %s",
		lo.allocs, lo.subs, hi.allocs, hi.subs, perSub, yesNo(perSub < 0.01))
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// NewReport starts a report made by command, now, on this machine.
func NewReport(command string) *Report {
	rep := &Report{Date: time.Now(), Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Command: command}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				rep.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value[:min(12, len(s.Value))]
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			rep.Revision = "commit " + rev
			if modified == "true" {
				rep.Revision += " with uncommitted changes in the working tree"
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		rep.OS = runtime.GOOS + " " + strings.TrimSpace(string(b))
	}
	return rep
}
