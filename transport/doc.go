// Package transport is the delivery core every transport shares: the hub,
// which follows the stream, keeps the latest value of every topic and a ring
// of recent updates, and fans each update out to the sessions whose patterns
// match it; and the session, one per subscriber, with one bounded queue.
//
// Each update is encoded once, when the hub receives it, and the same bytes
// go to every subscriber. A transport (the ws, sse and poll packages) is a
// thin adapter: it takes what the session has queued and frames it.
package transport
