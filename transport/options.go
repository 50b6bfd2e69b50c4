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
	// RingBytes bounds the same ring by the size of its encoded messages:
	// past it the oldest leave, so large updates cannot make the ring
	// hold RingSize of them. Default 64 MiB.
	RingBytes int
	// MaxReplay is how far back, in stream sequences from the newest
	// update routed, a cursor may resume: one further back is answered
	// like a cursor past retention (a snapshot with reset), before
	// anything is read, so that no resume costs more than this many
	// stream messages. Default 100,000.
	MaxReplay uint64
	// MaxReplays caps the resumes that read the stream at once; others
	// wait for a slot (a long poll only as long as Info.ReplayWait).
	// A slot is held while one page is read, never while the subscriber
	// reads. Default 8.
	MaxReplays int
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
	// Authenticator verifies the tokens of WebSocket auth commands.
	// Default nil: the gateway reads no tokens, and acks every auth
	// command without reading it (every topic is public then).
	Authenticator Authenticator
}

// Defaults of Options, which the serve command's flags show too.
const (
	DefaultQueueSize = 256
	DefaultRingSize  = 65_536
	DefaultMaxTopics = 100

	DefaultMaxSnapshot    = 10_000
	DefaultMaxKnownTopics = 100_000
)

// Defaults of the bounds on resuming: the ring's bytes and a replay's
// distance and concurrency.
const (
	DefaultRingBytes  = 64 << 20
	DefaultMaxReplay  = 100_000
	DefaultMaxReplays = 8
)

func (o Options) withDefaults() Options {
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.RingSize <= 0 {
		o.RingSize = DefaultRingSize
	}
	if o.RingBytes <= 0 {
		o.RingBytes = DefaultRingBytes
	}
	if o.MaxReplay == 0 {
		o.MaxReplay = DefaultMaxReplay
	}
	if o.MaxReplays <= 0 {
		o.MaxReplays = DefaultMaxReplays
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
