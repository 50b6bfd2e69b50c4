package bench

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/coder/websocket"
)

// runWS subscribes over a WebSocket and reads until it fails. Reading
// costs no allocation per message: one buffer per connection is reused,
// and the read context is never cancelled (so the library arms no timer);
// the connection is closed to stop it.
func (s *subscriber) runWS(ctx context.Context, deadline time.Time) error {
	dctx, cancel := context.WithDeadline(ctx, deadline)
	c, _, err := websocket.Dial(dctx, s.r.wsURL+s.topicName(), &websocket.DialOptions{
		HTTPClient:      s.r.httpClient,
		CompressionMode: websocket.CompressionDisabled,
	})
	cancel()
	if err != nil {
		return err
	}
	defer c.CloseNow()
	c.SetReadLimit(-1)
	stop := context.AfterFunc(ctx, func() { c.CloseNow() })
	defer stop()
	timer := s.connectTimer(deadline, func() { c.CloseNow() })
	defer timer.Stop()

	buf := make([]byte, 0, 1024)
	for {
		typ, r, err := c.Reader(context.Background())
		if err != nil {
			return err
		}
		if buf, err = readAll(r, buf[:0]); err != nil {
			return err
		}
		now := time.Now().UnixNano()
		if typ != websocket.MessageText {
			s.malformed++
			continue
		}
		s.lines(buf, now)
	}
}

// readAll reads r to its end into buf, growing it as needed.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
