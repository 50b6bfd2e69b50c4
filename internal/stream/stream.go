package stream

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tickerd/tickerd/message"
)

// Headers that carry what the NATS message body (the update's data) does not.
const (
	HeaderKind = "Tickerd-Kind"
	HeaderTime = "Tickerd-Time"
)

// Stream is an open JetStream stream. It is safe for concurrent use.
type Stream struct {
	js     jetstream.JetStream
	st     jetstream.Stream
	opts   Options
	prefix string // SubjectPrefix + "."
	epoch  uint64
	log    *slog.Logger

	followers followers
	following atomic.Pointer[followState] // nil until a Follow began
}

// Open creates the stream, or updates its retention if it exists, on the
// NATS connection nc.
func Open(ctx context.Context, nc *nats.Conn, opts Options, log *slog.Logger) (*Stream, error) {
	opts = opts.withDefaults()
	if err := message.ValidateTopic(opts.SubjectPrefix); err != nil {
		return nil, fmt.Errorf("subject prefix %q: %w", opts.SubjectPrefix, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	storage := jetstream.FileStorage
	if opts.Memory {
		storage = jetstream.MemoryStorage
	}
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              opts.Name,
		Description:       "Tickerd ticker updates",
		Subjects:          []string{opts.SubjectPrefix + ".>"},
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxAge:            opts.MaxAge,
		MaxMsgsPerSubject: opts.MaxPerTopic,
		Storage:           storage,
		Replicas:          opts.Replicas,
		Duplicates:        opts.DedupWindow,
		AllowDirect:       true,
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", opts.Name, err)
	}
	return newStream(js, st, opts, log), nil
}

// Attach opens the stream named by opts.Name as it is, without creating it
// or changing its settings: for tools, such as the bench, that publish into
// a deployment they do not own. Its subject prefix and per-topic limit are
// read from the stream.
func Attach(ctx context.Context, nc *nats.Conn, opts Options, log *slog.Logger) (*Stream, error) {
	opts = opts.withDefaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	st, err := js.Stream(ctx, opts.Name)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", opts.Name, err)
	}
	cfg := st.CachedInfo().Config
	if len(cfg.Subjects) != 1 || !strings.HasSuffix(cfg.Subjects[0], ".>") {
		return nil, fmt.Errorf("stream %s has subjects %q, not one prefix.>", opts.Name, cfg.Subjects)
	}
	opts.SubjectPrefix = strings.TrimSuffix(cfg.Subjects[0], ".>")
	opts.MaxPerTopic = cfg.MaxMsgsPerSubject
	return newStream(js, st, opts, log), nil
}

func newStream(js jetstream.JetStream, st jetstream.Stream, opts Options, log *slog.Logger) *Stream {
	if log == nil {
		log = slog.Default()
	}
	return &Stream{
		js:     js,
		st:     st,
		opts:   opts,
		prefix: opts.SubjectPrefix + ".",
		// The creation time tells one incarnation of the stream from the
		// next: a stream deleted and made again restarts its sequences.
		epoch: uint64(st.CachedInfo().Created.UnixNano()),
		log:   log,
	}
}

// Name is the JetStream stream's name.
func (s *Stream) Name() string { return s.opts.Name }

// Memory reports whether the stream is kept in memory rather than on disk.
func (s *Stream) Memory() bool { return s.opts.Memory }

// Epoch identifies this incarnation of the stream in cursors.
func (s *Stream) Epoch() uint64 { return s.epoch }

// Bounds returns the first and last sequence the stream holds now. A
// stream that never held anything has both 0; one emptied by retention has
// first == last+1.
func (s *Stream) Bounds(ctx context.Context) (first, last uint64, err error) {
	info, err := s.st.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	return info.State.FirstSeq, info.State.LastSeq, nil
}

// Publish stores one update and waits for JetStream's acknowledgement.
func (s *Stream) Publish(ctx context.Context, u message.Update) error {
	_, err := s.PublishSeq(ctx, u)
	return err
}

