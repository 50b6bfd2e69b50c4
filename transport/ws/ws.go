// Package ws is the WebSocket transport: a thin adapter that moves a
// transport.Session's queue onto a WebSocket and client commands into the hub.
//
// Each WebSocket text message carries one or more server messages, one JSON
// object per line: what is queued when the writer wakes goes out as one
// message, so a burst costs one frame and one system call, not one each.
package ws

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/socket"
	"github.com/tickerd/tickerd/transport/wire"
)

// Options configure the WebSocket handler. Zero fields take the defaults.
type Options struct {
	// Heartbeat is how often the server pings; a connection whose pong does
	// not come back within another Heartbeat is closed. Default 25s.
	Heartbeat time.Duration
	// WriteTimeout bounds one write to a client. Default 10s.
	WriteTimeout time.Duration
	// MaxFrame bounds a message from the client, in bytes; a larger one
	// closes the connection with 1009. Default 4096.
	MaxFrame int64
	// ReadBuffer sizes the connection's read buffer, kept for its life;
	// client commands are small and may span several reads. Default 512
	// bytes. Writes keep no buffer between them (see frameWriter).
	ReadBuffer int
	// OriginPatterns are the origins allowed to connect from a browser
	// (host patterns as path.Match takes them). Empty allows any origin:
	// the ticker is embedded on other sites by design.
	OriginPatterns []string
	// CommandRate is how many commands per second one connection may
	// send, with bursts of CommandBurst. Past it the server reads the
	// next command only once the rate allows, so a faster client is
	// slowed by TCP backpressure; nothing is refused or lost. One held
	// back on every command for maxThrottled ends as a slow consumer:
	// no client needs that many, and one that sends without reading
	// would otherwise never fill its queue. Defaults 20/s and 50; a
	// negative rate sets no limit.
	CommandRate  float64
	CommandBurst int
}

// Defaults of Options, which the serve command's flags show too.
const (
	DefaultHeartbeat    = 25 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultMaxFrame     = 4096
)

// Defaults of the command rate, which the serve command's flags show too.
const (
	DefaultCommandRate  = 20
	DefaultCommandBurst = 50
)

func (o Options) withDefaults() Options {
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.MaxFrame <= 0 {
		o.MaxFrame = DefaultMaxFrame
	}
	if o.ReadBuffer <= 0 {
		o.ReadBuffer = 512
	}
	if o.CommandRate == 0 {
		o.CommandRate = DefaultCommandRate
	}
	if o.CommandBurst <= 0 {
		o.CommandBurst = DefaultCommandBurst
	}
	return o
}

// limiter paces one connection's commands; nil when there is no limit.
func (o Options) limiter() *rate.Limiter {
	if o.CommandRate < 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(o.CommandRate), o.CommandBurst)
}

// Handler serves GET /v1/ws.
type Handler struct {
	hub  *transport.Hub
	opts Options
}

// New returns the WebSocket handler over hub.
func New(hub *transport.Hub, opts Options) *Handler {
	return &Handler{hub: hub, opts: opts.withDefaults()}
}

// ServeHTTP upgrades the request and serves the session until either side
// ends it. A request whose topics or cursor are bad is still upgraded and
// told in an error message after the hello (a browser cannot read an HTTP
// error from a failed WebSocket); one that may not read its topics is
// refused before the upgrade.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := transport.PrincipalFrom(r.Context())
	req, reqErr := wire.ParseRequest(r.URL.RawQuery, "", h.hub.MaxTopics())
	if reqErr == nil {
		reqErr = h.hub.Admit(r.Context(), p, req)
		if st := wire.Lookup(reqErr).Status; reqErr != nil && (st == http.StatusUnauthorized || st == http.StatusForbidden) {
			wire.WriteError(w, reqErr)
			return
		}
	}
	hj := &sizedHijacker{ResponseWriter: w, read: h.opts.ReadBuffer, writeTimeout: h.opts.WriteTimeout}
	c, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		OriginPatterns:     h.opts.OriginPatterns,
		InsecureSkipVerify: len(h.opts.OriginPatterns) == 0,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return // Accept has answered the request
	}
	c.SetReadLimit(h.opts.MaxFrame)
	// The connection outlives this call, so that this goroutine and the
	// request are gone while it idles: the reader below is all it keeps,
	// and a writer runs only while something is queued.
	// Writes are bounded by deadlines and reads end when the connection
	// closes, so neither takes a cancellable context: the library would
	// keep a callback per connection for it. ctx bounds subscribing and
	// commands, and ends with the reader. It does not derive from the
	// request's, which would keep the request's context alive with it.
	ctx, cancel := context.WithCancel(context.Background())
	wc := &conn{c: c, nc: hj.conn, w: hj.w, pingTimeout: h.opts.Heartbeat}
	var tc transport.Conn = wc
	if !hj.w.CanTry() {
		// Its every write may wait (TLS): the hub gives it a writer of
		// its own rather than a turn in the pool (transport.TryConn).
		tc = struct{ transport.Conn }{wc}
	}
	s := h.hub.Connect(ctx, tc, transport.Info{
		Transport: "ws",
		Principal: p,
		Heartbeat: h.opts.Heartbeat,
		Hello:     true,
		MaxFrame:  int(h.opts.MaxFrame),
	}, req, reqErr)
	go read(ctx, cancel, wc, s, h.opts.limiter())
}

