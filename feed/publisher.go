package feed

import (
	"context"
	"errors"

	"github.com/tickerd/tickerd/message"
)

// Publisher stores updates in the stream. The NATS stream adapter implements it.
type Publisher interface {
	Publish(ctx context.Context, u message.Update) error
}

// ErrNoPublisher is returned by Run when it is given a nil Publisher.
var ErrNoPublisher = errors.New("feed: no publisher")
