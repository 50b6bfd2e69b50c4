package gateway

import (
	"context"
	"errors"
	"sync"

	"github.com/tickerd/tickerd/internal/stream"
	"github.com/tickerd/tickerd/message"
)

// health is the gateway's latest word on whether a publish would succeed:
// the outcome of the probe or the publish that ended last, except that a
// probe's success does not clear a publish failure that came while the
// probe ran: the probe may have looked before the failure.
type health struct {
	mu  sync.Mutex
	err error
	gen uint64 // counts recorded outcomes
}

func (h *health) get() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// probing is called as a probe starts; it returns the mark to hand to probed.
func (h *health) probing() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gen
}

// probed records the outcome of the probe that started at mark.
func (h *health) probed(mark uint64, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil && h.gen != mark && h.err != nil {
		return
	}
	h.setLocked(err)
}

// published records a publish's outcome. One its caller gave up on (a
// client that left, a feed that stopped) or refused for its content says
// nothing about JetStream.
func (h *health) published(err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, message.ErrBadTopic) || errors.Is(err, message.ErrBadID) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setLocked(err)
}

func (h *health) setLocked(err error) {
	h.err = err
	h.gen++
}

// watchedStream is the stream as the gateway's publishers (the API and
// the feeds) use it: every publish's outcome is readiness's latest word.
type watchedStream struct {
	s *stream.Stream
	h *health
}

func (w watchedStream) Publish(ctx context.Context, u message.Update) error {
	err := w.s.Publish(ctx, u)
	w.h.published(err)
	return err
}

func (w watchedStream) Store(ctx context.Context, us []message.Update) (uint64, int, int, error) {
	last, n, dup, err := w.s.Store(ctx, us)
	w.h.published(err)
	return last, n, dup, err
}
