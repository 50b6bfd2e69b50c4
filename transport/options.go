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
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
