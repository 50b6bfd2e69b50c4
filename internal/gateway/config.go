package gateway

import (
	"log/slog"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/poll"
	"github.com/tickerd/tickerd/transport/sse"
	"github.com/tickerd/tickerd/transport/ws"
)

// Config is everything a gateway needs. Zero fields take the defaults.
type Config struct {
	// NATSURL is the NATS deployment to use. Empty starts an embedded
	// server with JetStream.
	NATSURL string
	// DataDir is the embedded server's JetStream directory. Empty uses a
	// temporary one, removed on shutdown. Ignored with NATSURL.
	DataDir string
	// NATSListen exposes the embedded server on host:port for other
	// processes (tickerd feed, the nats CLI). Empty: in-process only.
	NATSListen string
	// PublishToken is the bearer token /v1/publish takes. Empty: the
	// caller should have generated one; publishing is refused without.
	PublishToken string
	// Feeds are the feeds to run in the gateway, by name (feed.Names()).
	Feeds []string
	// Feed configures them; its Logger is replaced by Logger.
	Feed feed.Options
	// Transports are the names of the transports to serve (see
	// Transports). Empty serves every one.
	Transports []string
	// Stream, Hub, WebSocket, SSE and Poll configure the parts they name.
	Stream    stream.Options
	Hub       transport.Options
	WebSocket ws.Options
	SSE       sse.Options
	Poll      poll.Options
	// AllowedOrigins are the browser origins ("https://example.com",
	// "https://*.example.com") allowed to subscribe, on every transport.
	// Empty allows any.
	AllowedOrigins []string
	// MaxBody bounds a request body. Default 1 MiB.
	MaxBody int64
	// PublishTimeout bounds a publish's wait for JetStream. Default 5s.
	PublishTimeout time.Duration
	// DrainTimeout bounds how long shutdown waits for subscribers to be
	// told and let go. Default 10s.
	DrainTimeout time.Duration
	// Logger receives every part's logs. Default slog.Default().
	Logger *slog.Logger

	// natsSyncInterval is the embedded server's JetStream sync interval:
	// tests shorten it to meet what happens at a sync within seconds.
	natsSyncInterval time.Duration
}

// Defaults of Config, which the serve command's flags show too.
const (
	DefaultDrainTimeout = 10 * time.Second
	DefaultAddr         = ":8080"
)

func (c Config) withDefaults() Config {
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
