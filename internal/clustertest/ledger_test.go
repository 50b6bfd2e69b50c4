package clustertest

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// msg is a server message, decoded loosely.
type msg struct {
	Type   string          `json:"type"`
	Topic  string          `json:"topic"`
	Kind   string          `json:"kind"`
	Data   json.RawMessage `json:"data"`
	Cursor string          `json:"cursor"`
	Merged int             `json:"merged"`
	Reset  bool            `json:"reset"`
	Items  []msg           `json:"items"`
	Code   string          `json:"code"`
}

// ledger is what one subscriber has seen across all its connections. The
// publisher numbers each event topic's events from 0 and gives every state
// update the number of the body it came in, so the ledger can tell a
// duplicate, a loss and a reordering as they arrive.
type ledger struct {
	mu         sync.Mutex
	cursor     string
	events     map[string]int // topic -> next event expected
	states     map[string]int // topic -> latest value
	updates    int
	resets     int
	violations []string
	sessions   int
	ends       map[string]int // how sessions ended -> count

	// The longest time between two updates while the publisher was
	// publishing throughout, and what the test was doing when it ended;
	// and the longest in each phase of the test.
	from     time.Time
	maxGap   time.Duration
	gapPhase string
	gaps     map[string]time.Duration
}

func newLedger() *ledger {
	return &ledger{events: map[string]int{}, states: map[string]int{}, ends: map[string]int{}, gaps: map[string]time.Duration{}}
}

// take records one message that arrived at now, during phase.
func (l *ledger) take(m msg, now time.Time, phase string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch m.Type {
	case "snapshot":
		if m.Reset {
			l.resets++
			l.violate("reset snapshot: updates were lost")
		}
		for _, it := range m.Items {
			l.update(it, now, phase)
		}
	case "update":
		l.update(m, now, phase)
	default:
		l.violate(fmt.Sprintf("unexpected %s message %+v", m.Type, m))
		return
	}
	if m.Cursor == "" {
		l.violate(m.Type + " without a cursor")
	}
	l.cursor = m.Cursor
}

func (l *ledger) update(u msg, now time.Time, phase string) {
	var d struct{ N int }
	if err := json.Unmarshal(u.Data, &d); err != nil {
		l.violate(fmt.Sprintf("data %s: %v", u.Data, err))
		return
	}
	l.updates++
	if !l.from.IsZero() {
		gap := now.Sub(l.from)
		if gap > l.maxGap {
			l.maxGap, l.gapPhase = gap, phase
		}
		l.gaps[phase] = max(l.gaps[phase], gap)
	}
	l.from = now
	switch u.Kind {
	case "event":
		if want := l.events[u.Topic]; d.N != want {
			what := "lost or reordered"
			if d.N < want {
				what = "duplicate or reordered"
			}
			l.violate(fmt.Sprintf("%s: event %d when %d was next (%s)", u.Topic, d.N, want, what))
		}
		l.events[u.Topic] = d.N + 1
	case "state":
		if prev, ok := l.states[u.Topic]; ok && d.N <= prev {
			l.violate(fmt.Sprintf("%s: state %d after %d", u.Topic, d.N, prev))
		}
		l.states[u.Topic] = d.N
	default:
		l.violate(fmt.Sprintf("%s: kind %q", u.Topic, u.Kind))
	}
}

func (l *ledger) violate(s string) {
	if len(l.violations) < 20 {
		l.violations = append(l.violations, s)
	}
}

// setCursor moves the cursor without a message (a poll's response cursor).
func (l *ledger) setCursor(c string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c != "" {
		l.cursor = c
	}
}

func (l *ledger) getCursor() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cursor
}

// ended records how a connection ended.
func (l *ledger) ended(how string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ends[how]++
}

func (l *ledger) began() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sessions++
}

// restartGaps starts gap measurement afresh at now: the publisher resumed
// after a pause, and the wait for its first update counts as a gap.
func (l *ledger) restartGaps(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.from = now
}

// pauseGaps stops gap measurement until restartGaps.
func (l *ledger) pauseGaps() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.from = time.Time{}
}

// has reports whether every event topic has seen its event want[topic]-1
// and every state topic has its state states[topic].
func (l *ledger) has(events, states map[string]int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for tp, n := range events {
		if l.events[tp] < n {
			return false
		}
	}
	for tp, n := range states {
		if v, ok := l.states[tp]; !ok || v < n {
			return false
		}
	}
	return true
}

func (l *ledger) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.updates
}
