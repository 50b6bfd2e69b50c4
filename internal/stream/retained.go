package stream

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Retained reports whether the stream still holds every message after
// sequence after on topics matching patterns. Messages leave from the
// stream's front (MaxAge) and from each topic's front (MaxPerTopic); the
// second can take messages after a cursor while older ones of quieter
// topics stay, so the stream's first sequence does not tell. A topic at its
// limit whose oldest stored message is later than after+1 may have lost
// some after the cursor, and counts as not retained.
//
// Looking at the topics is the costly part: the server lists every
// matching one, in time that grows with their number, and each at its
// limit costs a request. It is done only when neither of two cheap proofs
// that no topic lost anything holds (see perTopicLossPossible), and lists
// each topic once however the patterns overlap.
func (s *Stream) Retained(ctx context.Context, after uint64, patterns []string) (bool, error) {
	info, err := s.st.Info(ctx)
	if err != nil {
		return false, err
	}
	first := info.State.FirstSeq
	if after+1 < first {
		return false, nil
	}
	if possible, err := s.perTopicLossPossible(ctx, after, info.State.LastSeq); err != nil || !possible {
		return !possible, err
	}
	for _, f := range s.filters(patterns) {
		info, err := s.st.Info(ctx, jetstream.WithSubjectFilter(f))
		if err != nil {
			return false, err
		}
		for subject, n := range info.State.Subjects {
			if n < uint64(s.opts.MaxPerTopic) || !matchAny(patterns, strings.TrimPrefix(subject, s.prefix)) {
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

// perTopicLossPossible reports whether a topic's limit may have removed a
// message after sequence after, last being the stream's last sequence;
// when it returns false, none has.
//
// A topic loses a message m to its limit only once MaxPerTopic newer ones
// of it are stored, all after m; so with no more than MaxPerTopic messages
// after the cursor, none can have gone. Failing that, every removal after
// the cursor leaves a hole in the stream's sequence numbers there, so a
// stream that holds every sequence after the cursor lost none: a consumer
// from there counts them from the stream's index, without reading them.
func (s *Stream) perTopicLossPossible(ctx context.Context, after, last uint64) (bool, error) {
	if s.opts.MaxPerTopic <= 0 || after >= last || last-after <= uint64(s.opts.MaxPerTopic) {
		return false, nil
	}
	cons, err := s.st.CreateConsumer(ctx, jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       after + 1,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
		Replicas:          1,
	})
	if err != nil {
		return false, err
	}
	stored := cons.CachedInfo().NumPending
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	_ = s.st.DeleteConsumer(dctx, cons.CachedInfo().Name)
	cancel()
	// Counted after the consumer, the end can only have moved on, which
	// reads as a hole: the slow check then decides.
	info, err := s.st.Info(ctx)
	if err != nil {
		return false, err
	}
	return stored != info.State.LastSeq-after, nil
}
