package transport

import (
	"context"

	"github.com/tickerd/tickerd/transport/wire"
)

// Conn is the part of a transport that differs from the others: how
// messages are framed and written, how liveness is shown, how an end is
// told. The session's writer calls Write and End, one call at a time, and
// its heartbeat timer may call Heartbeat while a Write runs.
type Conn interface {
	// Write frames the items and writes them in one go.
	Write(ctx context.Context, items []wire.Item) error
	// Heartbeat checks the path to the subscriber, every heartbeat
	// interval, busy or not; it fails, and closes the connection, when the
	// path is found dead. What a quiet subscriber sees is the ping message
	// (wire.Ping), which the writer queues like any other.
	Heartbeat(ctx context.Context) error
	// End tells the subscriber why its session ended and closes the
	// connection. reason is an error of the contract's table (see
	// wire.Lookup), or nil when the connection itself failed or its
	// subscriber went.
	End(reason error)
}

// TryConn is a Conn that can write without waiting for its subscriber (a
// socket.Writer over a connection of its own, as CanTry reports). The writers of such Conns
// take turns on a fixed pool of goroutines (pool.go) instead of starting
// one each time something is queued; a Conn that may wait on every write
// (TLS, HTTP/2) gets a writer goroutine of its own. When TryWrite reports
// a rest, the writer leaves the pool and calls WriteRest from a goroutine
// of its own, so that a stalled subscriber never holds the pool up.
type TryConn interface {
	Conn
	// TryWrite frames and writes the items as Write does, but only as much
	// as the connection takes at once; it reports whether some is left,
	// which the Conn keeps until WriteRest.
	TryWrite(items []wire.Item) (rest bool, err error)
	// WriteRest writes what TryWrite left, waiting for the subscriber at
	// most the write timeout.
	WriteRest(ctx context.Context) error
	// CanTry reports whether TryWrite writes without waiting on this
	// connection (over TLS it cannot); when it does not, the writer runs
	// on a goroutine of its own.
	CanTry() bool
}
