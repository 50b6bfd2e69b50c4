package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"

	"github.com/tickerd/tickerd/internal/bench"
)

// runCeiling serves the ceiling server (bench.ServeCeiling), which
// `tickerd bench --ceiling` spawns to set Tickerd beside: a minimal
// pre-framed WebSocket writer, not a gateway.
func runCeiling(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tickerd ceiling", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "where to listen")
	token := fs.String("publish-token", "", "the bearer token POST /v1/publish must carry")
	writers := fs.Int("writers", bench.CeilingWriters, "writer goroutines")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *token == "" || *writers < 1 {
		return fmt.Errorf("%w: want --publish-token and at least one writer", errUsage)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tickerd ceiling: serving on http://%s\n", ln.Addr())
	return bench.ServeCeiling(ctx, ln, *token, *writers)
}
