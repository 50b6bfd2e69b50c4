package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// errStopped is why a subscriber that the bench stopped before it had
// subscribed did not.
var errStopped = errors.New("stopped before subscribing")

// subscriber is one bench client: its topic, what it has received and how
// it is doing. Its plain counters are written by its own goroutine only
// and read once that goroutine is done.
type subscriber struct {
	r         *runner
	id        int
	transport string
	topicIdx  int
	topic     []byte
	group     *group
	hist      *Histogram
	holdsSlot bool // it holds one of r.sem's connecting slots

	tr         tracker
	deliveries int64 // updates published in the window, received
	updates    int64 // every update received
	merged     int64
	foreign    int64 // updates of a topic it did not subscribe to
	malformed  int64
	polls      int64 // long-poll responses received in the window
	pollMsgs   int64 // the updates they carried

	next     atomic.Uint64 // tr.next, for the drain to watch
	received atomic.Uint64 // updates received, for progress lines
	caughtUp atomic.Bool   // counted by the drain as done

	readyOnce  sync.Once
	subscribed atomic.Bool
	ended      atomic.Bool // the connection ended before the bench stopped it
	err        error       // why it failed to connect or ended early
}

func (s *subscriber) topicName() string { return string(s.topic) }

// ready marks the end of connecting: subscribed when err is nil. It lets
// the next subscriber connect.
func (s *subscriber) ready(err error) {
	s.readyOnce.Do(func() {
		if err == nil {
			s.subscribed.Store(true)
		} else {
			s.err = err
		}
		s.r.connected(s, err)
	})
}

// message handles one server message (one JSON object) received at now
// (ns since the epoch).
func (s *subscriber) message(msg []byte, now int64) {
	u, ok := parseMessage(msg)
	if !ok {
		s.malformed++
		return
	}
	switch string(u.typ) {
	case "update":
		s.update(&u, now)
	case "snapshot":
		// Before any bench update is published: it holds only values of
		// earlier runs, if any. Being subscribed is what it says.
		s.ready(nil)
	case "error":
		err := fmt.Errorf("server error: %.200s", msg)
		if !s.subscribed.Load() {
			s.ready(err)
		} else if s.err == nil {
			s.err = err
		}
	}
}

func (s *subscriber) update(u *update, now int64) {
	if !bytes.Equal(u.topic, s.topic) {
		s.foreign++
		return
	}
	s.updates++
	s.received.Add(1)
	s.tr.see(u.n)
	s.next.Store(s.tr.next)
	if u.merged {
		s.merged++
	}
	if u.ts >= s.r.t0.Load() && u.ts < s.r.t1.Load() {
		s.deliveries++
		s.hist.Record(time.Duration(now - u.ts))
	}
	s.r.checkCaughtUp(s)
}

// inWindow reports whether now (ns) falls in the measured window.
func (s *subscriber) inWindow(now int64) bool {
	t0 := s.r.t0.Load()
	return t0 > 0 && now >= t0 && now < s.r.t1.Load()
}

// lines handles the messages of one WebSocket message: one JSON object
// per line.
func (s *subscriber) lines(b []byte, now int64) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.message(b, now)
			return
		}
		if i > 0 {
			s.message(b[:i], now)
		}
		b = b[i+1:]
	}
}

// run connects (retrying with backoff until ConnectTimeout) and reads
// until ctx ends or the connection fails. It does not reconnect once
// subscribed: a subscriber that loses its connection counts as dropped.
func (s *subscriber) run(ctx context.Context) {
	deadline := time.Now().Add(s.r.o.ConnectTimeout)
	backoff := 100 * time.Millisecond
	for {
		var err error
		switch s.transport {
		case WebSocket:
			err = s.runWS(ctx, deadline)
		case SSE:
			err = s.runSSE(ctx, deadline)
		case Poll:
			err = s.runPoll(ctx, deadline)
		}
		if ctx.Err() != nil {
			s.ready(errStopped)
			return
		}
		if s.subscribed.Load() {
			if s.err == nil {
				s.err = err
			}
			s.ended.Store(true)
			s.r.checkCaughtUp(s)
			return
		}
		if time.Now().Add(backoff).After(deadline) {
			s.ready(err)
			return
		}
		if sleep(ctx, backoff) != nil {
			s.ready(errStopped)
			return
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// connect dials the server for one attempt of a streaming subscription.
// The connection is closed when ctx ends or, while it has not subscribed,
// at deadline; done releases it and them.
func (s *subscriber) connect(ctx context.Context, deadline time.Time) (c net.Conn, done func(), err error) {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	c, err = s.r.dialer.dial(dctx)
	cancel()
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	timer := s.connectTimer(deadline, func() { c.Close() })
	return c, func() {
		timer.Stop()
		stop()
		c.Close()
	}, nil
}

// connectTimer closes a connection that has not subscribed by deadline.
func (s *subscriber) connectTimer(deadline time.Time, closeConn func()) *time.Timer {
	return time.AfterFunc(time.Until(deadline), func() {
		if !s.subscribed.Load() {
			closeConn()
		}
	})
}
