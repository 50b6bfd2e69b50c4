package transport

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Hub. Zero fields take the defaults.
type Options struct {
	// QueueSize bounds each session's queue of pending updates. When it is
	// full, state updates merge per topic and an event that does not fit
	// closes the session (ErrSlowConsumer). Default 256.
	QueueSize int
	// RingSize is how many recent updates the hub keeps for resuming
	// cursors without reading the stream. Default 65,536.
	RingSize int
	// MaxTopics bounds the patterns one session may subscribe to.
	// Default 100.
	MaxTopics int
	// MaxSnapshot bounds the topics one snapshot holds: the REST snapshot
	// and the one a subscription starts with. Patterns that match more
	// are refused with wire.ErrTooManyMatches. Default 10,000.
	MaxSnapshot int
	// MaxKnownTopics bounds the topics the hub keeps a latest value of.
	// Past it a publish that would add topics is refused (Hub.Fits), and
	// updates of new topics that arrive from the stream anyway are routed
	// live but not kept. Default 100,000.
	MaxKnownTopics int
	// Logger receives the hub's logs. Default slog.Default().
	Logger *slog.Logger
	// Registerer, when set, gets the hub's Prometheus metrics.
	Registerer prometheus.Registerer
	// Authorizer decides who may subscribe to what. Default nil: every
	// topic is public.
	Authorizer Authorizer
}

// Defaults of Options, which the serve command's flags show too.
const (
	DefaultQueueSize = 256
	DefaultRingSize  = 65_536
	DefaultMaxTopics = 100

	DefaultMaxSnapshot    = 10_000
	DefaultMaxKnownTopics = 100_000
)

func (o Options) withDefaults() Options {
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.RingSize <= 0 {
		o.RingSize = DefaultRingSize
	}
	if o.MaxTopics <= 0 {
		o.MaxTopics = DefaultMaxTopics
	}
	if o.MaxSnapshot <= 0 {
		o.MaxSnapshot = DefaultMaxSnapshot
	}
	if o.MaxKnownTopics <= 0 {
		o.MaxKnownTopics = DefaultMaxKnownTopics
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
