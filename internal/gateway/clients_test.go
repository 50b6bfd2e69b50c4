package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// subscription is one connection of a test subscriber on any transport,
// yielding server messages in order. hello messages are skipped.
type subscription interface {
	next(timeout time.Duration) (msg, error)
	close()
}

var transports = []string{"ws", "sse", "poll"}

// subscribe connects over the named transport, resuming from cursor when
// it is not empty.
func subscribe(t *testing.T, transport, base, topics, cursor string) subscription {
	t.Helper()
	q := "?topics=" + url.QueryEscape(topics)
	if cursor != "" && transport != "sse" {
		q += "&cursor=" + url.QueryEscape(cursor)
	}
	switch transport {
	case "ws":
		return &wsSub{dialWS(t, base, q)}
	case "sse":
		return dialSSE(t, base, q, cursor)
	case "poll":
		return &pollSub{t: t, base: base, topics: topics, cursor: cursor}
	}
	t.Fatalf("no transport %q", transport)
	return nil
}

type wsSub struct{ *wsClient }

func (w *wsSub) next(timeout time.Duration) (msg, error) {
	for {
		m, err := w.read(timeout)
		if err != nil || m.Type != "hello" {
			return m, err
		}
	}
}

func (w *wsSub) close() { w.c.CloseNow() }

// sseSub reads an event stream. lastID is every id: line seen, which must
// equal the cursor of the message it came with.
type sseSub struct {
	t      *testing.T
	resp   *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

type sseEvent struct {
	typ, id, data string
	err           error
}

func dialSSE(t *testing.T, base, query, lastEventID string) *sseSub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/sse"+query, nil)
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("sse: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("sse: %d %s", resp.StatusCode, b)
	}
	s := &sseSub{t: t, resp: resp, events: make(chan sseEvent, 64), cancel: cancel}
	go s.read()
	t.Cleanup(s.close)
	return s
}

func (s *sseSub) read() {
	defer close(s.events)
	br := bufio.NewReader(s.resp.Body)
	var ev sseEvent
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			s.events <- sseEvent{err: err}
			return
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if ev.typ != "" || ev.data != "" {
				s.events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry:"):
		case strings.HasPrefix(line, "event: "):
			ev.typ = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			if ev.data != "" {
				s.events <- sseEvent{err: fmt.Errorf("event with two data lines")}
				return
			}
			ev.data = strings.TrimPrefix(line, "data: ")
		default:
			s.events <- sseEvent{err: fmt.Errorf("unexpected SSE line %q", line)}
			return
		}
	}
}

func (s *sseSub) next(timeout time.Duration) (msg, error) {
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return msg{}, io.EOF
			}
			if ev.err != nil {
				return msg{}, ev.err
			}
			var m msg
			if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
				return msg{}, fmt.Errorf("sse data %q: %v", ev.data, err)
			}
			if m.Type != ev.typ || m.Cursor != ev.id {
				return msg{}, fmt.Errorf("sse event %q id %q carries %s cursor %q", ev.typ, ev.id, m.Type, m.Cursor)
			}
			if m.Type == "hello" {
				continue
			}
			return m, nil
		case <-time.After(timeout):
			return msg{}, fmt.Errorf("sse: nothing in %v", timeout)
		}
	}
}

func (s *sseSub) close() {
	s.cancel()
	s.resp.Body.Close()
}

// pollSub long-polls, continuing from each response's cursor.
type pollSub struct {
	t       *testing.T
	base    string
	topics  string
	cursor  string
	pending []msg
}

type pollResponse struct {
	Cursor   string `json:"cursor"`
	Messages []msg  `json:"messages"`
}

func (p *pollSub) next(timeout time.Duration) (msg, error) {
	deadline := time.Now().Add(timeout)
	for len(p.pending) == 0 {
		wait := time.Until(deadline)
		if wait <= 0 {
			return msg{}, fmt.Errorf("poll: nothing in %v", timeout)
		}
		r, err := longPoll(p.base, p.topics, p.cursor, max(1, int(wait/time.Second)))
		if err != nil {
			return msg{}, err
		}
		p.cursor, p.pending = r.Cursor, r.Messages
	}
	m := p.pending[0]
	p.pending = p.pending[1:]
	return m, nil
}

func (p *pollSub) close() {}

func longPoll(base, topics, cursor string, timeout int) (pollResponse, error) {
	q := url.Values{"topics": {topics}, "timeout": {fmt.Sprint(timeout)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	resp, err := http.Get(base + "/v1/poll?" + q.Encode())
	if err != nil {
		return pollResponse{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return pollResponse{}, fmt.Errorf("poll: %d %s", resp.StatusCode, b)
	}
	var r pollResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return pollResponse{}, fmt.Errorf("poll: %q: %v", b, err)
	}
	return r, nil
}

// ledger is what a test subscriber has seen, across all its connections.
// It checks events arrive exactly once and in order: the tests number each
// event topic's events from 0.
type ledger struct {
	t      *testing.T
	cursor string
	events map[string][]int // topic -> the n of each event seen
	states map[string]int   // topic -> latest n
	resets int
	merged int
}

func newLedger(t *testing.T) *ledger {
	return &ledger{t: t, events: map[string][]int{}, states: map[string]int{}}
}

// take records one message and moves the cursor past it.
func (l *ledger) take(m msg) {
	l.t.Helper()
	switch m.Type {
	case "snapshot":
		if m.Reset {
			l.resets++
		}
		for _, it := range m.Items {
			l.update(it)
		}
	case "update":
		l.update(m)
	case "ack":
	default:
		l.t.Fatalf("unexpected message %+v", m)
	}
	if m.Cursor == "" {
		l.t.Fatalf("%s without cursor", m.Type)
	}
	l.cursor = m.Cursor
}

func (l *ledger) update(u msg) {
	var d struct{ N int }
	if err := json.Unmarshal(u.Data, &d); err != nil {
		l.t.Fatalf("data %s: %v", u.Data, err)
	}
	l.merged += u.Merged
	if u.Kind == "event" {
		seen := l.events[u.Topic]
		if len(seen) > 0 && d.N != seen[len(seen)-1]+1 {
			l.t.Fatalf("%s: event %d after %v", u.Topic, d.N, seen[max(0, len(seen)-5):])
		}
		l.events[u.Topic] = append(seen, d.N)
		return
	}
	if prev, ok := l.states[u.Topic]; ok && d.N <= prev {
		l.t.Fatalf("%s: state %d after %d", u.Topic, d.N, prev)
	}
	l.states[u.Topic] = d.N
}

// caughtUp reports whether the ledger holds event last of every event
// topic and state last of every state topic.
func (l *ledger) caughtUp(eventTopics, stateTopics []string, last int) bool {
	for _, tp := range eventTopics {
		seen := l.events[tp]
		if len(seen) == 0 || seen[len(seen)-1] != last {
			return false
		}
	}
	for _, tp := range stateTopics {
		if n, ok := l.states[tp]; !ok || n != last {
			return false
		}
	}
	return true
}
