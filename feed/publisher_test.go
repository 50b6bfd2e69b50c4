package feed_test

import (
	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/internal/stream"
)

// The NATS stream adapter is the Publisher the feeds run with.
var _ feed.Publisher = (*stream.Stream)(nil)
