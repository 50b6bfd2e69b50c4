package embednats

import (
	"errors"
	"fmt"
	"os"

	"github.com/nats-io/nats-server/v2/server"
)

// JetStreamHealth asks the server's own health check whether JetStream
// can store into stream now: JetStream enabled, the stream loaded, and no
// write error latched in its store. A store that failed a write (an open
// file limit hit while it synced, a full disk) refuses every later write
// and answers no publish, while stream info requests still succeed: only
// this check tells. It reads the store directory, so while the process has
// no file descriptor left it fails too, which is the truth then as well.
// An empty stream (a memory stream has no directory) checks JetStream only.
func (s *Server) JetStreamHealth(stream string) error {
	opts := &server.HealthzOptions{JSEnabledOnly: stream == "", Details: true}
	if stream != "" {
		opts.Account, opts.Stream = server.DEFAULT_GLOBAL_ACCOUNT, stream
	}
	var errs []error
	for range healthTries {
		h := s.ns.Healthz(opts)
		errs = errs[:0]
		unchecked, notStoring := false, false
		for _, e := range h.Errors {
			errs = append(errs, errors.New(e.Error))
			switch e.Type {
			case server.HealthzErrorConn:
				// The check first waits at most 1 ms for the server to be
				// ready for connections, which a busy machine can miss;
				// the server was ready at Start and stays so.
				unchecked = true
			case server.HealthzErrorJetStream, server.HealthzErrorStream:
				notStoring = true
			}
		}
		if len(errs) == 0 && h.StatusCode >= 300 {
			errs = append(errs, fmt.Errorf("JetStream health status %d", h.StatusCode))
		}
		switch {
		case notStoring:
			return fmt.Errorf("%w: %w", ErrNotStoring, errors.Join(errs...))
		case !unchecked:
			return errors.Join(errs...)
		}
	}
	return fmt.Errorf("%w: %w", ErrUnchecked, errors.Join(errs...))
}

// Errors of JetStreamHealth. Others mean it could not tell, as when the
// store directory cannot be read.
var (
	// ErrNotStoring: JetStream is disabled, or the stream is not loaded or
	// its store latched a write error; RestartJetStream cures these.
	ErrNotStoring = errors.New("JetStream cannot store")
	// ErrUnchecked: the health check did not get to look at JetStream.
	ErrUnchecked = errors.New("JetStream health not checked")
)

// healthTries bounds how often JetStreamHealth asks again when the health
// check did not get to look at JetStream.
const healthTries = 10

// RestartJetStream stops JetStream and starts it again on the same
// directory: each stream's store is opened afresh, which clears a latched
// write error, and a JetStream the server disabled itself comes back.
// Clients stay connected, but every consumer is gone: followers must
// follow again. It refuses while fewer than restartFiles file descriptors
// are free, since recovering the streams then fails half-way.
func (s *Server) RestartJetStream() error {
	s.jsMu.Lock()
	defer s.jsMu.Unlock()
	if err := freeFiles(restartFiles); err != nil {
		return err
	}
	if err := s.ns.ShutdownJetStream(); err != nil {
		return fmt.Errorf("stop JetStream: %w", err)
	}
	// nats-server puts its "jetstream" directory under the one it is
	// given, as at Start.
	if err := s.ns.EnableJetStream(&server.JetStreamConfig{StoreDir: s.dir}); err != nil {
		return fmt.Errorf("start JetStream: %w", err)
	}
	return nil
}

// ErrNoFreeFiles is returned by RestartJetStream while the process cannot
// open the files a restart needs.
var ErrNoFreeFiles = errors.New("too few free file descriptors to restart JetStream")

// restartFiles is the headroom RestartJetStream wants: a stream's
// recovery opens its metadata, state and block files.
const restartFiles = 32

// freeFiles reports whether n more files can be opened now, by opening
// them: the only count that holds whatever else the process has open.
func freeFiles(n int) error {
	fs := make([]*os.File, 0, n)
	defer func() {
		for _, f := range fs {
			_ = f.Close()
		}
	}()
	for range n {
		f, err := os.Open(os.DevNull)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNoFreeFiles, err)
		}
		fs = append(fs, f)
	}
	return nil
}
