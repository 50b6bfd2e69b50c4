package transport

import "sync"

// registry is the set of open sessions, and the drain at shutdown. It owns
// its lock.
type registry struct {
	mu       sync.Mutex
	sessions map[*Session]struct{}
	closing  bool
	drained  chan struct{} // closed when closing and no session is left
}

func newRegistry() *registry {
	return &registry{sessions: make(map[*Session]struct{}), drained: make(chan struct{})}
}

// add registers s; false when the registry is closing and refuses it.
func (r *registry) add(s *Session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return false
	}
	r.sessions[s] = struct{}{}
	return true
}

// remove reports whether s was registered.
func (r *registry) remove(s *Session) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sessions[s]; !ok {
		return false
	}
	delete(r.sessions, s)
	if r.closing && len(r.sessions) == 0 {
		close(r.drained)
	}
	return true
}

// close refuses new sessions and returns those open now.
func (r *registry) close() []*Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closing {
		r.closing = true
		if len(r.sessions) == 0 {
			close(r.drained)
		}
	}
	out := make([]*Session, 0, len(r.sessions))
	for s := range r.sessions {
		out = append(out, s)
	}
	return out
}

// isClosing reports whether the registry refuses new sessions.
func (r *registry) isClosing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closing
}

func (r *registry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}
