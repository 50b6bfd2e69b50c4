// Package sse is the Server-Sent Events transport: a thin adapter that
// writes a transport.Session's queue as an event stream.
//
// Each message is one event: "event:" is its type, "id:" its cursor when it
// has one (so a reconnecting EventSource sends Last-Event-ID and resumes),
// and one "data:" line of JSON. What is queued when the writer wakes goes
// out in one write.
//
// Over HTTP/1.x the handler takes the connection over and returns, so that
// an idle stream keeps no handler goroutine, request or net/http buffers:
// a writer runs only while something is queued (see hijack.go). Over HTTP/2
// the stream stays in the handler's call (stream.go).
package sse

import (
	"net/http"
	"time"

	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/wire"
)

// Options configure the SSE handler. Zero fields take the defaults.
type Options struct {
	// Heartbeat is how long a stream may stay quiet before it gets a ping
	// event (event: ping), so proxies keep it open and scripts can tell it
	// is alive. Default 25s.
	Heartbeat time.Duration
	// Retry is the reconnection delay suggested to EventSource. Default 2s.
	Retry time.Duration
	// ShutdownRetry is the delay suggested when the gateway shuts down:
	// short, since other gateways are up. Default 250ms.
	ShutdownRetry time.Duration
	// WriteTimeout bounds one write to a client. Default 10s.
	WriteTimeout time.Duration
}

// Defaults of Options.
const (
	DefaultHeartbeat     = 25 * time.Second
	DefaultRetry         = 2 * time.Second
	DefaultShutdownRetry = 250 * time.Millisecond
	DefaultWriteTimeout  = 10 * time.Second
)

func (o Options) withDefaults() Options {
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.Retry <= 0 {
		o.Retry = DefaultRetry
	}
	if o.ShutdownRetry <= 0 {
		o.ShutdownRetry = DefaultShutdownRetry
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	return o
}

// Handler serves GET /v1/sse.
type Handler struct {
	hub  *transport.Hub
	opts Options
}

// New returns the SSE handler over hub.
func New(hub *transport.Hub, opts Options) *Handler {
	return &Handler{hub: hub, opts: opts.withDefaults()}
}

// ServeHTTP streams the subscription until the client goes or the session
// ends. A request that cannot be served (no topics, a bad topic or cursor,
// topics it may not read) gets a JSON error instead of a stream, which
// EventSource does not retry.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := transport.PrincipalFrom(r.Context())
	req, err := wire.ParseRequest(r.URL.RawQuery, r.Header.Get("Last-Event-ID"), h.hub.MaxTopics())
	if err == nil {
		err = req.NeedTopics()
	}
	if err == nil {
		err = h.hub.Admit(r.Context(), p, req)
	}
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream; charset=utf-8")
	hdr.Set("Cache-Control", "no-cache, no-transform")
	hdr.Set("X-Accel-Buffering", "no")
	if r.ProtoMajor == 1 && h.serveHijacked(w, r, p, req) {
		return
	}
	h.serveStream(w, r, p, req)
}

// info describes an SSE connection to the hub.
func (h *Handler) info(p transport.Principal) transport.Info {
	return transport.Info{Transport: "sse", Principal: p, Heartbeat: h.opts.Heartbeat, Hello: true}
}
