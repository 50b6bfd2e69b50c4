package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickerd/tickerd/message"
)

// How a Follow notices a lost consumer and makes a new one.
const (
	// FollowHeartbeat is how often the server tells an idle consumer it is
	// there. Two missed, the client makes a new consumer: a consumer on
	// a node that died is replaced within 2 s, where the client's default
	// (5 s) took 10.
	FollowHeartbeat = time.Second
	// followAttempt bounds one attempt to make the consumer: a stream with
	// no leader (one being elected) may not answer at all.
	followAttempt = 2 * time.Second
	// followRetry spaces the attempts, jittered: the stream is back as
	// soon as it has a leader, and one attempt a few times a second costs
	// the cluster nothing.
	followRetry = 250 * time.Millisecond
	// followLogEvery bounds how often a Follow that keeps failing to make
	// its consumer logs.
	followLogEvery = 5 * time.Second
)

// ErrNotFollowing is what Following says while no Follow reads the stream.
var ErrNotFollowing = errors.New("not following the stream")

// Follow delivers the latest update of every topic the stream holds, then
// every newer update, in stream order, to onUpdate, until ctx is done.
//
// onCaughtUp is called once, when the latest values are all delivered, with
// the floor: every update after floor is delivered from then on with none
// skipped, so positions above it can be served without asking the stream.
// With after > 0, Follow instead delivers every update after that sequence
// and reports being caught up at once: that is how a follower that failed
// goes on where it was. Both callbacks run on Follow's goroutine.
//
// Until the stream answers, Follow keeps trying to start reading it, a
// few times a second, logging at warn. Once reading, it returns when the
// reading fails for good (its consumer lost, and a new one could not be
// made at once): its caller follows again from where it was.
func (s *Stream) Follow(ctx context.Context, after uint64, onUpdate func(message.Update), onCaughtUp func(floor uint64)) error {
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer s.followers.add(cancel)()
	err := s.follow(fctx, after, onUpdate, onCaughtUp)
	s.following.Store(&followState{err: fmt.Errorf("%w: %w", ErrNotFollowing, errOr(err, context.Cause(fctx)))})
	if cause := context.Cause(fctx); errors.Is(cause, ErrRefollow) && ctx.Err() == nil {
		return cause
	}
	return err
}

// Following is nil while a Follow reads the stream, else why none does.
func (s *Stream) Following() error {
	if st := s.following.Load(); st != nil {
		return st.err
	}
	return ErrNotFollowing
}

type followState struct{ err error }

func (s *Stream) follow(ctx context.Context, after uint64, onUpdate func(message.Update), onCaughtUp func(floor uint64)) error {
	it, floor, caughtUp, err := s.startReading(ctx, after)
	if err != nil {
		return err
	}
	s.following.Store(&followState{})
	if caughtUp {
		onCaughtUp(floor)
	}
	msgs, failed := readAhead(ctx, it)
	for {
		var m jetstream.Msg
		select {
		case m = <-msgs:
		case err := <-failed:
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return ctx.Err()
			}
			return fmt.Errorf("follow stream: %w", err)
		case <-ctx.Done():
			return ctx.Err()
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

// readAhead reads it on a goroutine of its own until ctx ends, when it
// stops it. The client may hold a Next for as long as a request to make
// a new consumer takes (up to 10 s, when the stream has no leader) and
// Stop waits for that too: read here, a Follow that is asked to follow
// again, or whose context ends, returns at once regardless.
func readAhead(ctx context.Context, it jetstream.MessagesContext) (<-chan jetstream.Msg, <-chan error) {
	msgs, failed := make(chan jetstream.Msg, 256), make(chan error, 1)
	go func() {
		defer context.AfterFunc(ctx, it.Stop)()
		for {
			m, err := it.Next()
			if err != nil {
				failed <- err
				it.Stop()
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				it.Stop()
				return
			}
		}
	}()
	return msgs, failed
}

// startReading makes the consumer Follow reads, retrying until it is made
// or ctx ends. With caughtUp, Follow is caught up at floor before the
// first message.
func (s *Stream) startReading(ctx context.Context, after uint64) (it jetstream.MessagesContext, floor uint64, caughtUp bool, err error) {
	began, logged := time.Now(), time.Time{}
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, followAttempt)
		it, floor, caughtUp, err = s.reader(actx, after)
		cancel()
		if err == nil {
			if n > 1 {
				s.log.Warn("following the stream again", "attempts", n, "took", time.Since(began).Round(time.Millisecond))
			}
			return it, floor, caughtUp, nil
		}
		if ctx.Err() != nil {
			return nil, 0, false, ctx.Err()
		}
		s.following.Store(&followState{err: fmt.Errorf("%w: %w", ErrNotFollowing, err)})
		if time.Since(logged) >= followLogEvery {
			logged = time.Now()
			s.log.Warn("cannot read the stream yet; retrying", "err", err, "attempts", n, "for", time.Since(began).Round(time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return nil, 0, false, ctx.Err()
		case <-time.After(followRetry/2 + rand.N(followRetry/2)):
		}
	}
}

// reader makes one attempt at the consumer Follow reads, in ctx.
func (s *Stream) reader(ctx context.Context, after uint64) (it jetstream.MessagesContext, floor uint64, caughtUp bool, err error) {
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.prefix + ">"},
		DeliverPolicy:  jetstream.DeliverLastPerSubjectPolicy,
		// When the consumer is lost, the client makes a new one once; if
		// that fails, Next fails, and startReading retries at its own
		// pace rather than the client's (1 s, doubling to 10 s).
		MaxResetAttempts: 1,
	}
	if after > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = after + 1
		floor, caughtUp = after, true
	} else if info, err := s.st.Info(ctx); err != nil {
		return nil, 0, false, err
	} else if info.State.Msgs == 0 {
		// Nothing to load: follow from the next sequence exactly, so that
		// updates stored in the meantime are not folded into their latest.
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = info.State.LastSeq + 1
		floor, caughtUp = info.State.LastSeq, true
	}
	cons, err := s.st.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, 0, false, fmt.Errorf("follow stream: %w", err)
	}
	it, err = cons.Messages(jetstream.PullMaxMessages(1024), jetstream.PullHeartbeat(FollowHeartbeat))
	if err != nil {
		return nil, 0, false, fmt.Errorf("follow stream: %w", err)
	}
	return it, floor, caughtUp, nil
}

func errOr(err, otherwise error) error {
	if err != nil {
		return err
	}
	if otherwise != nil {
		return otherwise
	}
	return context.Canceled
}
