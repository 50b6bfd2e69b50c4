package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickerd/tickerd/message"
)

const replayBatch = 512

// Replay delivers, in stream order, the stored updates after sequence after
// on topics matching patterns, until fn returns false or the stream has no
// more. It reads what is stored now and does not wait for new updates.
func (s *Stream) Replay(ctx context.Context, after uint64, patterns []string, fn func(message.Update) bool) error {
	if len(patterns) == 0 {
		return nil
	}
	cons, err := s.st.CreateConsumer(ctx, jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       after + 1,
		FilterSubjects:    s.filters(patterns),
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
		Replicas:          1,
	})
	if err != nil {
		return fmt.Errorf("replay from %d: %w", after, err)
	}
	name := cons.CachedInfo().Name
	defer func() {
		// A consumer left behind expires by InactiveThreshold anyway.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.st.DeleteConsumer(dctx, name)
	}()
	if cons.CachedInfo().NumPending == 0 {
		return nil
	}
	for {
		batch, err := cons.FetchNoWait(replayBatch)
		if err != nil {
			return fmt.Errorf("replay from %d: %w", after, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return err
			}
			u, err := s.decode(m)
			if err != nil {
				s.log.Warn("skipping stream message", "err", err)
			} else if matchAny(patterns, u.Topic) && !fn(u) {
				return nil
			}
			if meta.NumPending == 0 {
				return nil
			}
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("replay from %d: %w", after, err)
		}
		if n == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// filters are the subject filters that read the patterns' topics, each
// once: JetStream refuses overlapping filters, so overlapping patterns
// read everything, to be filtered here with matchAny.
func (s *Stream) filters(patterns []string) []string {
	if message.Overlapping(patterns) {
		return []string{s.prefix + ">"}
	}
	filters := make([]string, 0, len(patterns))
	for _, p := range patterns {
		filters = append(filters, s.prefix+p)
	}
	return filters
}

func matchAny(patterns []string, topic string) bool {
	for _, p := range patterns {
		if message.Match(p, topic) {
			return true
		}
	}
	return false
}
