package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// The SSE and long-poll clients (and the WebSocket one, client_ws.go)
// speak HTTP/1.1 on a connection of their own rather than through
// net/http's client: one goroutine per subscriber and no connection pool
// between the bench and what it measures.

// errStatus is a response other than 200.
type errStatus struct {
	code int
	body string
}

func (e *errStatus) Error() string { return fmt.Sprintf("HTTP %d: %.200s", e.code, e.body) }

// get writes a GET request for path on c.
func (r *runner) get(c net.Conn, path, accept string) error {
	b := make([]byte, 0, 160+len(path))
	b = append(b, "GET "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, r.base.Host...)
	b = append(b, "\r\nUser-Agent: tickerd-bench\r\nAccept: "...)
	b = append(b, accept...)
	b = append(b, "\r\n\r\n"...)
	_, err := c.Write(b)
	return err
}

// runSSE subscribes over Server-Sent Events and reads until it fails.
func (s *subscriber) runSSE(ctx context.Context, deadline time.Time) error {
	c, done, err := s.connect(ctx, deadline)
	if err != nil {
		return err
	}
	defer done()

	if err := s.r.get(c, "/v1/sse?topics="+s.topicName(), "text/event-stream"); err != nil {
		return err
	}
	br := bufio.NewReaderSize(c, readBuffer)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return &errStatus{resp.StatusCode, string(b)}
	}
	lr := bufio.NewReaderSize(resp.Body, max(4096, 2*s.r.o.Size+1024))
	var long []byte // a line longer than lr's buffer
	for {
		line, err := lr.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			continue
		}
		if err != nil {
			return err
		}
		if long != nil {
			line = append(long, line...)
			long = long[:0:0]
		}
		// "event:" and "id:" repeat what the data holds; comments and
		// blank lines carry nothing.
		if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			s.message(bytes.TrimRight(data, "\r\n"), time.Now().UnixNano())
		}
	}
}
