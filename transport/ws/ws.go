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
	// A pong the library reads (one that came amid a message) counts as
	// one the reader takes itself.
	pongs := make(chan struct{}, 1)
	c, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		OriginPatterns:     h.opts.OriginPatterns,
		InsecureSkipVerify: len(h.opts.OriginPatterns) == 0,
		CompressionMode:    websocket.CompressionDisabled,
		OnPongReceived:     func(context.Context, []byte) { signal(pongs) },
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
	wc := &conn{c: c, nc: hj.conn, w: hj.w, pingTimeout: h.opts.Heartbeat, pongs: pongs}
	wc.r = newReader(ctx, cancel, wc, h.opts.limiter(), hj.br, socket.Raw(hj.conn))
	wc.r.early = hj.early
	s := h.hub.Connect(ctx, wc, transport.Info{
		Transport: "ws",
		Principal: p,
		Heartbeat: h.opts.Heartbeat,
		Hello:     true,
		MaxFrame:  int(h.opts.MaxFrame),
	}, req, reqErr)
	wc.r.begin(s)
}

// errBinary answers a binary message: commands are text.
var errBinary = wire.ErrBadRequest.With("commands are JSON text messages")

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
	nc          net.Conn       // under c
	w           *socket.Writer // every frame the server sends
	r           *reader        // what the client sends
	pingTimeout time.Duration
	pongs       chan struct{} // a pong came
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

// CanTry is false over TLS, where every write may wait.
func (c *conn) CanTry() bool { return c.w.CanTry() }

// Heartbeat pings and waits for the pong, on the heartbeat timer's own
// goroutine, so writes go on meanwhile; a pong that does not come in time
// closes the connection. Any pong counts: one the client sent unasked
// shows the path alive as well.
func (c *conn) Heartbeat(ctx context.Context) error {
	select {
	case <-c.pongs: // one that came late for the last ping
	default:
	}
	if err := c.w.Write(pingFrame); err != nil {
		c.shut()
		return err
	}
	t := time.NewTimer(c.pingTimeout)
	defer t.Stop()
	select {
	case <-c.pongs:
		return nil
	case <-t.C:
		c.shut()
		return errNoPong
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pingFrame is the server's ping: final, no payload.
var pingFrame = []byte{0x89, 0}

// errNoPong is a heartbeat whose pong did not come in time.
var errNoPong = errors.New("no pong within the heartbeat")

// ponged tells the heartbeat a pong came.
func (c *conn) ponged() { signal(c.pongs) }

// signal sends on ch without waiting: one pending signal is enough.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// shut closes the connection at once and ends its reader, which a
// connection waiting in the poller would not tell.
func (c *conn) shut() {
	c.c.CloseNow()
	c.r.close()
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

// closeWait bounds how long a close we start waits for the client's
// close frame: a client that reads answers within it, and one that does
// not, or misbehaves, is not waited for longer.
const closeWait = time.Second

// closeProtocol fails the connection for a breach the library found but
// did not answer (an unmasked client frame): a close frame with 1002 and
// the breach, then the connection closes. Where the library has sent its
// close frame already, nothing more is sent.
func (c *conn) closeProtocol(breach error) {
	code, text := wire.ProtocolClose(breach)
	_ = c.w.WriteLast(closeFrame(code, text))
	c.shut()
}

// End closes with the code the error table gives the reason, which tells
// the client what to do next, and waits at most closeWait for the
// client's close frame (the reader reads it, and the library closes the
// connection); a connection that failed or whose client went is just
// closed.
func (c *conn) End(reason error) {
	if reason != nil {
		code, text := wire.CloseFor(reason)
		if c.w.WriteLast(closeFrame(code, text)) == nil {
			t := time.NewTimer(closeWait)
			select {
			case <-c.r.finished:
			case <-t.C:
			}
			t.Stop()
		}
	}
	c.shut()
}

// closeFrame is a server's close frame: final, unmasked, the code and as
// much of the reason as fits a control frame.
func closeFrame(code wire.CloseCode, reason string) []byte {
	const maxReason = 125 - 2
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	b := append(make([]byte, 0, 4+len(reason)), opClose, byte(2+len(reason)), byte(code>>8), byte(code))
	return append(b, reason...)
}
