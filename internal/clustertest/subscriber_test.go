package clustertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// subscriber is a client that stays subscribed through whatever happens,
// as the browser client does: when its connection ends it connects again
// (through the load balancer, so to any gateway) and resumes from the last
// cursor it received.
type subscriber struct {
	transport string
	base      string // the load balancer
	topics    string
	phase     *atomic.Value // what the test is doing, for the gap figure
	l         *ledger
	http      *http.Client
}

func newSubscriber(transport, base, topics string, phase *atomic.Value) *subscriber {
	return &subscriber{
		transport: transport, base: base, topics: topics, phase: phase, l: newLedger(),
		// No keep-alive: each connection goes through HAProxy's
		// round-robin afresh, as a browser's reconnects mostly do.
		http: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
	}
}

// run keeps the subscriber connected until ctx ends.
func (s *subscriber) run(ctx context.Context) {
	for ctx.Err() == nil {
		s.l.began()
		var err error
		switch s.transport {
		case "ws":
			err = s.ws(ctx)
		case "sse":
			err = s.sse(ctx)
		case "poll":
			err = s.poll(ctx)
		}
		if ctx.Err() != nil {
			return
		}
		s.l.ended(endReason(err))
		var se *httpStatusError
		if errors.As(err, &se) && se.code >= 400 && se.code < 500 && se.code != http.StatusTooManyRequests {
			s.l.mu.Lock()
			s.l.violate(se.Error())
			s.l.mu.Unlock()
		}
		// The browser client reconnects at once after a drain and with a
		// short backoff otherwise; a fixed short wait stands for both.
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *subscriber) take(m msg) {
	s.l.take(m, time.Now(), s.phase.Load().(string))
}

func (s *subscriber) ws(ctx context.Context) error {
	q := url.Values{"topics": {s.topics}}
	if c := s.l.getCursor(); c != "" {
		q.Set("cursor", c)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(s.base, "http")+"/v1/ws?"+q.Encode(),
		&websocket.DialOptions{HTTPClient: s.http})
	if err != nil {
		return err
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 24)
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return err
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			var m msg
			if err := json.Unmarshal(line, &m); err != nil {
				return fmt.Errorf("bad JSON %q", line)
			}
			switch m.Type {
			case "hello":
			case "error":
				s.l.mu.Lock()
				s.l.violate("ws error message: " + string(line))
				s.l.mu.Unlock()
			default:
				s.take(m)
			}
		}
	}
}

func (s *subscriber) sse(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/v1/sse?topics="+url.QueryEscape(s.topics), nil)
	if c := s.l.getCursor(); c != "" {
		req.Header.Set("Last-Event-ID", c)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return statusError(resp)
	}
	br := bufio.NewReader(resp.Body)
	var typ, id, data string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if typ == "" {
				continue
			}
			var m msg
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				return fmt.Errorf("bad JSON %q", data)
			}
			switch {
			case typ == "hello":
			case typ == "error" && (m.Code == "shutdown" || m.Code == "unavailable" || m.Code == "slow_consumer"):
				return fmt.Errorf("sse error %s", m.Code)
			case m.Type != typ || m.Cursor != id:
				return fmt.Errorf("sse event %q id %q carries %s cursor %q", typ, id, m.Type, m.Cursor)
			default:
				s.take(m)
			}
			typ, id, data = "", "", ""
		case strings.HasPrefix(line, "event: "):
			typ = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// poll long-polls until a request fails; a gateway's 503 or the load
// balancer's failing to reach one end the "session" like a dropped stream.
func (s *subscriber) poll(ctx context.Context) error {
	for {
		q := url.Values{"topics": {s.topics}, "timeout": {"5"}}
		if c := s.l.getCursor(); c != "" {
			q.Set("cursor", c)
		}
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, s.base+"/v1/poll?"+q.Encode(), nil)
		resp, err := s.http.Do(req)
		if err != nil {
			cancel()
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body = io.NopCloser(bytes.NewReader(b))
			return statusError(resp)
		}
		var r struct {
			Cursor   string `json:"cursor"`
			Messages []msg  `json:"messages"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("poll: %q: %v", b, err)
		}
		for _, m := range r.Messages {
			s.take(m)
		}
		s.l.setCursor(r.Cursor)
	}
}

// statusError is a refusal; a 4xx other than 429 is a fault of the client
// or of the gateway's cursor handling, and counts as a violation.
func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return &httpStatusError{code: resp.StatusCode, body: strings.TrimSpace(string(b))}
}

type httpStatusError struct {
	code int
	body string
}

func (e *httpStatusError) Error() string { return fmt.Sprintf("HTTP %d %s", e.code, e.body) }

// endReason names how a connection ended, coarsely, for the log.
func endReason(err error) string {
	var ce websocket.CloseError
	var se *httpStatusError
	switch {
	case errors.As(err, &ce):
		return fmt.Sprintf("close %d", ce.Code)
	case errors.As(err, &se):
		return fmt.Sprintf("HTTP %d", se.code)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case err != nil && strings.HasPrefix(err.Error(), "sse error "):
		return err.Error()
	}
	if err == nil {
		return "no error"
	}
	msg := err.Error()
	if len(msg) > 60 {
		msg = msg[:60]
	}
	return msg
}
