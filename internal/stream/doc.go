// Package stream is the adapter between Tickerd and NATS JetStream: one
// stream holds every topic under a subject prefix with bounded retention.
// Feeds publish into it; each gateway follows it from the latest value of
// every topic onwards and replays older positions from it on resume.
package stream
