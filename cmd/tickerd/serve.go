package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/internal/gateway"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/poll"
	"github.com/tickerd/tickerd/transport/ws"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tickerd serve", flag.ContinueOnError)
	var cfg gateway.Config
	addr := fs.String("addr", gateway.DefaultAddr, "HTTP listen address")
	debugAddr := fs.String("debug-addr", "", "serve Go profiles (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; empty: off")
	fs.StringVar(&cfg.NATSURL, "nats-url", "", "NATS to use; empty starts an embedded server with JetStream")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "embedded NATS JetStream directory; empty uses a temporary one")
	fs.StringVar(&cfg.NATSListen, "nats-listen", "", "expose the embedded NATS on host:port (e.g. 127.0.0.1:4222); empty: in-process only")
	fs.StringVar(&cfg.PublishToken, "publish-token", "", "bearer token for POST /v1/publish; empty generates one and logs it")
	fs.Int64Var(&cfg.MaxBody, "max-body", api.DefaultMaxBody, "largest request body, bytes")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", gateway.DefaultDrainTimeout, "how long shutdown waits for subscribers to go")
	fs.IntVar(&cfg.Hub.QueueSize, "queue-size", transport.DefaultQueueSize, "per-subscriber queue bound, in updates")
	fs.IntVar(&cfg.Hub.RingSize, "replay-buffer", transport.DefaultRingSize, "recent updates kept in memory for resuming cursors")
	fs.IntVar(&cfg.Hub.MaxTopics, "max-topics", transport.DefaultMaxTopics, "most patterns one connection may subscribe to")
	heartbeat := fs.Duration("heartbeat", ws.DefaultHeartbeat, "heartbeat interval (WebSocket ping, SSE comment); a WebSocket whose pong is that late is closed")
	fs.Int64Var(&cfg.WebSocket.MaxFrame, "max-frame", ws.DefaultMaxFrame, "largest message a client may send, bytes")
	fs.Var((*listFlag)(&cfg.AllowedOrigins), "allowed-origins", "comma-separated browser origins allowed to subscribe, e.g. https://*.example.com; empty allows any")
	fs.DurationVar(&cfg.Poll.DefaultTimeout, "poll-timeout", poll.DefaultTimeout, "how long a long poll waits when it names no timeout")
	fs.DurationVar(&cfg.Poll.MaxTimeout, "poll-max-timeout", poll.DefaultMaxTimeout, "the longest timeout a long poll may ask for")
	fs.IntVar(&cfg.Poll.MaxMessages, "poll-max-messages", poll.DefaultMaxMessages, "most messages in one long-poll response")
	streamFlags(fs, &cfg.Stream)
	feedFlags(fs, &cfg.Feeds, &cfg.Feed)
	logger := logFlags(fs, stderr)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	log, err := logger()
	if err != nil {
		return err
	}
	cfg.WebSocket.Heartbeat, cfg.SSE.Heartbeat = *heartbeat, *heartbeat
	cfg.Logger = log
	if cfg.PublishToken == "" {
		cfg.PublishToken = randomToken()
		log.Warn("no --publish-token given: generated one for this run", "publish_token", cfg.PublishToken)
	}

	if *debugAddr != "" {
		stop, err := serveDebug(*debugAddr, log)
		if err != nil {
			return fmt.Errorf("--debug-addr: %w", err)
		}
		defer stop()
	}
	g, err := gateway.Start(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		g.Close()
		return err
	}
	log.Info("tickerd serving", "addr", ln.Addr().String(), "demo", "http://"+displayAddr(ln.Addr()), "feeds", cfg.Feeds)
	fmt.Fprintf(stdout, "tickerd: serving on http://%s\n", displayAddr(ln.Addr()))
	if err := g.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info("tickerd stopped")
	return nil
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
