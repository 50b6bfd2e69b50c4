package stream

import (
	"context"
	"errors"
	"sync"
)

// ErrRefollow ends a Follow that Refollow interrupted.
var ErrRefollow = errors.New("follow stream: asked to follow again")

// Refollow ends every running Follow with ErrRefollow, so that its caller
// follows again from where it was at once. It is for when the server lost
// its consumers while the connection stayed up (an embedded JetStream
// restarted): the consumer would otherwise wait for missed heartbeats to
// notice, which takes seconds.
func (s *Stream) Refollow() { s.followers.cancelAll(ErrRefollow) }

// followers are the cancel functions of the running Follows.
type followers struct {
	mu  sync.Mutex
	set map[*context.CancelCauseFunc]struct{}
}

// add registers cancel and returns what removes it.
func (f *followers) add(cancel context.CancelCauseFunc) (remove func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.set == nil {
		f.set = make(map[*context.CancelCauseFunc]struct{})
	}
	key := &cancel
	f.set[key] = struct{}{}
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.set, key)
	}
}

func (f *followers) cancelAll(cause error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.set {
		(*c)(cause)
	}
}
