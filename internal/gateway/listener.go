package gateway

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/transport/wire"
)

// The connection budget keeps the gateway's client connections below its
// open-file limit, so that the limit is never reached: past it net/http's
// accept loop sleeps while clients hang, /healthz stops answering, and
// JetStream's own files fail to open.
//
// A connection accepted at the budget is triaged: its request line is
// read, and a request for /healthz or /readyz is served on a
// small reserve; anything else is answered 503 overloaded and closed, as is
// a connection past its client's cap (429 rate_limited). Reading the
// request first keeps the answer an answer: written before the request, a
// client would take it for a stray response and fail without a status.
const (
	// minFileHeadroom is the least of the open-file limit kept for what
	// is not a client connection: the embedded NATS server's JetStream
	// files and its TCP clients (--nats-listen), the listeners, the admin
	// listener's connections, log files. A tenth of the limit is kept when that is more,
	// and at most half of it.
	minFileHeadroom = 256
	// healthReserve is how many operations requests are served at once
	// past the budget.
	healthReserve = 16
	// triageSlots bounds the connections being triaged at once; past it
	// a connection is answered and closed the moment it is accepted.
	triageSlots = 64
	// triageTimeout is how long triage waits for a request line. A client
	// sends its request along with the end of its handshake, so it is
	// there at once; one that sends nothing is answered when this ends.
	triageTimeout = 200 * time.Millisecond
	// overBudgetTimeout is how long a reserve connection may take to send
	// its request, where others have ReadHeaderTimeout (10s): probes are
	// quick, and the reserve must not fill up with connections that
	// trickle.
	overBudgetTimeout = 2 * time.Second
	// DefaultSendBuffer is the default of Config.SendBuffer.
	DefaultSendBuffer = 64 << 10
)

// connBudget is Config.MaxConns when set, else the soft open-file limit
// (RLIMIT_NOFILE) less the headroom, the health reserve and the triage
// slots.
func connBudget(maxConns int, fileLimit uint64) int {
	if maxConns > 0 {
		return maxConns
	}
	limit := int(min(fileLimit, 1<<30))
	headroom := min(max(limit/10, minFileHeadroom), limit/2)
	return max(limit-headroom-healthReserve-triageSlots, 1)
}

func fileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024 // the usual default; not knowing, assume it
	}
	return rl.Cur
}

// Why a connection is turned away, and the answers it gets, written
// before any HTTP server reads it.
const (
	atBudget = iota
	atClientCap
)

var cannedAnswer = [...][]byte{
	atBudget:    canned(wire.ErrOverloaded),
	atClientCap: canned(wire.ErrRateLimited),
}

// edge counts the gateway's open TCP connections and turns away, as they
// are accepted, those past its budget and those past their client's cap.
// Its counts are the gateway's metrics.
type edge struct {
	budget     int64
	fileLimit  uint64
	sendBuffer int
	clients    *api.Clients
	log        *slog.Logger
	triage     chan struct{} // a slot per connection in triage

	open       atomic.Int64 // served within the budget
	reserve    atomic.Int64 // served past it, for operations
	overBudget atomic.Int64
	turnedAway [2]atomic.Int64 // by refusal
	lastWarn   atomic.Int64    // unix nanoseconds
}

func newEdge(cfg Config, clients *api.Clients, reg prometheus.Registerer) *edge {
	limit := fileLimit()
	e := &edge{
		budget:     int64(connBudget(cfg.MaxConns, limit)),
		fileLimit:  limit,
		sendBuffer: cfg.SendBuffer,
		clients:    clients,
		log:        cfg.Logger,
		triage:     make(chan struct{}, triageSlots),
	}
	if e.sendBuffer == 0 {
		e.sendBuffer = DefaultSendBuffer
	}
	gauge := func(name, help string, v func() int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(v()) })
	}
	counter := func(name, help string, labels prometheus.Labels, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, func() float64 { return float64(v.Load()) })
	}
	const turnedHelp = "connections answered with this error and closed as they were accepted"
	reg.MustRegister(
		gauge("tickerd_connections", "open TCP connections to the gateway's HTTP listener", func() int64 { return e.open.Load() + e.reserve.Load() }),
		gauge("tickerd_connections_budget", "the connection budget (--max-conns, or derived from the open-file limit)", func() int64 { return e.budget }),
		counter("tickerd_connections_over_budget_total", "connections accepted at the budget: served for /healthz, /readyz, or turned away", nil, &e.overBudget),
		counter("tickerd_connections_turned_away_total", turnedHelp, prometheus.Labels{"code": "overloaded"}, &e.turnedAway[atBudget]),
		counter("tickerd_connections_turned_away_total", turnedHelp, prometheus.Labels{"code": "rate_limited"}, &e.turnedAway[atClientCap]),
	)
	return e
}

