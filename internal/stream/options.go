package stream

import "time"

// Options configure the JetStream stream. Zero fields take the defaults.
type Options struct {
	// Name is the JetStream stream name. Default "TICKERD".
	Name string
	// SubjectPrefix is put before every topic to make its NATS subject:
	// topic "stocks.AAPL" is subject "tickerd.stocks.AAPL". Default "tickerd".
	SubjectPrefix string
	// MaxAge bounds how long a message is retained, and so how old a cursor
	// can resume without a reset. Default 24h.
	MaxAge time.Duration
	// MaxPerTopic bounds how many messages of one topic are retained.
	// Default 10,000.
	MaxPerTopic int64
	// Replicas is the JetStream replica count (1, or 3 on a cluster).
	// Default 1.
	Replicas int
	// Memory keeps the stream in memory rather than on disk.
	Memory bool
	// DedupWindow is how long the stream remembers the IDs of the updates
	// it stored (JetStream's Duplicates): an update published again with
	// the same ID within it is acknowledged as a duplicate and not stored
	// again. It is held to MaxAge. Default 2m.
	DedupWindow time.Duration
}

// Defaults of Options, which the serve and feed commands' flags show too.
const (
	DefaultName          = "TICKERD"
	DefaultSubjectPrefix = "tickerd"
	DefaultMaxAge        = 24 * time.Hour
	DefaultMaxPerTopic   = 10_000
	DefaultReplicas      = 1
	DefaultDedupWindow   = 2 * time.Minute
)

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.SubjectPrefix == "" {
		o.SubjectPrefix = DefaultSubjectPrefix
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.MaxPerTopic == 0 {
		o.MaxPerTopic = DefaultMaxPerTopic
	}
	if o.Replicas == 0 {
		o.Replicas = DefaultReplicas
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = DefaultDedupWindow
	}
	// JetStream refuses a window longer than the retention.
	o.DedupWindow = min(o.DedupWindow, o.MaxAge)
	return o
}
