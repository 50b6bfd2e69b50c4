package stream

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// Retained reports whether the stream still holds every message after
// sequence after on topics matching patterns. Messages leave from the
// stream's front (MaxAge) and from each topic's front (MaxPerTopic); the
// second can take messages after a cursor while older ones of quieter
// topics stay, so the stream's first sequence does not tell. A topic at its
// limit whose oldest stored message is later than after+1 may have lost
// some after the cursor, and counts as not retained.
func (s *Stream) Retained(ctx context.Context, after uint64, patterns []string) (bool, error) {
	info, err := s.st.Info(ctx)
	if err != nil {
		return false, err
	}
	first := info.State.FirstSeq
	if after+1 < first {
		return false, nil
	}
	if s.opts.MaxPerTopic <= 0 {
		return true, nil // no per-topic limit
	}
	for _, p := range patterns {
		info, err := s.st.Info(ctx, jetstream.WithSubjectFilter(s.prefix+p))
		if err != nil {
			return false, err
		}
		for subject, n := range info.State.Subjects {
			if n < uint64(s.opts.MaxPerTopic) {
				continue
			}
			m, err := s.st.GetMsg(ctx, first, jetstream.WithGetMsgSubject(subject))
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue // gone meanwhile: the next check sees it
			}
			if err != nil {
				return false, err
			}
			if m.Sequence > after+1 {
				return false, nil
			}
		}
	}
	return true, nil
}