// listener wraps ln with the edge's counts and caps.
func (e *edge) listener(ln net.Listener) net.Listener {
	e.log.Info("connection budget", "max_conns", e.budget, "open_file_limit", e.fileLimit, "send_buffer", e.sendBuffer)
	if fits := connBudget(0, e.fileLimit); e.budget > int64(fits) {
		e.log.Warn("--max-conns is above what the open-file limit leaves room for: NATS and JetStream may run out of files; lower it or raise ulimit -n",
			"max_conns", e.budget, "fits", fits, "open_file_limit", e.fileLimit)
	}
	l := &listener{Listener: ln, e: e, conns: make(chan net.Conn), closed: make(chan struct{})}
	go l.acceptLoop()
	return l
}

// listener hands the HTTP server the connections its edge admits. Its own
// goroutine accepts, so that the accept loop never waits on triage and a
// triaged probe reaches the server without waiting for the next accept.
type listener struct {
	net.Listener
	e      *edge
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	err    error
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, l.err
	}
}

func (l *listener) Close() error {
	l.stop(net.ErrClosed)
	return l.Listener.Close()
}

func (l *listener) stop(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.closed)
	})
}

// hand gives c to the server, or closes it if the listener has closed.
func (l *listener) hand(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *listener) acceptLoop() {
	e := l.e
	var backoff time.Duration
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) &&
				!errors.Is(err, syscall.ENOBUFS) && !errors.Is(err, syscall.ENOMEM) {
				l.stop(err)
				return
			}
			e.warn("out of file descriptors: something besides client connections holds them; lower --max-conns", "err", err)
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if e.open.Load() >= e.budget {
			e.overBudget.Add(1)
			e.warn("connection budget reached: answering 503 overloaded", "max_conns", e.budget)
			l.triage(nc, atBudget)
			continue
		}
		release, err := e.clients.AdmitConn(api.PeerAddr(nc.RemoteAddr().String()))
		if err != nil {
			l.triage(nc, atClientCap)
			continue
		}
		e.open.Add(1)
		l.hand(e.conn(nc, release, false))
	}
}

// conn makes nc the edge's, counted already.
func (e *edge) conn(nc net.Conn, release func(), over bool) *conn {
	if tc, ok := nc.(*net.TCPConn); ok && e.sendBuffer > 0 {
		_ = tc.SetWriteBuffer(e.sendBuffer)
	}
	c := &conn{Conn: nc, e: e, release: release}
	if over {
		c.deadline = time.Now().Add(overBudgetTimeout)
		_ = nc.SetReadDeadline(c.deadline)
	}
	return c
}

// triage reads nc's request line, in a goroutine of its own while a slot
// is free. A connection at the budget asking for an operations endpoint
// goes to the server on the reserve; every other is answered why's answer
// and closed.
func (l *listener) triage(nc net.Conn, why int) {
	e := l.e
	select {
	case e.triage <- struct{}{}:
	default:
		e.turnedAway[why].Add(1)
		turnAway(nc, cannedAnswer[why])
		return
	}
	go func() {
		defer func() { <-e.triage }()
		head := readRequestLine(nc)
		if why == atBudget && isOperations(head) {
			if n := e.reserve.Add(1); n <= healthReserve {
				c := e.conn(nc, nil, true)
				c.pending = head
				l.hand(c)
				return
			}
			e.reserve.Add(-1)
		}
		e.turnedAway[why].Add(1)
		turnAway(nc, cannedAnswer[why])
	}()
}

// readRequestLine reads what nc sends within triageTimeout, up to its
// first line or 4 KiB.
func readRequestLine(nc net.Conn) []byte {
	_ = nc.SetReadDeadline(time.Now().Add(triageTimeout))
	b := make([]byte, 0, 4096)
	for len(b) < cap(b) && bytes.IndexByte(b, '\n') < 0 {
		n, err := nc.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			break
		}
	}
	_ = nc.SetReadDeadline(time.Time{})
	return b
}

// isOperations reports whether head begins a GET or HEAD of an
// operations endpoint.
func isOperations(head []byte) bool {
	line, _, ok := strings.Cut(string(head), "\n")
	if !ok {
		return false
	}
	method, rest, _ := strings.Cut(line, " ")
	target, _, _ := strings.Cut(rest, " ")
	path, _, _ := strings.Cut(target, "?")
	return (method == "GET" || method == "HEAD") && api.IsOperations(path)
}

// warn logs at most one line in ten seconds, so that a flood costs one.
func (e *edge) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := e.lastWarn.Load()
	if now-last < int64(10*time.Second) || !e.lastWarn.CompareAndSwap(last, now) {
		return
	}
	e.log.Warn(msg, append(args, "open", e.open.Load()+e.reserve.Load())...)
}
