//go:build race

package gateway

// raceEnabled: the race detector's shadow memory is in this process's RSS.
const raceEnabled = true
