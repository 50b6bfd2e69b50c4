package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// publisher posts one body at a time through the load balancer, so to a
// different gateway each time: an event on one of eventTopics (numbered
// per topic from 0) and a state on one of stateTopics (the body's
// number). Each update has an idempotency key, and a body that timed out
// or got a 5xx is sent again, as is, until it is stored: so every update
// is stored once, and in order, whatever failed in between.
type publisher struct {
	base, token string
	every       time.Duration
	eventTopics []string
	stateTopics []string
	run         string // prefix of the idempotency keys, unique per run
	http        *http.Client

	mu         sync.Mutex
	paused     chan struct{} // closed by the loop once a pause has begun
	resume     chan struct{} // closed to end a pause
	done       chan struct{} // closed when the loop returns
	bodies     int
	events     map[string]int // topic -> events stored
	states     map[string]int // topic -> latest state stored
	retries    int
	duplicates int // updates a gateway reported as already stored
	failures   map[string]int
	samples    []string      // the first few failures, for the log
	longest    time.Duration // the longest a body took to be stored, retries included
	phase      func() string
	longestIn  map[string]time.Duration // the same, by the test's phase when it was stored
	fatal      string                   // a refusal that retrying cannot cure
}

func newPublisher(base, token string, every time.Duration, eventTopics, stateTopics []string) *publisher {
	return &publisher{
		base: base, token: token, every: every, eventTopics: eventTopics, stateTopics: stateTopics,
		run:    fmt.Sprintf("ct%d", time.Now().UnixNano()),
		http:   &http.Client{Timeout: 4 * time.Second},
		events: map[string]int{}, states: map[string]int{}, failures: map[string]int{},
		longestIn: map[string]time.Duration{}, phase: func() string { return "" },
		done: make(chan struct{}),
	}
}

type update struct {
	ID    string         `json:"id"`
	Topic string         `json:"topic"`
	Kind  string         `json:"kind"`
	Data  map[string]int `json:"data"`
}

func (p *publisher) loop(ctx context.Context) {
	defer close(p.done)
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	for k := 0; ; k++ {
		p.mu.Lock()
		paused, resume := p.paused, p.resume
		p.mu.Unlock()
		if resume != nil {
			close(paused)
			select {
			case <-ctx.Done():
				return
			case <-resume:
			}
			tick.Reset(p.every)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ev := p.eventTopics[k%len(p.eventTopics)]
		st := p.stateTopics[k%len(p.stateTopics)]
		p.mu.Lock()
		n := p.events[ev]
		p.mu.Unlock()
		body, _ := json.Marshal([]update{
			{ID: fmt.Sprintf("%s-%d-e", p.run, k), Topic: ev, Kind: "event", Data: map[string]int{"n": n}},
			{ID: fmt.Sprintf("%s-%d-s", p.run, k), Topic: st, Kind: "state", Data: map[string]int{"n": k}},
		})
		began := time.Now()
		if !p.store(ctx, body) {
			return
		}
		p.mu.Lock()
		p.bodies++
		p.events[ev] = n + 1
		p.states[st] = k
		took := time.Since(began)
		p.longest = max(p.longest, took)
		p.longestIn[p.phase()] = max(p.longestIn[p.phase()], took)
		p.mu.Unlock()
	}
}

// store posts body until it is stored; false when ctx ended first or the
// gateway refused it for good.
func (p *publisher) store(ctx context.Context, body []byte) bool {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			p.mu.Lock()
			p.retries++
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return false
			case <-time.After(100 * time.Millisecond):
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/v1/publish", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+p.token)
		resp, err := p.http.Do(req)
		if ctx.Err() != nil {
			return false
		}
		if err != nil {
			p.failed("transport error")
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			var r struct{ Duplicate int }
			_ = json.Unmarshal(b, &r)
			p.mu.Lock()
			p.duplicates += r.Duplicate
			p.mu.Unlock()
			return true
		case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests:
			p.failed(fmt.Sprintf("HTTP %d", resp.StatusCode))
			p.mu.Lock()
			if len(p.samples) < 5 {
				p.samples = append(p.samples, fmt.Sprintf("%s: HTTP %d %s", time.Now().Format("15:04:05.000"), resp.StatusCode, bytes.TrimSpace(b)))
			}
			p.mu.Unlock()
		default:
			p.mu.Lock()
			p.fatal = fmt.Sprintf("publish: HTTP %d %s", resp.StatusCode, b)
			p.mu.Unlock()
			return false
		}
	}
}

func (p *publisher) failed(what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures[what]++
}

// pause stops publishing once the body in flight is stored, and waits
// for that.
func (p *publisher) pause() {
	paused := make(chan struct{})
	p.mu.Lock()
	p.paused, p.resume = paused, make(chan struct{})
	p.mu.Unlock()
	select {
	case <-paused:
	case <-p.done:
	}
}

// stored is how many events of each topic and the latest state of each
// topic are stored.
func (p *publisher) stored() (events, states map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	events, states = map[string]int{}, map[string]int{}
	for k, v := range p.events {
		events[k] = v
	}
	for k, v := range p.states {
		states[k] = v
	}
	return events, states
}

func (p *publisher) unpause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.resume)
	p.paused, p.resume = nil, nil
}

func (p *publisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bodies
}
