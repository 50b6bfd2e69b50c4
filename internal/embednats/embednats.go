// Package embednats runs a NATS server with JetStream inside the process:
// what `tickerd serve` uses when no --nats-url is given, and what tests use
// to run against a real server on a random loopback port.
package embednats

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ErrNotReady is returned when the server does not accept connections in time.
var ErrNotReady = errors.New("embedded NATS server did not become ready")

// Options configure an embedded server.
type Options struct {
	// DataDir is where JetStream keeps its files. Empty makes a temporary
	// directory, removed by Shutdown.
	DataDir string
	// Listen is the host:port clients may connect to over TCP, port 0 for a
	// random one. Empty accepts in-process connections only.
	Listen string
	// ServerName names the server; it must be unique within a cluster.
	ServerName string
	// SyncInterval is how often JetStream syncs its files to disk, which
	// also opens its state file. Zero: nats-server's default, 2 minutes.
	SyncInterval time.Duration
	// Logger receives the server's warnings and errors (its notices at
	// debug). Default slog.Default().
	Logger *slog.Logger
}

// Server is a running embedded NATS server.
type Server struct {
	ns      *server.Server
	dir     string // the StoreDir it was started with
	tempDir string
	jsMu    sync.Mutex // one JetStream restart at a time
}

// Start runs a NATS server with JetStream and waits until it is ready.
func Start(o Options) (*Server, error) {
	s := &Server{}
	dir := o.DataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "tickerd-nats-"); err != nil {
			return nil, err
		}
		s.tempDir = dir
	}
	s.dir = dir
	opts := &server.Options{
		ServerName: o.ServerName,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		// Slow TCP consumers of the gateway's own connection must not be
		// cut off while it loads a large stream.
		MaxPending:   256 << 20,
		SyncInterval: o.SyncInterval,
	}
	if o.Listen == "" {
		opts.DontListen = true
	} else {
		host, port, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats listen address %q: %w", o.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("nats listen port %q: %w", port, err)
		}
		if p == 0 {
			p = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, p
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		s.removeTemp()
		return nil, err
	}
	s.ns = ns
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	// Debug and trace stay off: they log every protocol line.
	ns.SetLoggerV2(natsLogger{log}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, ErrNotReady
	}
	return s, nil
}

// ClientURL is the URL to connect to over TCP; empty when not listening.
func (s *Server) ClientURL() string {
	if s.ns.Addr() == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// Connect opens an in-process client connection.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	return nats.Connect("", append(opts, nats.InProcessServer(s.ns))...)
}

// Shutdown stops the server and removes a temporary data directory.
func (s *Server) Shutdown() {
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
	s.removeTemp()
}

func (s *Server) removeTemp() {
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}
