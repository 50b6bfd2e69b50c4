package main

import (
	"log/slog"

	"github.com/tickerd/tickerd/internal/profiles"
)

// serveDebug serves Go's profiles on addr until stop is called.
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	stop, bound, err := profiles.Serve(addr)
	if err != nil {
		return nil, err
	}
	log.Info("profiles served", "addr", "http://"+bound+"/debug/pprof/")
	return stop, nil
}
