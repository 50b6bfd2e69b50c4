package gateway

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/poll"
	"github.com/tickerd/tickerd/transport/sse"
	"github.com/tickerd/tickerd/transport/ws"
)

// Config is everything a gateway needs. Zero fields take the defaults.
type Config struct {
	// NATSURL is the NATS deployment to use: a URL, or several separated
	// by commas (the servers of a cluster), as nats.Connect takes them.
	// Empty starts an embedded server with JetStream.
	NATSURL string
	// NATSStartupTimeout bounds how long Start keeps trying to connect to
	// NATS and to create or find the stream, retrying with backoff: NATS
	// may start after the gateway, and many gateways may start at once
	// on a new cluster. Default 60s.
	NATSStartupTimeout time.Duration
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
	// JWT configures token verification (see api.VerifierOptions). With
	// neither a secret nor a JWKS no token is read and every topic is
	// public; with either, only PublicTopics and what a token grants.
	JWT api.VerifierOptions
	// PublicTopics are the patterns anyone may read without a token, when
	// JWT is configured. Without JWT they are refused: every topic is
	// public then.
	PublicTopics []string
	// MaxBody bounds a request body. Default 1 MiB.
	MaxBody int64
	// MaxURL bounds a request's URL, path and query, in bytes: 414
	// uri_too_long past it. Default 8 KiB (api.DefaultMaxURL).
	MaxURL int
	// MaxConns is the connection budget: how many TCP connections the
	// HTTP listener holds at once, WebSocket and SSE streams included.
	// Past it a new connection is answered 503 overloaded and closed,
	// unless it asks for /healthz or /readyz, which are served
	// on a reserve of 16 more. Zero derives it from the soft open-file
	// limit (RLIMIT_NOFILE): the limit less a tenth of it (at least 256,
	// at most half) for NATS, JetStream's files and the rest of the
	// process, less the reserve and 64 for connections being turned away;
	// 688 for a limit of 1024. See listener.go.
	MaxConns int
	// SendBuffer caps the kernel's send buffer (SO_SNDBUF) of every
	// accepted connection, in bytes. Default 64 KiB; negative leaves the
	// kernel's own, which grows to megabytes (net.ipv4.tcp_wmem). What a
	// stalled client has not read then waits in its session's bounded
	// queue, where it is merged or found slow within seconds, rather than
	// in megabytes of kernel memory that hide it; 64 KiB still carries a
	// ticker's rate across any round trip.
	SendBuffer int
	// Clients are the per-client caps: connections and their rate per IP
	// address, and the proxies trusted to name the client.
	Clients api.ClientLimits
	// PublishTimeout bounds a publish's wait for JetStream. Default 5s.
	PublishTimeout time.Duration
	// DrainTimeout bounds how long shutdown waits for subscribers to be
	// told and let go. Default 10s.
	DrainTimeout time.Duration
	// TLS, when set, makes Serve answer HTTPS (see Serve); its NextProtos
	// should offer "h2" and "http/1.1", as tlscert.Reloader.Config's do.
	// Nil: plain HTTP.
	TLS *tls.Config
	// Logger receives every part's logs. Default slog.Default().
	Logger *slog.Logger

	// natsSyncInterval is the embedded server's JetStream sync interval:
	// tests shorten it to meet what happens at a sync within seconds.
	natsSyncInterval time.Duration
	// startupAttempt bounds a start-up attempt's first wait for NATS
	// (retryStartup); tests shorten it to have an attempt time out.
	startupAttempt time.Duration
}

// Defaults of Config, which the serve command's flags show too.
const (
	DefaultDrainTimeout = 10 * time.Second
	DefaultAddr         = ":8080"
	// DefaultAdminAddr is where `tickerd serve` serves /metrics, the
	// health endpoints and the profiles (Gateway.ServeAdmin): loopback
	// only, on a port that neither Prometheus (9090) nor the usual
	// development servers take.
	DefaultAdminAddr = "127.0.0.1:9180"
)

// DefaultNATSStartupTimeout is Config.NATSStartupTimeout's default.
const DefaultNATSStartupTimeout = 60 * time.Second

func (c Config) withDefaults() Config {
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.NATSStartupTimeout <= 0 {
		c.NATSStartupTimeout = DefaultNATSStartupTimeout
	}
	if c.startupAttempt <= 0 {
		c.startupAttempt = defaultStartupAttempt
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
