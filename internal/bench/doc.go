// Package bench is Tickerd's load generator, the library behind
// `tickerd bench`. It opens many subscribers over one transport (or a mix
// of WebSocket, SSE and long polling), publishes numbered, timestamped
// updates at a steady rate through NATS JetStream, and measures what the
// subscribers get: deliveries per second, publish-to-receive latency,
// updates lost, out of order or duplicated, and what the server spends on
// it in CPU and memory.
//
// The server is a gateway started in this process (its figures then
// include the bench's clients), a `tickerd serve` child on free loopback
// ports (Spawn: its CPU and memory read from /proc/<pid> are its own, and
// its --admin-addr gives /metrics, profiles and a forced GC before memory
// is read),
// or a running gateway at a URL.
//
// Run refuses, before opening anything, a run whose connections would not
// fit the open-file limit (a *LimitError, wrapping ErrLimit). A Result's
// Err says whether anything was lost, reordered or dropped. Standard lists
// the standard scenarios; a Report writes their results as Markdown
// (docs/benchmarks.md).
//
// Latency is measured from a nanosecond send time the publisher puts in
// each update's data, not from the update's "time" field, which has
// millisecond precision.
package bench
