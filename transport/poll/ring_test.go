package poll_test

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickerd/tickerd/internal/hubtest"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/poll"
)

// A poll the ring answers gets, over random histories, patterns, cursors
// and response caps, exactly the body a session gives it, page after page
// until nothing is left; and none of those polls opens a session.
func TestRingAnswersAsSessionDoes(t *testing.T) {
	reg := prometheus.NewRegistry()
	hub, st := hubtest.Start(t, transport.Options{Registerer: reg})
	rng := rand.New(rand.NewPCG(11, 1))
	topics := []string{"r.a", "r.b", "r.c.x", "r.c.y", "s.a", "s.b"}
	var seqs []uint64
	for i := range 120 {
		kind := message.Event
		if rng.IntN(2) == 0 {
			kind = message.State
		}
		seqs = append(seqs, hubtest.Publish(t, hub, st, topics[rng.IntN(len(topics))], kind, fmt.Sprintf(`{"n":%d}`, i)))
	}
	patterns := []string{"r.a", "r.*", "r.>", "s.b", "r.c.*", "nothing", "r.b,s.a", "r.a,r.>", "s.*,r.c.y"}

	for _, max := range []int{1, 3, 7, 256} {
		ring := poll.New(hub, poll.Options{MaxMessages: max, Logger: discard})
		session := poll.New(hub, poll.Options{MaxMessages: max, Logger: discard})
		poll.SessionOnly(session)
		ringSrv, sessionSrv := httptest.NewServer(ring), httptest.NewServer(session)
		for range 12 {
			p := patterns[rng.IntN(len(patterns))]
			cursor := message.Cursor{Epoch: hub.Epoch(), Seq: seqs[rng.IntN(len(seqs))] - 1}.String()
			for page := 0; ; page++ {
				q := "/?timeout=0&topics=" + p + "&cursor=" + cursor
				opened := sessionsOpened(t, reg)
				a := get(t, ringSrv.URL+q)
				fromRing := sessionsOpened(t, reg) == opened
				b := get(t, sessionSrv.URL+q)
				if a.status != b.status || a.body != b.body {
					t.Fatalf("max %d %s page %d:\nring    %d %s\nsession %d %s", max, q, page, a.status, a.body, b.status, b.body)
				}
				if string(a.Messages) == "[]" {
					break // the end: the ring had nothing, so a session answered
				}
				if !fromRing {
					t.Fatalf("max %d %s: a session answered %s", max, q, a.body)
				}
				if page > len(seqs) || a.Cursor == cursor {
					t.Fatalf("max %d %s: the cursor does not move: %s", max, q, a.body)
				}
				cursor = a.Cursor
			}
		}
		ringSrv.Close()
		sessionSrv.Close()
	}
}

// sessionsOpened is how many sessions the hub whose metrics reg holds
// has opened.
func sessionsOpened(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "tickerd_sessions_opened_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
