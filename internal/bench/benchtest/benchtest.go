// Package benchtest is a fake gateway for testing the bench itself: it
// speaks just enough of Tickerd's protocol (SSE subscribing, NDJSON
// publishing, /readyz, /metrics) for `tickerd bench --url`, and can be
// told to lose, repeat or reorder updates, which a real gateway must
// never do, so that tests can check the bench counts them.
package benchtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
)

// Fault is what the fake does to one update, by its bench number.
type Fault int

// The faults.
const (
	// Deliver delivers the update.
	Deliver Fault = iota
	// Drop never delivers it.
	Drop
	// Twice delivers it twice.
	Twice
	// Late holds it back and delivers it after the next one.
	Late
)

// Token is the publish token the fake takes.
const Token = "benchtest"

// Gateway is a running fake gateway. Close it when done.
type Gateway struct {
	*httptest.Server
	fault func(n uint64) Fault

	mu   sync.Mutex
	subs map[chan []byte]string // channel: topic
	held map[string][]byte      // topic: a Late update waiting
}

// New starts a fake gateway that does fault(n) to the update numbered n
// (the "n" of the bench's data) of every topic.
func New(fault func(n uint64) Fault) *Gateway {
	g := &Gateway{fault: fault, subs: map[chan []byte]string{}, held: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintln(w, "tickerd_deliveries_total 0")
	})
	mux.HandleFunc("GET /v1/sse", g.sse)
	mux.HandleFunc("POST /v1/publish", g.publish)
	g.Server = httptest.NewServer(mux)
	return g
}

func (g *Gateway) sse(w http.ResponseWriter, r *http.Request) {
	topic := r.URL.Query().Get("topics")
	ch := make(chan []byte, 1024)
	g.mu.Lock()
	g.subs[ch] = topic
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.subs, ch)
		g.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, "event: hello\ndata: {\"type\":\"hello\",\"transport\":\"sse\"}\n\n")
	fmt.Fprint(w, "event: snapshot\ndata: {\"type\":\"snapshot\",\"cursor\":\"c0\",\"reset\":false,\"items\":[]}\n\n")
	w.(http.Flusher).Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case b := <-ch:
			fmt.Fprintf(w, "event: update\ndata: %s\n\n", b)
			w.(http.Flusher).Flush()
		}
	}
}

func (g *Gateway) publish(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+Token {
		http.Error(w, `{"error":{"code":"unauthorized","message":"no"}}`, http.StatusUnauthorized)
		return
	}
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var in struct {
			Topic, Kind, Time string
			Data              json.RawMessage
		}
		if err := json.Unmarshal(sc.Bytes(), &in); err != nil {
			http.Error(w, `{"error":{"code":"bad_request","message":"bad JSON"}}`, http.StatusBadRequest)
			return
		}
		var d struct{ N uint64 }
		_ = json.Unmarshal(in.Data, &d)
		b := fmt.Appendf(nil, `{"type":"update","topic":%q,"kind":%q,"data":%s,"time":%q,"cursor":"c%s"}`,
			in.Topic, in.Kind, in.Data, in.Time, strconv.FormatUint(d.N, 10))
		g.route(in.Topic, d.N, b)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"cursor":"c"}`)
}

// route does the update's fault to it and sends what is left to the
// topic's subscribers.
func (g *Gateway) route(topic string, n uint64, b []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out [][]byte
	switch g.fault(n) {
	case Deliver:
		out = [][]byte{b}
	case Twice:
		out = [][]byte{b, b}
	case Late:
		g.held[topic] = b
		return
	}
	if h := g.held[topic]; h != nil && len(out) > 0 {
		out = append(out, h)
		delete(g.held, topic)
	}
	for ch, t := range g.subs {
		if t == topic {
			for _, m := range out {
				ch <- m
			}
		}
	}
}
