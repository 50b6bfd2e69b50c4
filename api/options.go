package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/transport"
)

// Options configure the router. Zero fields take the defaults.
type Options struct {
	// PublishToken is the bearer token /v1/publish requires. Empty refuses
	// every publish: the caller decides whether to generate one.
	PublishToken string
	// MaxBody bounds a request body, in bytes. Default 1 MiB.
	MaxBody int64
	// MaxURL bounds a request's URL, path and query, in bytes; a longer
	// one gets 414 uri_too_long on every endpoint. Default 8 KiB: about
	// 100 topics (the default --max-topics) of 80 bytes each, escaped.
	MaxURL int
	// Clients are the per-client caps and their table, which the
	// gateway's listener shares. Nil makes one with the default
	// ClientLimits.
	Clients *Clients
	// PublishTimeout bounds how long a publish waits for JetStream to
	// store it; past it the publish fails with 503. Default 5s.
	PublishTimeout time.Duration
	// Authenticator verifies the tokens requests carry (a *Verifier):
	// on the subscription endpoints, the snapshot and the topic list, and
	// as a publisher's bearer besides PublishToken. Nil reads no tokens:
	// the gateway is open, and publishing takes PublishToken alone.
	Authenticator transport.Authenticator
	// Transports are the subscription endpoints to mount, such as /v1/ws.
	Transports []Endpoint
	// AllowedOrigins are the browser origins ("https://example.com",
	// "https://*.example.com") that may read the subscription endpoints
	// cross-origin. Empty allows any: the ticker is embedded on other sites.
	AllowedOrigins []string
	// Static serves everything not under /v1, /healthz, /readyz, /metrics:
	// the demo page and the scripts.
	Static http.Handler
	// Ready reports whether the gateway can serve: a publish would succeed
	// and the latest values are loaded. Its error is /readyz's message.
	// Nil means always ready.
	Ready func(context.Context) error
	// Gatherer is what /metrics exposes. Default prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Logger receives request logs. Default slog.Default().
	Logger *slog.Logger
}

// Defaults of Options, which the serve command's flags show too.
const (
	DefaultMaxBody        = 1 << 20
	DefaultMaxURL         = 8 << 10
	DefaultPublishTimeout = 5 * time.Second
)

// Endpoint is a subscription transport the router mounts.
type Endpoint struct {
	// Path is where it is served, such as "/v1/sse".
	Path string
	// CrossOrigin marks an endpoint that browsers read cross-origin with
	// fetch or EventSource: it gets CORS. (A WebSocket checks the origin
	// itself.)
	CrossOrigin bool
	Handler     http.Handler
}

func (o Options) withDefaults() Options {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxURL <= 0 {
		o.MaxURL = DefaultMaxURL
	}
	if o.Clients == nil {
		o.Clients = NewClients(ClientLimits{})
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = DefaultPublishTimeout
	}
	if o.Gatherer == nil {
		o.Gatherer = prometheus.DefaultGatherer
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
