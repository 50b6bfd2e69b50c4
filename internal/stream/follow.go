package stream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickerd/tickerd/message"
)

// Follow delivers the latest update of every topic the stream holds, then
// every newer update, in stream order, to onUpdate, until ctx is done.
//
// onCaughtUp is called once, when the latest values are all delivered, with
// the floor: every update after floor is delivered from then on with none
// skipped, so positions above it can be served without asking the stream.
// With after > 0, Follow instead delivers every update after that sequence
// and reports being caught up at once: that is how a follower that failed
// goes on where it was. Both callbacks run on Follow's goroutine.
func (s *Stream) Follow(ctx context.Context, after uint64, onUpdate func(message.Update), onCaughtUp func(floor uint64)) error {
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer s.followers.add(cancel)()
	err := s.follow(fctx, after, onUpdate, onCaughtUp)
	if cause := context.Cause(fctx); errors.Is(cause, ErrRefollow) && ctx.Err() == nil {
		return cause
	}
	return err
}

func (s *Stream) follow(ctx context.Context, after uint64, onUpdate func(message.Update), onCaughtUp func(floor uint64)) error {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.prefix + ">"},
		DeliverPolicy:  jetstream.DeliverLastPerSubjectPolicy,
	}
	caughtUp := false
	if after > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = after + 1
		onCaughtUp(after)
		caughtUp = true
	} else if info, err := s.st.Info(ctx); err != nil {
		return err
	} else if info.State.Msgs == 0 {
		// Nothing to load: follow from the next sequence exactly, so that
		// updates stored in the meantime are not folded into their latest.
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = info.State.LastSeq + 1
		onCaughtUp(info.State.LastSeq)
		caughtUp = true
	}
	cons, err := s.st.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("follow stream: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1024))
	if err != nil {
		return fmt.Errorf("follow stream: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return ctx.Err()
			}
			return fmt.Errorf("follow stream: %w", err)
		}
		u, err := s.decode(m)
		if err != nil {
			s.log.Warn("skipping stream message", "err", err)
		} else {
			onUpdate(u)
		}
		if !caughtUp {
			if meta, err := m.Metadata(); err == nil && meta.NumPending == 0 {
				caughtUp = true
				onCaughtUp(meta.Sequence.Stream)
			}
		}
	}
}
