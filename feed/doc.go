// Package feed holds Tickerd's ingesters: the stock and sports simulators
// that keep the demo alive. Every ingester publishes through one seam, the
// Publisher, which the NATS stream adapter implements.
//
// Each simulator is a deterministic core driven by an explicit clock: Step
// advances it to a given time and returns the updates that happened, using
// only the *rand.Rand it was given. Run drives Step from the wall clock and
// publishes what it returns. Tests drive Step with a fake clock instead, so
// hours of simulated trading or a season of games run in milliseconds and
// the same seed always gives the same updates.
package feed