// PublishSeq is Publish returning the stream sequence the update got.
func (s *Stream) PublishSeq(ctx context.Context, u message.Update) (uint64, error) {
	m, err := s.natsMsg(u)
	if err != nil {
		return 0, err
	}
	ack, err := s.js.PublishMsg(ctx, m)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil // a duplicate's is the original's
}

// PublishBatch stores updates in order, sending them all before waiting
// for the acknowledgements, and returns the sequence of the last. On error
// it says how many were stored (the first n of them).
func (s *Stream) PublishBatch(ctx context.Context, us []message.Update) (last uint64, n int, err error) {
	last, n, _, err = s.Store(ctx, us)
	return last, n, err
}

// Store is PublishBatch saying also how many of the updates the stream
// already held (dup: the same ID within its duplicate window), and so did
// not store again; n counts them among the stored. last is the highest
// sequence acknowledged: a duplicate's is that of the copy stored first.
func (s *Stream) Store(ctx context.Context, us []message.Update) (last uint64, n, dup int, err error) {
	futures := make([]jetstream.PubAckFuture, 0, len(us))
	for _, u := range us {
		m, err := s.natsMsg(u)
		if err == nil {
			var f jetstream.PubAckFuture
			if f, err = s.js.PublishMsgAsync(m); err == nil {
				futures = append(futures, f)
				continue
			}
		}
		// Stop sending; what was sent is still acknowledged below.
		last, n, dup, _ = s.await(ctx, futures)
		return last, n, dup, err
	}
	return s.await(ctx, futures)
}

func (s *Stream) await(ctx context.Context, futures []jetstream.PubAckFuture) (last uint64, n, dup int, err error) {
	for _, f := range futures {
		select {
		case ack := <-f.Ok():
			last = max(last, ack.Sequence)
			n++
			if ack.Duplicate {
				dup++
			}
		case err := <-f.Err():
			return last, n, dup, err
		case <-ctx.Done():
			return last, n, dup, ctx.Err()
		}
	}
	return last, n, dup, nil
}

func (s *Stream) natsMsg(u message.Update) (*nats.Msg, error) {
	if err := message.ValidateTopic(u.Topic); err != nil {
		return nil, err
	}
	m := nats.NewMsg(s.prefix + u.Topic)
	m.Data = u.Data
	m.Header.Set(HeaderKind, u.Kind.String())
	m.Header.Set(HeaderTime, u.Time.UTC().Format(timeHeaderLayout))
	if u.ID != "" {
		if err := message.ValidateID(u.ID); err != nil {
			return nil, err
		}
		m.Header.Set(jetstream.MsgIDHeader, u.ID)
	}
	return m, nil
}

const timeHeaderLayout = "2006-01-02T15:04:05.000000000Z"

// decode turns a stored message into an update. A message published to the
// stream's subjects by something other than Tickerd may lack the headers:
// it is then a state update stamped with its storage time.
func (s *Stream) decode(m jetstream.Msg) (message.Update, error) {
	meta, err := m.Metadata()
	if err != nil {
		return message.Update{}, err
	}
	u := message.Update{
		Topic: strings.TrimPrefix(m.Subject(), s.prefix),
		Kind:  message.State,
		Data:  m.Data(),
		Time:  meta.Timestamp,
		Seq:   meta.Sequence.Stream,
	}
	h := m.Headers()
	if k, err := message.ParseKind(h.Get(HeaderKind)); err == nil {
		u.Kind = k
	}
	if t := h.Get(HeaderTime); t != "" {
		if pt, err := parseTime(t); err == nil {
			u.Time = pt
		}
	}
	data, ok := compactJSON(u.Data)
	if message.ValidateTopic(u.Topic) != nil || !ok {
		return u, fmt.Errorf("stream message %d on %q is not a valid update", u.Seq, m.Subject())
	}
	u.Data = data
	return u, nil
}
