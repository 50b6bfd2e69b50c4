package gateway

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/natstest"
)

// Publishers emit events and state on many topics through two gateways
// sharing one NATS, while clients on all three transports disconnect and
// resume at random points, on either gateway. In the end every client saw
// every event of its topics exactly once, in order, and the latest value of
// every state topic.
func TestRandomizedResumeAcrossGatewaysAndTransports(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	ns := natstest.Server(t)
	cfg := Config{NATSURL: ns.ClientURL()}
	cfg.Hub.RingSize = 300 // small enough that some resumes read JetStream
	_, a := testGateway(t, cfg)
	_, b := testGateway(t, cfg)
	bases := []string{a.URL, b.URL}

	// Every client starts from a position before the first publish, so it
	// owes every event; the publisher may finish before some start.
	var start struct{ Cursor string }
	getJSON(t, a.URL+"/v1/snapshot?topics=>", &start)

	const rounds = 120
	const topics = 4
	published := make(chan error, 1)
	go func() {
		r := rand.New(rand.NewPCG(seed, 0))
		for n := range rounds {
			var body strings.Builder
			for i := range topics {
				fmt.Fprintf(&body, `{"topic":"ev.%d","kind":"event","data":{"n":%d}}`+"\n", i, n)
				fmt.Fprintf(&body, `{"topic":"st.%d","kind":"state","data":{"n":%d}}`+"\n", i, n)
			}
			req, _ := http.NewRequest("POST", bases[r.IntN(2)]+"/v1/publish", strings.NewReader(body.String()))
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				published <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				published <- fmt.Errorf("publish: %d", resp.StatusCode)
				return
			}
		}
		published <- nil
	}()

	clients := []struct{ patterns, events, states string }{
		{">", "ev.0,ev.1,ev.2,ev.3", "st.0,st.1,st.2,st.3"},
		{"ev.*,st.*", "ev.0,ev.1,ev.2,ev.3", "st.0,st.1,st.2,st.3"},
		{"ev.0,st.1", "ev.0", "st.1"},
		{"ev.>,st.3", "ev.0,ev.1,ev.2,ev.3", "st.3"},
		{"ev.2,ev.3,ev.*", "ev.0,ev.1,ev.2,ev.3", ""},
		{"st.*", "", "st.0,st.1,st.2,st.3"},
	}
	t.Run("clients", func(t *testing.T) {
		for i, c := range clients {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				r := rand.New(rand.NewPCG(seed, uint64(i+1)))
				events, states := split(c.events), split(c.states)
				l := newLedger(t)
				l.cursor = start.Cursor
				switches := 0
				for !l.caughtUp(events, states, rounds-1) {
					tr := transports[r.IntN(3)]
					s := subscribe(t, tr, bases[r.IntN(2)], c.patterns, l.cursor)
					for n := 1 + r.IntN(40); n > 0 && !l.caughtUp(events, states, rounds-1); n-- {
						m, err := s.next(20 * time.Second)
						if err != nil {
							t.Fatalf("%s: %v", tr, err)
						}
						l.take(m)
					}
					s.close()
					switches++
				}
				for _, tp := range events {
					if got := l.events[tp]; len(got) != rounds || got[0] != 0 {
						t.Fatalf("%s: %d events from %d", tp, len(got), got[0])
					}
				}
				if l.resets != 0 {
					t.Fatalf("%d resets within retention", l.resets)
				}
				t.Logf("%s: caught up over %d connections", c.patterns, switches)
			})
		}
	})
	if err := <-published; err != nil {
		t.Fatal(err)
	}
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
