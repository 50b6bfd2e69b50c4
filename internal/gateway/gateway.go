// Package gateway assembles one Tickerd gateway: the NATS connection (or an
// embedded server), the stream, the hub, the feeds and the HTTP surface. The
// serve command runs one; tests and the bench run them in-process.
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/embednats"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/static"
	"github.com/tickerd/tickerd/transport"
)

// Gateway is a running gateway. Start it, serve it, cancel to stop.
type Gateway struct {
	cfg     Config
	ns      *embednats.Server // nil with an external NATS
	nc      *nats.Conn
	stream  *stream.Stream
	hub     *transport.Hub
	handler http.Handler
	admin   http.Handler
	edge    *edge
	health  health
	check   *freshCheck // runs freshProbe for /readyz
	// followed is stream for the NATS connection's handlers, which may
	// run before Start sets stream.
	followed atomic.Pointer[stream.Stream]

	runCtx   context.Context    // ends when the gateway closes
	cancel   context.CancelFunc // stops the hub and the feeds
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// Start connects to NATS (or starts the embedded server), opens the stream,
// starts following it and runs the configured feeds. The gateway serves
// nothing until Serve; Close releases it.
func Start(ctx context.Context, cfg Config) (_ *Gateway, err error) {
	cfg = cfg.withDefaults()
	if err := CheckTransports(cfg.Transports); err != nil {
		return nil, err
	}
	// Keys that cannot be read fail the start before anything runs.
	verifier, err := newVerifier(ctx, cfg)
	if err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	sctx, stop := context.WithTimeout(ctx, cfg.NATSStartupTimeout)
	defer stop()
	if g.nc, err = g.connect(sctx); err != nil {
		return nil, err
	}
	if g.stream, err = g.openStream(sctx); err != nil {
		return nil, err
	}
	g.followed.Store(g.stream)
	if err := g.followNewLeaders(); err != nil {
		return nil, fmt.Errorf("subscribe to the stream's leader elections: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	hubOpts := cfg.Hub
	hubOpts.Logger, hubOpts.Registerer = cfg.Logger, reg
	var authn transport.Authenticator // nil, not a nil *Verifier, when open
	if verifier != nil {
		authn = verifier
		hubOpts.Authorizer, hubOpts.Authenticator = api.Access{Public: cfg.PublicTopics}, verifier
	}
	g.hub = transport.New(g.stream, hubOpts)

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g.runCtx, g.cancel = runCtx, cancel
	g.check = newFreshCheck(freshProbeGap, g.freshProbe)
	g.wg.Go(func() { _ = g.hub.Run(runCtx) })
	g.wg.Go(func() { g.watch(runCtx) })
	if verifier != nil {
		g.wg.Go(func() { verifier.Run(runCtx) })
	}
	pub := watchedStream{s: g.stream, h: &g.health}
	cfg.Feed.Logger = cfg.Logger
	runners, err := feed.Build(cfg.Feeds, cfg.Feed)
	if err != nil {
		return nil, err
	}
	for _, r := range runners {
		g.wg.Go(func() { _ = r.Run(runCtx, pub) })
	}

	eps, err := endpoints(g.hub, cfg)
	if err != nil {
		return nil, err
	}
	clients := api.NewClients(cfg.Clients)
	g.edge = newEdge(cfg, clients, reg)
	g.handler = api.New(g.hub, pub, api.Options{
		PublishToken:   cfg.PublishToken,
		Authenticator:  authn,
		MaxBody:        cfg.MaxBody,
		MaxURL:         cfg.MaxURL,
		Clients:        clients,
		PublishTimeout: cfg.PublishTimeout,
		Transports:     eps,
		AllowedOrigins: cfg.AllowedOrigins,
		Static:         static.Handler(),
		Ready:          g.Ready,
		Gatherer:       reg,
		Logger:         cfg.Logger,
	})
	g.admin = api.Admin(api.Options{Ready: g.Ready, Gatherer: reg, Logger: cfg.Logger})
	return g, nil
}

// newVerifier makes the token verifier cfg.JWT configures; nil when it
// configures none, and the gateway is open.
func newVerifier(ctx context.Context, cfg Config) (*api.Verifier, error) {
	if !cfg.JWT.Configured() {
		if len(cfg.PublicTopics) > 0 {
			return nil, errors.New("public topics are set, but no JWT secret or JWKS: without tokens every topic is public")
		}
		return nil, nil
	}
	opts := cfg.JWT
	if opts.Logger == nil {
		opts.Logger = cfg.Logger
	}
	v, err := api.NewVerifier(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("JWT: %w", err)
	}
	return v, nil
}

func (g *Gateway) connect(ctx context.Context) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("tickerd"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				g.cfg.Logger.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			// The stream's consumer may have been on the server that went
			// (or gone with it): rather than wait for the client to notice
			// missed heartbeats, the hub follows again at once from where
			// it was, through the server it reached.
			g.cfg.Logger.Warn("NATS reconnected; following the stream again from where it was", "url", nc.ConnectedUrl())
			if s := g.followed.Load(); s != nil {
				s.Refollow()
			}
		}),
	}
	if g.cfg.NATSURL != "" {
		return g.dial(ctx, opts)
	}
	ns, err := embednats.Start(embednats.Options{DataDir: g.cfg.DataDir, Listen: g.cfg.NATSListen, Logger: g.cfg.Logger, SyncInterval: g.cfg.natsSyncInterval})
	if err != nil {
		return nil, fmt.Errorf("start embedded NATS: %w", err)
	}
	g.ns = ns
	if u := ns.ClientURL(); u != "" {
		g.cfg.Logger.Info("embedded NATS listening", "url", u)
	}
	return ns.Connect(opts...)
}

