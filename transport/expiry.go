package transport

import (
	"context"
	"time"

	"github.com/tickerd/tickerd/transport/wire"
)

// Principal is who the session acts for now.
func (s *Session) Principal() Principal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.principal
}

// setPrincipal makes p who the session acts for, and has the session end
// at p's expiry with wire.ErrTokenExpired in place of the previous
// principal's. It reports false, changing nothing, when the session has
// ended or the previous expiry has come already: a renewal that arrives
// as the old token runs out is too late, and the session ends with it.
func (s *Session) setPrincipal(p Principal) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.expiry != nil && !s.expiry.Stop() {
		return false
	}
	s.principal, s.expiry = p, nil
	if !p.Expires.IsZero() {
		// A timer only for a session with a token: an anonymous one, the
		// most, costs nothing here. One already past fires at once.
		s.expiry = time.AfterFunc(time.Until(p.Expires), s.expire)
	}
	return true
}

func (s *Session) expire() { s.end(wire.ErrTokenExpired) }

// authenticate carries out an auth command: the token's principal
// replaces the session's if it may read every pattern the session holds.
// Otherwise the session's own principal still rules, until its expiry.
func (s *Session) authenticate(ctx context.Context, cmd wire.Command) *wire.Frame {
	h := s.hub
	if h.opts.Authenticator == nil {
		return wire.AckFrame(cmd.ID) // no tokens are read: every topic is public
	}
	p, err := h.opts.Authenticator.Authenticate(ctx, cmd.Token)
	if err == nil {
		err = h.authorize(ctx, p, h.patterns(s))
	}
	if err == nil && !s.setPrincipal(p) {
		err = wire.ErrTokenExpired
	}
	if err != nil {
		return wire.ErrorFrame(cmd.ID, err)
	}
	return wire.AckFrame(cmd.ID)
}

// expires is the hello's "expires" for a connection acting for p: its
// token's exp in unix seconds, or 0 (absent) without one.
func expires(p Principal) int64 {
	if !p.Token || p.Expires.IsZero() {
		return 0
	}
	return p.Expires.Unix()
}
