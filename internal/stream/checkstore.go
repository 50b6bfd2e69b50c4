package stream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrStoreFailed marks a CheckStore failure the server answered: the
// stream's store refused (or the stream is gone), as opposed to no answer.
var ErrStoreFailed = errors.New("the stream's store refused")

// CheckStore asks the stream's own store to do a write that changes
// nothing: purge a subject no update is ever stored under. A JetStream file
// store that failed one write (a file limit hit while it synced, a full
// disk) latches the error, refuses every later write and answers no
// publish, while stream info still succeeds; a purge returns that latched
// error at once. On a cluster the purge goes through the stream's
// replicated log, so it also proves a quorum. Nothing is added to the
// stream: no sequence, nothing for followers.
func (s *Stream) CheckStore(ctx context.Context) error {
	err := s.st.Purge(ctx, jetstream.WithPurgeSubject(s.probeSubject()))
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return fmt.Errorf("%w: %w", ErrStoreFailed, err)
	}
	return err
}

// probeSubject is under the stream's subjects, so its store handles the
// purge, but it is no topic's subject: '$' is not allowed in a topic.
func (s *Stream) probeSubject() string { return s.prefix + "$probe" }
