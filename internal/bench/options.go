package bench

import (
	"fmt"
	"io"
	"net/url"
	"sync"
	"time"

	"github.com/tickerd/tickerd/internal/stream"
)

// Transports a run can use, and Mix, which gives subscriber i the
// (i mod 3)th of ws, sse, poll.
const (
	WebSocket = "ws"
	SSE       = "sse"
	Poll      = "poll"
	Mix       = "mix"
)

// Interest patterns: which topic each subscriber subscribes to.
const (
	// One puts every subscriber on the first topic.
	One = "one"
	// Spread puts subscriber i on topic i mod Topics.
	Spread = "spread"
)

// Options describe one bench run. Zero fields take the defaults.
type Options struct {
	// Subscribers is how many subscribers to open. Default 100.
	Subscribers int
	// Transport is "ws", "sse", "poll", or "mix". Default "ws".
	Transport string
	// Topics is how many topics the publisher publishes to, round-robin:
	// <TopicPrefix>.t0, <TopicPrefix>.t1, ... Default 1.
	Topics int
	// TopicPrefix starts every topic's name. Default "bench".
	TopicPrefix string
	// Interest is which topic each subscriber takes: "one" (all on the
	// first) or "spread" (subscriber i on topic i mod Topics). Default
	// "spread".
	Interest string
	// Rate is how many updates per second are published, over all topics.
	// Zero publishes nothing: the subscribers only hold their connections
	// (an idle run, for memory per connection).
	Rate float64
	// Size is the size in bytes of each update's data, a JSON object with
	// the topic's sequence number, the send time and padding. Default 100;
	// the data is never smaller than it needs to be (about 40 bytes).
	Size int
	// Kind is the kind of the updates, "event" or "state". Default "event":
	// events are never merged, so every one must arrive.
	Kind string

	// Warmup is how long updates are published before measuring starts.
	// Default 3s.
	Warmup time.Duration
	// Duration is how long the measured window lasts. Default 10s.
	Duration time.Duration
	// Drain is how long, after publishing stops, the bench waits for every
	// subscriber to get the last update of its topic before it counts what
	// is missing as lost. Default 5s.
	Drain time.Duration
	// Settle is how long the bench waits after the last subscriber
	// connected before it samples the server's memory. Default 2s.
	Settle time.Duration

	// URL is a running gateway to measure, "http://host:port". Empty
	// starts one: in this process, or as a child process with Spawn.
	URL string
	// NATSURL, with URL, publishes straight into the gateway's NATS with
	// the stream package; without it the bench publishes through
	// POST /v1/publish with PublishToken.
	NATSURL string
	// AdminURL, with URL, is where the gateway serves /metrics: its
	// --admin-addr, "http://host:port". Empty reads URL's own /metrics
	// (a gateway from before the admin listener, or a fake).
	AdminURL string
	// PublishToken is the gateway's publish token, for URL without NATSURL.
	PublishToken string
	// Stream names the stream and subject prefix to publish to with
	// NATSURL; they must be the gateway's.
	Stream stream.Options

	// Spawn starts the gateway as a child process running ServerCommand,
	// with its own embedded NATS exposed on a free loopback port, and reads
	// its CPU and memory in /proc/<pid>, its counters in /metrics: the
	// honest way to see the server's CPU and memory, since the bench
	// clients are not in its process.
	Spawn bool
	// ServerCommand is the command that runs a gateway, such as
	// ["/usr/bin/tickerd", "serve"]; the bench adds --addr, --nats-url,
	// --nats-listen, --data-dir, --feeds, --stream, --subject-prefix,
	// --publish-token, --admin-addr (its /metrics and profiles, and a way
	// to make it collect garbage before memory is read) and --log-level.
	ServerCommand []string
	// ServerArgs are more arguments for ServerCommand, such as
	// ["--queue-size", "512"].
	ServerArgs []string
	// Ceiling, with Spawn, measures the ceiling server (ServeCeiling, a
	// minimal pre-framed WebSocket writer) instead of a gateway:
	// ServerCommand runs it, and the bench adds --addr and
	// --publish-token. Subscribers take WebSockets, one topic each.
	Ceiling bool
	// NATSCommand, with Spawn, runs NATS as a child process of its own
	// (a nats-server binary, such as ["bin/nats-server"]; the bench adds
	// JetStream, a port and a store directory) and gives the gateway its
	// URL, instead of the gateway's embedded server: the gateway's CPU is
	// then what it pays to follow the stream and serve, NATS's (storing,
	// acknowledging, sending to the follower) apart in NATSCPUS.
	NATSCommand []string
	// ServerCPUs, with Spawn, pins the spawned server (the gateway, or the
	// ceiling server; not a NATS of its own) to these CPUs, a list as taskset(1) takes it ("0", "0-1,3"),
	// and the bench to the others, so that neither takes the other's
	// cycles: how the figures in docs/benchmarks.md are made on a 2-core
	// machine. Empty pins nothing.
	ServerCPUs string

	// SourceAddrs is how many loopback source addresses (127.0.0.2, ...)
	// the connections are spread over, when the server is on 127.0.0.0/8.
	// Default 8; 1 lets the system choose.
	SourceAddrs int
	// ConnectConcurrency bounds the connections being opened at once.
	// Default 200.
	ConnectConcurrency int
	// ConnectTimeout bounds opening and subscribing one subscriber,
	// retries included. Default 30s.
	ConnectTimeout time.Duration
	// PollTimeout is the timeout long polls ask for. Default 25s.
	PollTimeout time.Duration
	// PollDelay is how long a long-poll client waits between getting one
	// response and asking again, so that updates pile up (a backlog).
	// Default 0.
	PollDelay time.Duration

	// CPUProfile and MemProfile are files to write a CPU profile of the
	// measured window and a heap profile taken at its end to. With a
	// spawned server they are the server's own, fetched from its pprof
	// endpoint. With the in-process server the bench's clients share the
	// process, and so the profiles: `go tool pprof -ignore 'tickerd/bench\.'`
	// leaves the server's share. A remote server is not profiled.
	CPUProfile, MemProfile string
	// PprofAddr, with the in-process server, serves net/http/pprof on this
	// address for the length of the run.
	PprofAddr string

	// Log receives progress lines and the spawned server's logs. Run
	// serialises its writes. Default: none.
	Log io.Writer
}

