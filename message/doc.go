// Package message is Tickerd's data model as the product contract states it:
// topics and topic patterns, the two kinds of update, the opaque cursor that
// marks a position in the stream, and the wire encoding of an update.
//
// Everything here is pure: no I/O, no goroutines. The feeds, the NATS stream
// adapter, the hub and the HTTP API all speak in these types.
package message
