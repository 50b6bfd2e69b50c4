package transport

import "context"

// Conn is the part of a streaming transport that differs from the others:
// how messages are framed and written, how liveness is shown, how an end is
// told.
type Conn interface {
	// Write frames the items and writes them in one go.
	Write(ctx context.Context, items []Item) error
	// Heartbeat shows the subscriber that the connection is alive.
	Heartbeat(ctx context.Context) error
	// End tells the subscriber why its session ended and closes the
	// connection. reason is nil when the connection itself failed.
	End(reason error)
}