func (o Options) withDefaults() Options {
	if o.Subscribers == 0 {
		o.Subscribers = 100
	}
	if o.Transport == "" {
		o.Transport = WebSocket
	}
	if o.Topics == 0 {
		o.Topics = 1
	}
	if o.TopicPrefix == "" {
		o.TopicPrefix = "bench"
	}
	if o.Interest == "" {
		o.Interest = Spread
	}
	if o.Size == 0 {
		o.Size = 100
	}
	if o.Kind == "" {
		o.Kind = "event"
	}
	if o.Warmup == 0 {
		o.Warmup = 3 * time.Second
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.Drain == 0 {
		o.Drain = 5 * time.Second
	}
	if o.Settle == 0 {
		o.Settle = 2 * time.Second
	}
	if o.ConnectConcurrency == 0 {
		o.ConnectConcurrency = 200
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 30 * time.Second
	}
	if o.PollTimeout == 0 {
		o.PollTimeout = 25 * time.Second
	}
	if o.Stream.Name == "" {
		o.Stream.Name = "TICKERD"
	}
	if o.Stream.SubjectPrefix == "" {
		o.Stream.SubjectPrefix = "tickerd"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	o.Log = &lockedWriter{w: o.Log}
	return o
}

// lockedWriter serialises writes to w: the bench's progress lines and a
// spawned server's output come from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// serverMode is where the measured gateway runs.
type serverMode int

const (
	modeInProcess serverMode = iota
	modeSpawn
	modeRemote
)

func (m serverMode) String() string {
	return [...]string{"in-process", "spawned", "remote"}[m]
}

func (o Options) mode() serverMode {
	switch {
	case o.Spawn:
		return modeSpawn
	case o.URL != "":
		return modeRemote
	}
	return modeInProcess
}

func (o Options) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrOptions, fmt.Sprintf(format, args...))
	}
	switch {
	case o.Subscribers < 0:
		return bad("subscribers must be 0 or more")
	case o.Transport != WebSocket && o.Transport != SSE && o.Transport != Poll && o.Transport != Mix:
		return bad("transport %q: want ws, sse, poll or mix", o.Transport)
	case o.Topics < 1:
		return bad("topics must be 1 or more")
	case o.Interest != One && o.Interest != Spread:
		return bad("interest %q: want one or spread", o.Interest)
	case o.Rate < 0:
		return bad("rate must be 0 or more")
	case o.Size < 0 || o.Size > 60<<10:
		return bad("size must be 0 to 61440 bytes")
	case o.Kind != "event" && o.Kind != "state":
		return bad("kind %q: want event or state", o.Kind)
	case o.Warmup < 0 || o.Duration <= 0 || o.Drain < 0 || o.Settle < 0:
		return bad("warmup, drain and settle must not be negative, duration must be positive")
	case o.Spawn && o.URL != "":
		return bad("spawn starts its own server: give it no URL")
	case len(o.NATSCommand) > 0 && !o.Spawn:
		return bad("a NATS process of its own goes with spawn")
	case o.Ceiling && (!o.Spawn || o.Transport != WebSocket):
		return bad("the ceiling server is spawned and speaks WebSocket only")
	case o.Spawn && len(o.ServerCommand) == 0:
		return bad("spawn needs the command that runs a gateway")
	case o.NATSURL != "" && o.URL == "":
		return bad("a NATS URL is for publishing to the gateway at URL: give that too")
	case o.URL != "" && o.NATSURL == "" && o.PublishToken == "" && o.Rate > 0:
		return bad("publishing to %s needs its publish token (or its NATS URL)", o.URL)
	case o.mode() == modeRemote && (o.CPUProfile != "" || o.MemProfile != ""):
		return bad("a remote server is not profiled: profile an in-process or spawned one")
	case o.mode() != modeInProcess && o.PprofAddr != "":
		return bad("the pprof address serves the in-process server's profiles: drop spawn and URL")
	case o.PollDelay < 0 || o.PollTimeout < time.Second:
		return bad("poll timeout must be 1s or more, poll delay not negative")
	case o.ConnectConcurrency < 1:
		return bad("connect concurrency must be 1 or more")
	case o.ServerCPUs != "" && !o.Spawn:
		return bad("pinning the server to CPUs goes with spawn")
	}
	if o.ServerCPUs != "" {
		if _, err := parseCPUList(o.ServerCPUs); err != nil {
			return err
		}
	}
	if o.URL != "" {
		u, err := url.Parse(o.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("URL %q: want http://host:port", o.URL)
		}
	}
	return nil
}

// topic returns the name of topic i.
func (o Options) topic(i int) string {
	return fmt.Sprintf("%s.t%d", o.TopicPrefix, i)
}

// topicOf returns the topic index subscriber i subscribes to.
func (o Options) topicOf(i int) int {
	if o.Interest == One {
		return 0
	}
	return i % o.Topics
}

// transportOf returns the transport subscriber i uses.
func (o Options) transportOf(i int) string {
	if o.Transport == Mix {
		return [...]string{WebSocket, SSE, Poll}[i%3]
	}
	return o.Transport
}
