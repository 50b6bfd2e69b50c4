package bench

import (
	"fmt"
	"syscall"
)

// File descriptors kept aside beyond one per connection: the process's own
// files, the NATS connections, the metrics and publishing clients. A
// gateway also holds its embedded NATS server's files and sockets.
const (
	clientReserve = 64
	serverReserve = 256
)

// LimitError is Run's refusal to start when the subscribers asked for
// would need more open files than RLIMIT_NOFILE allows. It wraps ErrLimit.
type LimitError struct {
	// Subscribers is how many were asked for.
	Subscribers int
	// Need is how many open files the run would need in the tightest
	// process; Limit is what that process may have.
	Need, Limit uint64
	// Max is how many subscribers fit under Limit.
	Max int
	// InProcess is set when the server shares the bench's process, which
	// then holds both ends of every connection.
	InProcess bool
	// Server is set when the limit is the spawned server's.
	Server bool
}

// Error says what was asked, what fits and what to do.
func (e *LimitError) Error() string {
	who := "this process"
	if e.Server {
		who = "the spawned server"
	}
	msg := fmt.Sprintf("refusing to start: %d subscribers need about %d open files in %s, but its open-file limit (RLIMIT_NOFILE) is %d, so at most %d subscribers fit",
		e.Subscribers, e.Need, who, e.Limit, e.Max)
	if e.InProcess {
		msg += " with the in-process server, which holds the server's end of every connection too (--spawn runs the server in a process of its own)"
	}
	return msg + "; ask for fewer or raise the limit (ulimit -n)"
}

// Unwrap returns ErrLimit.
func (e *LimitError) Unwrap() error { return ErrLimit }

// nofile returns the soft and hard RLIMIT_NOFILE. Go raises the soft limit
// to the hard one at start, and a child process may do the same.
func nofile() (soft, hard uint64, err error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, err
	}
	return rl.Cur, rl.Max, nil
}

// checkLimits refuses a run whose connections would not fit: n client
// connections in this process, plus the server's end of each when the
// server runs in it too; a spawned server must fit its own (inherited)
// limit.
func checkLimits(n int, mode serverMode) error {
	soft, hard, err := nofile()
	if err != nil {
		return fmt.Errorf("read RLIMIT_NOFILE: %w", err)
	}
	return limitCheck(n, mode, soft, hard)
}

func limitCheck(n int, mode serverMode, soft, hard uint64) error {
	need := uint64(n) + clientReserve
	perConn, reserve, limit := uint64(1), uint64(clientReserve), soft
	if mode == modeInProcess {
		need += uint64(n) + serverReserve
		perConn, reserve = 2, clientReserve+serverReserve
	}
	if need > limit {
		return &LimitError{Subscribers: n, Need: need, Limit: limit, Max: fit(limit, reserve, perConn), InProcess: mode == modeInProcess}
	}
	if mode == modeSpawn {
		if sneed := uint64(n) + serverReserve; sneed > hard {
			return &LimitError{Subscribers: n, Need: sneed, Limit: hard, Max: fit(hard, serverReserve, 1), Server: true}
		}
	}
	return nil
}

func fit(limit, reserve, perConn uint64) int {
	if limit <= reserve {
		return 0
	}
	return int((limit - reserve) / perConn)
}
