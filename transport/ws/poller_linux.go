package ws

import (
	"errors"
	"log/slog"
	"sync"

	"golang.org/x/sys/unix"
)

// poller waits, for every idle connection at once, for the next bytes its
// client sends, and starts a reader turn for each connection that has
// some: one epoll set and one goroutine for the process, where a reader
// per connection would keep a goroutine stack for each (see reader).
// Connections are registered one-shot, so at most one turn runs per
// connection, and re-armed when the turn is done. The Go runtime's own
// poller watches the same sockets for the reads and writes themselves.
type poller struct {
	epfd int

	mu    sync.Mutex
	conns map[uint64]*reader // by id: a socket's number is reused once closed
	next  uint64
}

var readiness struct {
	once sync.Once
	p    *poller
}

// thePoller is the process's poller, started on first use; nil when the
// system has none to give, and then every reader has a goroutine.
func thePoller() *poller {
	readiness.once.Do(func() {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			slog.Warn("no readiness poller: every WebSocket reader keeps a goroutine", "err", err)
			return
		}
		readiness.p = &poller{epfd: fd, conns: map[uint64]*reader{}}
		go readiness.p.run()
	})
	return readiness.p
}

// watch registers r's connection.
func (p *poller) watch(r *reader) error {
	p.mu.Lock()
	p.next++
	r.id = p.next
	p.conns[r.id] = r
	p.mu.Unlock()
	if err := p.ctl(r, unix.EPOLL_CTL_ADD); err != nil {
		p.forget(r)
		return err
	}
	return nil
}

// rearm waits for r's connection again once its turn is done.
func (p *poller) rearm(r *reader) error { return p.ctl(r, unix.EPOLL_CTL_MOD) }

// forget drops r. The kernel drops the socket from the set itself once it
// is closed.
func (p *poller) forget(r *reader) {
	p.mu.Lock()
	if r.id != 0 {
		delete(p.conns, r.id)
	}
	p.mu.Unlock()
}

// errClosed is the socket gone before it could be registered.
var errClosed = errors.New("connection closed")

// ctl registers or re-arms r's socket. It runs inside RawConn.Control,
// which holds the socket open meanwhile: a socket closed and its number
// given to a new connection cannot be mistaken for it.
func (p *poller) ctl(r *reader, op int) error {
	var err error
	cerr := r.raw.Control(func(fd uintptr) {
		ev := unix.EpollEvent{
			Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT,
			Fd:     int32(uint32(r.id)),
			Pad:    int32(uint32(r.id >> 32)),
		}
		err = unix.EpollCtl(p.epfd, op, int(fd), &ev)
	})
	if cerr != nil {
		return errors.Join(errClosed, cerr)
	}
	return err
}

// run starts a turn for each connection that has bytes, or has closed.
func (p *poller) run() {
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			slog.Error("readiness poller failed", "err", err)
			return
		}
		p.mu.Lock()
		for _, ev := range events[:n] {
			if r := p.conns[uint64(uint32(ev.Fd))|uint64(uint32(ev.Pad))<<32]; r != nil {
				go r.turn()
			}
		}
		p.mu.Unlock()
	}
}
