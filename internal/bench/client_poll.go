package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

var (
	keyCursor   = []byte(`{"cursor":"`)
	keyMessages = []byte(`"messages":[`)
	keyObject   = []byte(`{"type":"`)
)

// runPoll long-polls, each request from the cursor the last response
// gave, until it fails. The first request, with no cursor, gets the
// snapshot: that is subscribing.
func (s *subscriber) runPoll(ctx context.Context, deadline time.Time) error {
	dial := func() (net.Conn, *bufio.Reader, error) {
		dctx, cancel := context.WithDeadline(ctx, deadline)
		defer cancel()
		c, err := s.r.dialer.dial(dctx)
		if err != nil {
			return nil, nil, err
		}
		return c, bufio.NewReaderSize(c, readBuffer), nil
	}
	c, br, err := dial()
	if err != nil {
		return err
	}
	// The connection changes when the server closes one: close the
	// current one on stop.
	conn := make(chan net.Conn, 1)
	conn <- c
	closeConn := func() {
		c := <-conn
		c.Close()
		conn <- c
	}
	defer closeConn()
	stop := context.AfterFunc(ctx, closeConn)
	defer stop()
	timer := s.connectTimer(deadline, closeConn)
	defer timer.Stop()

	base := "/v1/poll?topics=" + s.topicName() + "&timeout=" + strconv.Itoa(int(s.r.o.PollTimeout/time.Second))
	path := base
	var body bytes.Buffer
	for {
		if err := s.r.get(c, path, "application/json"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		body.Reset()
		_, err = body.ReadFrom(resp.Body)
		resp.Body.Close()
		now := time.Now().UnixNano()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return &errStatus{resp.StatusCode, body.String()} // retried until subscribed
		}
		b := body.Bytes()
		cursor, ok := stringAfter(b, keyCursor)
		if !ok || !bytes.HasPrefix(b, keyCursor) {
			s.malformed++
			return fmt.Errorf("poll response without cursor: %.200s", b)
		}
		if s.subscribed.Load() {
			n := s.pollMessages(b, now)
			if s.inWindow(now) {
				s.polls++
				s.pollMsgs += n
			}
		} else {
			s.ready(nil) // the snapshot
		}
		path = base + "&cursor=" + string(cursor)
		if resp.Close {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			nc, nbr, err := dial()
			if err != nil {
				return err
			}
			old := <-conn
			old.Close()
			c, br = nc, nbr
			conn <- c
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if d := s.r.o.PollDelay; d > 0 {
			if err := sleep(ctx, d); err != nil {
				return err
			}
		}
	}
}

// pollMessages handles the messages of one poll response and returns how
// many there were. Each starts with {"type":"; the bench's data holds no
// object that does.
func (s *subscriber) pollMessages(b []byte, now int64) int64 {
	i := bytes.Index(b, keyMessages)
	if i < 0 {
		s.malformed++
		return 0
	}
	b = b[i+len(keyMessages):]
	var n int64
	for {
		i := bytes.Index(b, keyObject)
		if i < 0 {
			return n
		}
		b = b[i:]
		end := bytes.Index(b[len(keyObject):], keyObject)
		msg := b
		if end >= 0 {
			msg = b[:len(keyObject)+end]
		}
		s.message(msg, now)
		n++
		b = b[len(msg):]
	}
}