// errBinary answers a binary message: commands are text.
var errBinary = wire.ErrBadRequest.With("commands are JSON text messages")

// read carries out commands, at most as fast as lim allows, until the
// connection fails or the session ends. It stops reading once the session
// has ended (a failure of the server's, or a client that sent more than it
// read and overflowed its queue with answers): what the client sends then
// stays in the socket, so it costs nothing, while the writer tells it the
// reason and closes the connection. A client that breaks the WebSocket
// protocol is closed with 1002.
func read(ctx context.Context, cancel context.CancelFunc, wc *conn, s *transport.Session, lim *rate.Limiter) {
	defer func() {
		s.Close()
		cancel()
	}()
	c := wc.c
	var throttled time.Time // since when every command had to wait for the rate
	for {
		if lim != nil && !pace(lim, s, &throttled) {
			return
		}
		typ, data, err := c.Read(context.WithoutCancel(ctx))
		if err != nil {
			if brokeProtocol(err) {
				wc.closeProtocol(err)
			}
			return
		}
		if typ != websocket.MessageText {
			s.Refuse(errBinary)
		} else {
			s.Command(ctx, data)
		}
		if s.Err() != nil {
			return
		}
	}
}

// maxThrottled is how long a client may be held back by its command rate
// on every command before its session ends as a slow consumer.
const maxThrottled = 10 * time.Second

// pace waits until lim allows one more command; false if the session
// ended meanwhile, or pace ended it because the client had been held back
// since *throttled for longer than maxThrottled.
func pace(lim *rate.Limiter, s *transport.Session, throttled *time.Time) bool {
	d := lim.Reserve().Delay()
	if d == 0 {
		*throttled = time.Time{}
		return true
	}
	if now := time.Now(); throttled.IsZero() {
		*throttled = now
	} else if now.Sub(*throttled) > maxThrottled {
		s.Overflow()
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.Done():
		return false
	}
}

// conn frames a session's messages onto a WebSocket.
type conn struct {
	c           *websocket.Conn
	nc          net.Conn       // under c, for read deadlines
	w           *socket.Writer // every frame the server sends
	pingTimeout time.Duration
}

// Write sends the items as one WebSocket text message, one per line,
// waiting for the client if it must.
func (c *conn) Write(_ context.Context, items []wire.Item) error {
	rest, err := c.TryWrite(items)
	if rest {
		err = c.w.WriteRest()
	}
	return err
}

// TryWrite is Write without waiting: what the socket does not take now is
// kept for WriteRest. An update alone goes out as the frame it was built
// with, shared by every subscriber it is written to; anything else is
// framed in a pooled buffer.
func (c *conn) TryWrite(items []wire.Item) (rest bool, err error) {
	if len(items) == 1 && items[0].Merged == 0 && items[0].WS != nil {
		return c.w.TryWrite(items[0].WS, nil)
	}
	bp := socket.Buffer()
	b := *bp
	if cap(b) < wire.WSHeadroom {
		b = make([]byte, 0, 2<<10)
	}
	b = wire.AppendLines(b[:wire.WSHeadroom], items)
	*bp = b
	return c.w.TryWrite(wire.WSText(b), bp)
}

// WriteRest writes what TryWrite left.
func (c *conn) WriteRest(context.Context) error { return c.w.WriteRest() }

// Heartbeat pings and waits for the pong, on the heartbeat timer's own
// goroutine, so writes go on meanwhile; a pong that does not come in time
// closes the connection, which ends the reader and so the session.
func (c *conn) Heartbeat(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, c.pingTimeout)
	defer cancel()
	err := c.c.Ping(pctx)
	if err != nil {
		c.c.CloseNow()
	}
	return err
}

// brokeProtocol reports whether a read failed because the client broke
// the WebSocket protocol, rather than because a side closed or the
// network failed. The library sends 1002 itself for most breaches, but
// for an unmasked client frame it only returns the error; closing again
// after it has sent a close frame sends nothing more.
func brokeProtocol(err error) bool {
	var ne net.Error
	return websocket.CloseStatus(err) == -1 && !errors.Is(err, net.ErrClosed) &&
		!errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &ne) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// closeWait bounds how long a close we start, for a breach or a slow
// consumer, waits for the client's close frame: the client is already
// misbehaving, and the library would read and drop its data meanwhile.
const closeWait = time.Second

// closeProtocol closes with 1002 and the breach. The close frame goes out
// at once; the client's answer is awaited for closeWait at most.
func (c *conn) closeProtocol(breach error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(closeWait))
	code, text := wire.ProtocolClose(breach)
	c.c.Close(websocket.StatusCode(code), text)
}

// End closes with the code the error table gives the reason, which tells
// the client what to do next; a connection that failed or whose client
// went is just closed.
func (c *conn) End(reason error) {
	if reason == nil {
		c.c.CloseNow()
		return
	}
	code, text := wire.CloseFor(reason)
	if errors.Is(reason, wire.ErrSlowConsumer) {
		// Its client may not read, or send faster than it is served:
		// waiting for its close, the library reads and drops whatever it
		// sends, at any speed, for up to 5 s. A client that reads answers
		// within closeWait.
		_ = c.nc.SetReadDeadline(time.Now().Add(closeWait))
	}
	c.c.Close(websocket.StatusCode(code), text)
}
