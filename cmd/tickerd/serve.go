package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/gateway"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/poll"
	"github.com/tickerd/tickerd/transport/ws"
)

// serveFlags is what the serve command's flags set.
type serveFlags struct {
	cfg             gateway.Config
	addr, adminAddr string
	tlsCert, tlsKey string
	heartbeat       time.Duration
	logger          func() (*slog.Logger, error)
}

// newServeFlags defines every flag of `tickerd serve` on a new FlagSet,
// apart from starting anything, so that a test can hold the flags against
// the README's table.
func newServeFlags(logOut io.Writer) (*flag.FlagSet, *serveFlags) {
	fs := flag.NewFlagSet("tickerd serve", flag.ContinueOnError)
	f := &serveFlags{}
	cfg := &f.cfg
	fs.StringVar(&f.addr, "addr", gateway.DefaultAddr, "HTTP listen address")
	fs.StringVar(&f.adminAddr, "admin-addr", gateway.DefaultAdminAddr, "serve /metrics, /healthz, /readyz and Go's profiles (/debug/pprof/) on this address; keep it private; empty: off")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate (chain) file: serve HTTPS with HTTP/2 on --addr; re-read when it changes and on SIGHUP; with --tls-key")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key file of --tls-cert")
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "NATS to use: a URL, or a cluster's, comma-separated; empty starts an embedded server with JetStream")
	fs.DurationVar(&cfg.NATSStartupTimeout, "nats-startup-timeout", gateway.DefaultNATSStartupTimeout, "how long start-up keeps retrying to connect to NATS and to create or find the stream")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "embedded NATS JetStream directory; empty uses a temporary one")
	fs.StringVar(&cfg.NATSListen, "nats-listen", "", "expose the embedded NATS on host:port (e.g. 127.0.0.1:4222); empty: in-process only")
	fs.StringVar(&cfg.PublishToken, "publish-token", "", "bearer token for POST /v1/publish; empty generates one and prints it")
	fs.Int64Var(&cfg.MaxBody, "max-body", api.DefaultMaxBody, "largest request body, bytes")
	edgeFlags(fs, cfg)
	authFlags(fs, cfg)
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", gateway.DefaultDrainTimeout, "how long shutdown waits for subscribers to go")
	fs.IntVar(&cfg.Hub.QueueSize, "queue-size", transport.DefaultQueueSize, "per-subscriber queue bound, in updates")
	fs.IntVar(&cfg.Hub.RingSize, "replay-buffer", transport.DefaultRingSize, "recent updates kept in memory for resuming cursors")
	fs.IntVar(&cfg.Hub.RingBytes, "replay-buffer-bytes", transport.DefaultRingBytes, "bound on the bytes of --replay-buffer; past it the oldest go")
	fs.Uint64Var(&cfg.Hub.MaxReplay, "max-replay", transport.DefaultMaxReplay, "furthest behind the newest update a cursor may resume, in updates; further back gets a reset snapshot")
	fs.IntVar(&cfg.Hub.MaxReplays, "max-replays", transport.DefaultMaxReplays, "resumes that read JetStream at once; others wait for one to finish a page")
	fs.IntVar(&cfg.Hub.MaxTopics, "max-topics", transport.DefaultMaxTopics, "most patterns one connection may subscribe to")
	fs.IntVar(&cfg.Hub.MaxSnapshot, "max-snapshot", transport.DefaultMaxSnapshot, "most topics one snapshot holds (REST, or a subscription's first); more is too_many_matches")
	fs.IntVar(&cfg.Hub.MaxKnownTopics, "max-known-topics", transport.DefaultMaxKnownTopics, "most topics the gateway keeps a latest value of; a publish adding more is topic_capacity")
	fs.DurationVar(&f.heartbeat, "heartbeat", ws.DefaultHeartbeat, "heartbeat interval: the ping message on a quiet connection, the WebSocket ping on every one; a WebSocket whose pong is that late is closed")
	fs.Int64Var(&cfg.WebSocket.MaxFrame, "max-frame", ws.DefaultMaxFrame, "largest message a client may send, bytes")
	fs.Float64Var(&cfg.WebSocket.CommandRate, "command-rate", ws.DefaultCommandRate, "WebSocket commands a connection may send per second; faster ones are read later; negative: no limit")
	fs.IntVar(&cfg.WebSocket.CommandBurst, "command-burst", ws.DefaultCommandBurst, "WebSocket commands a connection may send at once before --command-rate applies")
	cfg.Transports = gateway.TransportNames()
	fs.Var((*listFlag)(&cfg.Transports), "transports", "comma-separated transports to serve, of "+strings.Join(gateway.TransportNames(), ", "))
	fs.Var((*listFlag)(&cfg.AllowedOrigins), "allowed-origins", "comma-separated browser origins allowed to subscribe, e.g. https://*.example.com; empty allows any")
	fs.DurationVar(&cfg.Poll.DefaultTimeout, "poll-timeout", poll.DefaultTimeout, "how long a long poll waits when it names no timeout")
	fs.DurationVar(&cfg.Poll.MaxTimeout, "poll-max-timeout", poll.DefaultMaxTimeout, "the longest timeout a long poll may ask for")
	fs.IntVar(&cfg.Poll.MaxMessages, "poll-max-messages", poll.DefaultMaxMessages, "most messages in one long-poll response")
	streamFlags(fs, &cfg.Stream)
	feedFlags(fs, &cfg.Feeds, &cfg.Feed)
	f.logger = logFlags(fs, logOut)
	return fs, f
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newServeFlags(stderr)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	log, err := f.logger()
	if err != nil {
		return err
	}
	cfg := f.cfg
	// Building the feeds here checks their names and settings as the
	// usage errors they are, before NATS starts; the gateway builds its own.
	if _, err := feed.Build(cfg.Feeds, cfg.Feed); err != nil {
		return fmt.Errorf("%w: --feeds: %v", errUsage, err)
	}
	if err := gateway.CheckTransports(cfg.Transports); err != nil {
		return fmt.Errorf("%w: --transports: %v", errUsage, err)
	}
	cfg.WebSocket.Heartbeat, cfg.SSE.Heartbeat = f.heartbeat, f.heartbeat
	offWhenZero(&cfg)
	cfg.Logger = log
	if err := checkAuth(cfg); err != nil {
		return err
	}
	certs, err := loadTLS(f.tlsCert, f.tlsKey, log)
	if err != nil {
		return err
	}
	scheme := "http"
	if certs != nil {
		cfg.TLS, scheme = certs.Config(), "https"
		stop := reloadOnHangup(certs, log)
		defer stop()
	}

	// The address is the one thing most likely to be taken, so it is bound
	// before NATS and the feeds start: a clash then fails at once, with
	// nothing to tear down.
	ln, err := listen(f.addr, "addr")
	if err != nil {
		return err
	}
	defer ln.Close()
	var adminLn net.Listener
	if f.adminAddr != "" {
		if adminLn, err = listen(f.adminAddr, "admin-addr"); err != nil {
			return err
		}
		defer adminLn.Close()
	}

	if cfg.PublishToken == "" {
		cfg.PublishToken = randomToken()
		log.Warn("no --publish-token given: generated one for this run", "publish_token", cfg.PublishToken)
	}
	warnIfOpen(cfg, log)
	g, err := gateway.Start(ctx, cfg)
	if err != nil {
		return err
	}
	if adminLn != nil {
		// Up until the public listener has drained, so that /readyz and
		// /metrics can be read throughout.
		actx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := g.ServeAdmin(actx, adminLn); err != nil {
				log.Error("admin listener failed", "err", err)
			}
		}()
		defer func() { stop(); <-done }()
		log.Info("admin listener", "addr", adminLn.Addr().String(), "metrics", "http://"+adminLn.Addr().String()+"/metrics")
	}
	log.Info("tickerd serving", "addr", ln.Addr().String(), "demo", scheme+"://"+displayAddr(ln.Addr()), "feeds", cfg.Feeds)
	if f.cfg.PublishToken == "" {
		// Ready to paste into the shell that runs the README's publish
		// example, so nobody has to dig the token out of the log.
		fmt.Fprintf(stdout, "export TICKERD_PUBLISH_TOKEN=%s\n", cfg.PublishToken)
	}
	fmt.Fprintf(stdout, "tickerd: serving on %s://%s\n", scheme, displayAddr(ln.Addr()))
	if adminLn != nil {
		fmt.Fprintf(stdout, "tickerd: admin (/metrics, /healthz, /readyz, /debug/pprof/) on http://%s\n", adminLn.Addr())
	}
	if err := g.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("tickerd stopped")
	return nil
}

// listen binds addr, the value of --flag, or says how to choose another.
func listen(addr, flag string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		reason := err
		var op *net.OpError
		if errors.As(err, &op) {
			reason = op.Err // "bind: address already in use", without repeating the address
		}
		return nil, fmt.Errorf("listen on %s: %w; choose another address with --%s or %s", addr, reason, flag, envName(flag))
	}
	return ln, nil
}

func displayAddr(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta.IP.IsUnspecified() {
		if ok {
			return fmt.Sprintf("localhost:%d", ta.Port)
		}
	}
	return a.String()
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
