package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/internal/bench"
	"github.com/tickerd/tickerd/internal/bench/benchtest"
)

// tickerd bench, briefly, against an in-process gateway: JSON out, exit 0.
// The subscriber count comes from the environment, as every flag may.
func TestBenchCommand(t *testing.T) {
	t.Setenv("TICKERD_SUBSCRIBERS", "60")
	t.Setenv("TICKERD_NATS_URL", "nats://127.0.0.1:1") // serve's, not for an in-process bench
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "--transport", "mix", "--topics", "2", "--rate", "40",
		"--warmup", "300ms", "--duration", "1s", "--settle", "10ms", "--json", "--quiet"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	var res bench.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	if res.Subscribers != 60 || res.Total.Connected != 60 || res.Total.Deliveries == 0 || res.Total.Lost != 0 || len(res.Groups) != 3 {
		t.Fatalf("result: %+v", res.Total)
	}
}

func TestBenchRefusesOverTheOpenFileLimit(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "--subscribers", "10000000"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "refusing to start") || !strings.Contains(stderr.String(), "open-file limit") {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	code = run([]string{"bench", "--spawn", "--scenarios", "standard", "--scale", "1000"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "scenario idle-ws: refusing to start") {
		t.Fatalf("scenarios: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}

// An update lost on the way makes the exit status non-zero.
func TestBenchFailsOnLoss(t *testing.T) {
	gw := benchtest.New(func(n uint64) benchtest.Fault {
		if n == 5 {
			return benchtest.Drop
		}
		return benchtest.Deliver
	})
	defer gw.Close()
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "--url", gw.URL, "--publish-token", benchtest.Token, "--transport", "sse",
		"--subscribers", "3", "--rate", "20", "--warmup", "10ms", "--duration", "1s", "--settle", "1ms", "--quiet"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stdout.String(), "NOT CLEAN") || !strings.Contains(stderr.String(), "updates lost: 3 of") {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--nats-url", "nats://127.0.0.1:4222"},
		{"bench", "--scale", "0.1"},
		{"bench", "--markdown", "x.md"},
		{"bench", "--server-args", "--queue-size 1"},
		{"bench", "--nats-server", "bin/nats-server"},
		{"bench", "--scenarios", "standard", "--cpu-profile", "cpu.pprof"},
		{"bench", "--scenarios", "nope"},
		{"bench", "--subscribers", "many"},
		{"bench", "--ceiling"},
		{"bench", "--spawn", "--ceiling", "--transport", "sse"},
		{"ceiling"},
	} {
		var out bytes.Buffer
		if code := run(args, &out, &out); code != 2 {
			t.Errorf("tickerd %q exited %d, want 2\n%s", args, code, out.String())
		}
	}
}

// The command lines docs/benchmarks.md shows run the very scenarios.
func TestScenarioCommandsReproduce(t *testing.T) {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	f := newBenchFlags(fs)
	f.o.Spawn, f.o.ServerCPUs = true, "0"
	for _, sc := range bench.Standard() {
		o := f.scenarioOptions(sc)
		line := f.command(sc, o)
		args := strings.Fields(line)
		if !slices.Equal(args[:3], []string{"tickerd", "bench", "--spawn"}) {
			t.Fatalf("%s: %s", sc.Name, line)
		}
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		g := newBenchFlags(fs)
		if err := parse(fs, args[2:], io.Discard); err != nil {
			t.Fatalf("%s: %s: %v", sc.Name, line, err)
		}
		if got, want := g.o.Args(), sc.Options.Args(); !slices.Equal(got, want) {
			t.Errorf("%s: %s gives %q, want %q", sc.Name, line, got, want)
		}
		if g.o.ServerCPUs != "0" || g.ceiling != (sc.Ceiling > 0) || sc.Ceiling > 0 && g.rounds != bench.CeilingRounds {
			t.Errorf("%s: %s gives server CPUs %q, ceiling %v in %d rounds", sc.Name, line, g.o.ServerCPUs, g.ceiling, g.rounds)
		}
	}
}

// tickerd bench --spawn --ceiling measures the ceiling server in the same
// run, as a child process too, every update delivered to every socket,
// and sets the two CPU figures side by side, round by round, with their
// median ratio. --server-cpus runs the servers on CPU 0 and the bench on
// the others.
func TestBenchCeiling(t *testing.T) {
	bin := tickerdBinary(t)
	args := []string{"bench", "--spawn", "--ceiling", "--rounds", "2", "--subscribers", "40", "--rate", "40",
		"--warmup", "200ms", "--duration", "1s", "--settle", "10ms", "--json"}
	pinned := runtime.NumCPU() > 1
	if pinned {
		args = append(args, "--server-cpus", "0")
	}
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s%s", err, stdout.String(), stderr.String())
	}
	var out struct {
		Rounds []struct {
			Tickerd, Ceiling bench.Result
			Ratio            float64
		}
		MedianRatio float64 `json:"median_ratio"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	if len(out.Rounds) != 2 {
		t.Fatalf("%d rounds, want 2", len(out.Rounds))
	}
	var sum float64
	for _, r := range out.Rounds {
		for _, res := range []bench.Result{r.Tickerd, r.Ceiling} {
			if res.Total.Connected != 40 || res.Total.Lost != 0 || res.Total.Deliveries == 0 || res.ServerCPUS <= 0 || res.BenchCPUPerMillion <= 0 {
				t.Errorf("%s: total %+v, CPU %.2f, bench CPU per 1M %.2f", res.Server, res.Total, res.ServerCPUS, res.BenchCPUPerMillion)
			}
		}
		if !strings.Contains(r.Ceiling.Server, "ceiling server") || strings.Contains(r.Tickerd.Server, "ceiling") {
			t.Errorf("servers: %s; %s", r.Tickerd.Server, r.Ceiling.Server)
		}
		if want := r.Tickerd.CPUPerMillion / r.Ceiling.CPUPerMillion; r.Ratio != want {
			t.Errorf("ratio %.3f, want %.3f", r.Ratio, want)
		}
		sum += r.Ratio
		// Each server ran on CPU 0 alone, as the kernel tells.
		for _, res := range []bench.Result{r.Tickerd, r.Ceiling} {
			if pinned && !strings.HasSuffix(res.Server, "pinned to CPUs 0") {
				t.Errorf("not pinned to CPU 0: %s", res.Server)
			}
		}
	}
	if want := sum / 2; math.Abs(out.MedianRatio-want) > 1e-9 {
		t.Errorf("median ratio %.3f of two rounds, want their mean %.3f", out.MedianRatio, want)
	}
}

// tickerd bench --spawn: the server is a child process, measured in
// /proc and profiled through its --admin-addr.
func TestBenchSpawn(t *testing.T) {
	dir := t.TempDir()
	bin := tickerdBinary(t)
	cpu, heap := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "heap.pprof")
	cmd := exec.Command(bin, "bench", "--spawn", "--subscribers", "30", "--transport", "mix", "--rate", "30",
		"--warmup", "200ms", "--duration", "1s", "--settle", "10ms", "--cpu-profile", cpu, "--mem-profile", heap, "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s%s", err, stdout.String(), stderr.String())
	}
	var res bench.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	if res.Mode != "spawned" || res.Total.Connected != 30 || res.Total.Lost != 0 || res.ServerCPUS <= 0 || res.After.RSS <= res.Before.RSS/2 {
		t.Fatalf("result: mode %s, total %+v, CPU %.2f, memory %+v %+v", res.Mode, res.Total, res.ServerCPUS, res.Before, res.After)
	}
	if !strings.Contains(res.Server, "spawned "+bin) {
		t.Errorf("server: %s", res.Server)
	}
	for _, p := range []string{cpu, heap} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("profile %s: %v", p, err)
		}
	}
}

// tickerd bench --spawn --nats-server: NATS runs as a process of its own,
// so the gateway's CPU is what it pays to follow the stream (the
// firehose scenario's figure), and NATS's is measured apart.
func TestBenchSpawnOwnNATS(t *testing.T) {
	dir := t.TempDir()
	bin, natsBin := tickerdBinary(t), filepath.Join(dir, "nats-server")
	if out, err := exec.Command("go", "build", "-o", natsBin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("build nats-server: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "bench", "--spawn", "--nats-server", natsBin, "--subscribers", "3", "--topics", "100", "--interest", "one",
		"--rate", "2000", "--warmup", "200ms", "--duration", "2s", "--settle", "10ms", "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s%s", err, stdout.String(), stderr.String())
	}
	var res bench.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	// Every update of the window was read, though the subscribers wanted
	// one in a hundred of them.
	if res.Total.Lost != 0 || res.Published < 1000 || res.ServerUpdates < 0.99*float64(res.Published) || res.Total.Deliveries > 3*res.Published/50 {
		t.Errorf("published %d, server read %.0f, delivered %d, lost %d", res.Published, res.ServerUpdates, res.Total.Deliveries, res.Total.Lost)
	}
	if res.NATSCPUS <= 0 || res.NATSUpdateCPUUS <= 0 || res.UpdateCPUUS <= 0 || !strings.Contains(res.Server, "("+natsBin+", pid ") {
		t.Errorf("NATS CPU %.2f s (%.1f µs/update), server %.1f µs/update; server: %s", res.NATSCPUS, res.NATSUpdateCPUUS, res.UpdateCPUUS, res.Server)
	}
}
