package transport

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// fanoutHub is a loaded hub with n sessions on one topic, half by name and
// half by wildcard, routed to directly (no NATS in the loop).
func fanoutHub(tb testing.TB, n int) (*Hub, []pulledSession) {
	h, _ := testHub(tb, Options{QueueSize: 1 << 16, RingSize: 1024})
	sessions := make([]pulledSession, n)
	h.mu.Lock()
	for i := range sessions {
		s := pulled(h, h.opts.QueueSize)
		p := "stocks.AAPL"
		if i%2 == 1 {
			p = "stocks.*"
		}
		h.indexAll(s.Session, []string{p})
		sessions[i] = s
	}
	h.mu.Unlock()
	return h, sessions
}

// BenchmarkFanout measures routing one update to every subscriber and each
// subscriber's transport taking it: the hub's whole share of a delivery.
//
//	go test -run XXX -bench Fanout -benchmem ./transport/
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 100, 10_000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			h, sessions := fanoutHub(b, n)
			u := message.Update{Topic: "stocks.AAPL", Kind: message.State, Data: json.RawMessage(`{"price":189.32,"change":-0.41}`), Time: time.Now()}
			seq := h.head.Load()
			bufs := make([][]wire.Item, n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				seq++
				u.Seq = seq
				h.deliver(u)
				for i, s := range sessions {
					bufs[i], _ = s.Take(bufs[i])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
		})
	}
}

// Routing allocates per update (its one encoding), never per subscriber.
func TestFanoutAllocsIndependentOfSubscribers(t *testing.T) {
	perUpdate := func(n int) float64 {
		h, sessions := fanoutHub(t, n)
		u := message.Update{Topic: "stocks.AAPL", Kind: message.State, Data: json.RawMessage(`{"p":1}`), Time: time.Now()}
		seq := h.head.Load()
		bufs := make([][]wire.Item, n)
		step := func() {
			seq++
			u.Seq = seq
			h.deliver(u)
			for i, s := range sessions {
				bufs[i], _ = s.Take(bufs[i])
			}
		}
		for range 10 { // grow queues and buffers to their steady size
			step()
		}
		return testing.AllocsPerRun(200, step)
	}
	one, many := perUpdate(1), perUpdate(500)
	if many > one {
		t.Fatalf("allocations per update: %v with 1 subscriber, %v with 500", one, many)
	}
}
