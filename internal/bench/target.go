package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/internal/gateway"
	"github.com/tickerd/tickerd/internal/stream"
)

// target is the gateway a run measures and the way to publish to it.
type target struct {
	mode    serverMode
	base    *url.URL
	pub     publisher
	desc    string // what and where, for the report
	pid     int    // the spawned server's
	natsPid int    // NATS's, when it runs as a process of its own
	admin   string // where /metrics and (spawned) /debug/pprof/ are, http://host:port
	gateway *gateway.Gateway
	closers []func()
}

// close stops what startTarget started, last first.
func (t *target) close() {
	for i := len(t.closers) - 1; i >= 0; i-- {
		t.closers[i]()
	}
	t.closers = nil
}

// startTarget starts or finds the gateway the options name.
func startTarget(ctx context.Context, o Options) (*target, error) {
	t := &target{mode: o.mode()}
	var err error
	switch t.mode {
	case modeInProcess:
		err = t.startInProcess(ctx, o)
	case modeSpawn:
		if o.Ceiling {
			err = t.spawnCeiling(ctx, o)
		} else {
			err = t.spawn(ctx, o)
		}
	default:
		err = t.connect(ctx, o)
	}
	if err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// startInProcess starts a gateway in this process: embedded NATS, no
// feeds, a temporary data directory, HTTP on a free loopback port.
func (t *target) startInProcess(ctx context.Context, o Options) error {
	dir, err := os.MkdirTemp("", "tickerd-bench-")
	if err != nil {
		return err
	}
	t.closers = append(t.closers, func() { os.RemoveAll(dir) })
	log := slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	g, err := gateway.Start(ctx, gateway.Config{
		DataDir:      dir,
		PublishToken: randomToken(),
		Feeds:        []string{"none"},
		Stream:       o.Stream,
		DrainTimeout: 2 * time.Second,
		// Every subscriber comes from this one address.
		Clients: api.ClientLimits{MaxConns: -1, ConnRate: -1},
		Logger:  log,
	})
	if err != nil {
		return fmt.Errorf("%w: start the in-process gateway: %w", ErrServer, err)
	}
	t.gateway = g
	t.closers = append(t.closers, g.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(sctx, ln) }()
	t.closers = append(t.closers, func() { cancel(); <-done })
	t.base = &url.URL{Scheme: "http", Host: ln.Addr().String()}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = g.ServeAdmin(sctx, aln) }()
	t.admin = "http://" + aln.Addr().String()
	if err := waitReady(ctx, t.base); err != nil {
		return err
	}
	t.pub = streamPublisher{g.Stream()}
	t.desc = "in-process gateway at " + t.base.String() + " (the bench's clients share its process, CPU and memory)"
	return nil
}

// connect measures a running gateway, publishing through its NATS or its
// publish endpoint.
func (t *target) connect(ctx context.Context, o Options) error {
	var err error
	if t.base, err = url.Parse(o.URL); err != nil {
		return err
	}
	t.base.Path, t.base.RawQuery = "", ""
	t.admin = o.AdminURL
	if t.admin == "" {
		t.admin = t.base.String()
	}
	if err := waitReady(ctx, t.base); err != nil {
		return err
	}
	t.desc = "remote gateway at " + t.base.String()
	if o.NATSURL != "" {
		t.desc += ", publishing to NATS " + o.NATSURL
		return t.openStream(ctx, o, o.NATSURL)
	}
	t.desc += ", publishing through POST /v1/publish"
	t.pub = &httpPublisher{client: &http.Client{Timeout: 30 * time.Second}, url: t.base.String() + "/v1/publish", token: o.PublishToken}
	return nil
}

// openStream connects to the gateway's NATS and opens its stream, to
// publish into.
func (t *target) openStream(ctx context.Context, o Options, natsURL string) error {
	nc, err := nats.Connect(natsURL, nats.Name("tickerd-bench"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("%w: connect to NATS at %s: %w", ErrServer, natsURL, err)
	}
	t.closers = append(t.closers, func() { _ = nc.Drain() })
	// Attach, not Open: the gateway's stream is used as it is, its
	// retention untouched.
	s, err := stream.Attach(ctx, nc, o.Stream, slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return fmt.Errorf("%w: open the stream: %w", ErrServer, err)
	}
	t.pub = streamPublisher{s}
	return nil
}

// waitReady waits, up to 30s, for the gateway's /readyz to say 200.
func waitReady(ctx context.Context, base *url.URL) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base.String()+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/readyz: %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: gateway at %s is not ready: %w", ErrServer, base, last)
		case <-tick.C:
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