// Handler is the gateway's HTTP surface.
func (g *Gateway) Handler() http.Handler { return g.handler }

// AdminHandler serves /metrics, /healthz, /readyz and the profiles, for a
// listener of the operator's own (ServeAdmin).
func (g *Gateway) AdminHandler() http.Handler { return g.admin }

// Hub is the gateway's hub.
func (g *Gateway) Hub() *transport.Hub { return g.hub }

// Stream is the gateway's stream.
func (g *Gateway) Stream() *stream.Stream { return g.stream }

// NATSURL is the embedded server's TCP URL, empty when it does not listen
// or NATS is external.
func (g *Gateway) NATSURL() string {
	if g.ns == nil {
		return ""
	}
	return g.ns.ClientURL()
}

// Serve answers HTTP on ln until ctx ends, then drains: it stops
// accepting, tells every subscriber to reconnect elsewhere (WebSocket close
// 1012), waits up to the drain timeout for them to go, and closes the
// gateway. It returns nil after a clean drain. The connection budget, the
// per-client connection cap and the send buffer apply to ln's
// connections. With Config.TLS it serves HTTPS, HTTP/2 or HTTP/1.1 as the
// client offers (WebSocket on HTTP/1.1): TLS wraps the edge's listener,
// so the budget counts TCP connections and turns away, before any
// handshake, those past it.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           g.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		// A request head past it gets net/http's 431; the URL within it
		// is held to MaxURL (414) by the router.
		MaxHeaderBytes: max(64<<10, g.cfg.MaxURL+32<<10),
		ConnContext:    api.WithConn,
		ConnState:      trackHijack,
		ErrorLog:       nil,
	}
	ln = g.edge.listener(ln)
	if g.cfg.TLS != nil {
		// srv.TLSConfig stays nil: net/http then sets HTTP/2 up for the
		// connections that negotiate it.
		ln = tls.NewListener(ln, g.cfg.TLS)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		g.Close()
		return err
	case <-ctx.Done():
	}
	g.cfg.Logger.Info("draining", "sessions", g.hub.SessionCount(), "timeout", g.cfg.DrainTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), g.cfg.DrainTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var shutErr, drainErr error
	wg.Go(func() { shutErr = srv.Shutdown(dctx) })
	wg.Go(func() { drainErr = g.hub.Shutdown(dctx) })
	wg.Wait()
	g.Close()
	if err := errors.Join(shutErr, drainErr); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	return nil
}

// ServeAdmin serves AdminHandler on ln until ctx ends. Its connections
// are not the edge's and count against no budget, so that a gateway at
// its budget can still be looked into.
func (g *Gateway) ServeAdmin(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: g.admin, ReadHeaderTimeout: 10 * time.Second}
	defer context.AfterFunc(ctx, func() { _ = srv.Close() })()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops the feeds and the hub and lets go of NATS, at once.
func (g *Gateway) Close() {
	g.stopOnce.Do(func() {
		if g.cancel != nil {
			g.cancel()
		}
		g.wg.Wait()
		if g.nc != nil {
			_ = g.nc.Drain()
		}
		if g.ns != nil {
			g.ns.Shutdown()
		}
	})
}
