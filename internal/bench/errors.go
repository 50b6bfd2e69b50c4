package bench

import "errors"

// Errors Run returns, or wraps, for the callers that tell them apart.
var (
	// ErrOptions wraps every complaint about the options.
	ErrOptions = errors.New("bad bench options")
	// ErrLimit is the refusal to start a run whose connections would not
	// fit the open-file limit; the *LimitError that wraps it says by how
	// much.
	ErrLimit = errors.New("too many subscribers for the open-file limit")
	// ErrServer wraps failures to start, reach or read the measured
	// gateway.
	ErrServer = errors.New("bench server")
	// ErrLost is what Result.Err wraps when a connected subscriber missed
	// an update it was owed.
	ErrLost = errors.New("updates lost")
	// ErrDisorder is what Result.Err wraps when updates arrived out of
	// order or twice.
	ErrDisorder = errors.New("updates out of order or duplicated")
	// ErrConnect is what Result.Err wraps when subscribers failed to
	// connect or were disconnected before the bench was done.
	ErrConnect = errors.New("subscribers failed or were dropped")
)
