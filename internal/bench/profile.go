package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	runpprof "runtime/pprof"
	"time"
)

// startCPUProfile starts profiling the server's CPU for about d into
// path, when path is not empty: this process with the in-process server,
// the child through its /debug/pprof/profile when spawned. The returned
// func stops it (or waits for the child's profile) and reports how it went.
func (t *target) startCPUProfile(ctx context.Context, path string, d time.Duration) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if t.mode == modeSpawn {
		done := make(chan error, 1)
		secs := int(math.Ceil(d.Seconds()))
		go func() {
			err := fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", t.admin, secs), f)
			done <- errors.Join(err, f.Close())
		}()
		return func() error { return <-done }, nil
	}
	if err := runpprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		runpprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// writeHeapProfile writes a heap profile of the server, taken now after a
// garbage collection, to path when it is not empty.
func (t *target) writeHeapProfile(ctx context.Context, path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if t.mode == modeSpawn {
		err = fetch(ctx, t.admin+"/debug/pprof/heap?gc=1", f)
	} else {
		runtime.GC()
		err = runpprof.WriteHeapProfile(f)
	}
	return errors.Join(err, f.Close())
}
