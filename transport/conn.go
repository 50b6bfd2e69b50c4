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
	// Heartbeat shows the subscriber that the connection is alive.
	Heartbeat(ctx context.Context) error
	// End tells the subscriber why its session ended and closes the
	// connection. reason is an error of the contract's table (see
	// wire.Lookup), or nil when the connection itself failed or its
	// subscriber went.
	End(reason error)
}
