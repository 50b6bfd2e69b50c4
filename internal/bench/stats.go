package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// sample is what the server has spent so far, read at one moment.
type sample struct {
	// CPU is the server process's user+system CPU seconds; with the
	// in-process server, the whole bench process's.
	CPU float64
	// RSS is the server process's resident memory; Heap and Stacks what
	// the Go runtime has in use for heap spans and goroutine stacks.
	RSS, Heap, Stacks float64
	// Hub counters from /metrics; Updates counts the updates the gateway
	// has read from the stream.
	Deliveries, Slow, Sessions, Updates float64
	// NATSCPU is the CPU seconds of NATS's own process, when it has one.
	NATSCPU float64
	// BenchCPU is this process's CPU seconds; MachineCPU the busy CPU
	// seconds of the whole machine.
	BenchCPU, MachineCPU float64
}

// memory is the sample's memory reading.
func (s sample) memory() Memory { return Memory{RSS: s.RSS, Go: s.Heap + s.Stacks} }

// sample reads the server's figures. When gc is set it first has the
// server collect garbage (in this process, or through a spawned server's
// admin listener), so the heap holds only what is live. CPU and RSS come
// from /proc for the in-process and spawned servers, from /metrics for a
// remote one; the rest from /metrics (and runtime.MemStats in-process).
func (t *target) sample(ctx context.Context, gc bool) (sample, error) {
	var s sample
	var err error
	if s.BenchCPU, err = procCPU("self"); err != nil {
		return s, err
	}
	if s.MachineCPU, err = machineBusy(); err != nil {
		return s, err
	}
	if gc {
		if err := t.collectGarbage(ctx); err != nil {
			return s, err
		}
	}
	m, err := scrape(ctx, t.admin+"/metrics")
	if err != nil {
		return s, fmt.Errorf("%w: %w", ErrServer, err)
	}
	s.Deliveries = m["tickerd_deliveries_total"] + m["tickerd_replayed_total"]
	s.Slow = m["tickerd_slow_consumers_total"]
	s.Sessions = m["tickerd_sessions"]
	s.Updates = m["tickerd_updates_received_total"]
	if t.natsPid != 0 {
		if s.NATSCPU, err = procCPU(strconv.Itoa(t.natsPid)); err != nil {
			return s, err
		}
	}
	switch t.mode {
	case modeInProcess:
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s.Heap, s.Stacks = float64(ms.HeapInuse), float64(ms.StackInuse)
		s.CPU = s.BenchCPU
		s.RSS, err = procRSS("self")
	case modeSpawn:
		s.Heap, s.Stacks = m["go_memstats_heap_inuse_bytes"], m["go_memstats_stack_inuse_bytes"]
		pid := strconv.Itoa(t.pid)
		if s.CPU, err = procCPU(pid); err == nil {
			s.RSS, err = procRSS(pid)
		}
	default:
		s.Heap, s.Stacks = m["go_memstats_heap_inuse_bytes"], m["go_memstats_stack_inuse_bytes"]
		s.CPU, s.RSS = m["process_cpu_seconds_total"], m["process_resident_memory_bytes"]
	}
	return s, err
}

// collectGarbage has the server run a garbage collection: runtime.GC in
// this process, a GET of a spawned server's /debug/pprof/heap?gc=1. A
// remote server is left alone.
func (t *target) collectGarbage(ctx context.Context) error {
	switch {
	case t.mode == modeInProcess:
		runtime.GC()
		return nil
	case t.mode == modeRemote:
		return nil
	}
	return fetch(ctx, t.admin+"/debug/pprof/heap?gc=1", io.Discard)
}

// fetch GETs url into w.
func fetch(ctx context.Context, url string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrServer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s: %s", ErrServer, url, resp.Status)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// scrape reads a Prometheus text exposition and sums each family's
// samples over their labels.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	out := make(map[string]float64)
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, fmt.Errorf("read %s: %w", url, err)
		}
		var sum float64
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Untyped != nil:
				sum += m.Untyped.GetValue()
			}
		}
		out[mf.GetName()] = sum
	}
}
