package transport

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/transport/wire"
)

// recorder is a Conn that keeps what it is given. Write is slow now and
// then, so that queueing races with writers stopping and starting.
type recorder struct {
	mu       sync.Mutex
	ids      []int
	writing  bool
	overlaps int // Writes that ran at the same time as another
	beats    int
	pings    int // ping messages written
	ends     []error
	got      chan struct{} // a signal per Write
}

func (r *recorder) Write(_ context.Context, items []wire.Item) error {
	r.mu.Lock()
	if r.writing {
		r.overlaps++
	}
	r.writing = true
	r.mu.Unlock()
	if len(items)%7 == 0 {
		time.Sleep(50 * time.Microsecond) // a write that blocks a little
	}
	r.mu.Lock()
	for _, it := range items {
		if it.Frame == wire.Ping {
			r.pings++
			continue
		}
		var id int
		_ = json.Unmarshal(it.JSON[len(`{"type":"ack","id":`):len(it.JSON)-1], &id)
		r.ids = append(r.ids, id)
	}
	r.writing = false
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) Heartbeat(context.Context) error {
	r.mu.Lock()
	r.beats++
	r.mu.Unlock()
	return nil
}

func (r *recorder) End(reason error) {
	r.mu.Lock()
	r.ends = append(r.ends, reason)
	r.mu.Unlock()
}

// Everything queued on a connected session is written once, in order,
// by one writer at a time, however queueing races with a writer stopping;
// the end is told once.
func TestConnectWritesInOrder(t *testing.T) {
	h, _ := testHub(t, Options{})
	r := &recorder{got: make(chan struct{}, 1)}
	const n = 20_000
	// Room for all: answers count against the queue, and this writer
	// must not be found slow.
	s := h.Connect(context.Background(), r, Info{Transport: "test", Heartbeat: time.Hour, Queue: n}, wire.Request{}, nil)
	for i := range n {
		s.send(wire.AckFrame(json.RawMessage(strconv.Itoa(i))))
		if i%64 == 0 {
			time.Sleep(time.Microsecond) // let the writer drain and stop
		}
	}
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		done := len(r.ids) == n
		r.mu.Unlock()
		if done {
			break
		}
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("wrote %d of %d", len(r.ids), n)
		}
	}
	for i, id := range r.ids {
		if id != i {
			t.Fatalf("item %d is %d", i, id)
		}
	}
	if r.overlaps > 0 {
		t.Fatalf("%d writes overlapped", r.overlaps)
	}
	s.Close()
	for {
		r.mu.Lock()
		ends := append([]error(nil), r.ends...)
		r.mu.Unlock()
		if len(ends) > 0 {
			if len(ends) != 1 || ends[0] != nil {
				t.Fatalf("ends %v", ends)
			}
			break
		}
		select {
		case <-time.After(time.Millisecond): // End is not a Write: poll for it
		case <-deadline:
			t.Fatal("no end")
		}
	}
}

// An idle session gets heartbeats from its timer, with no goroutine of its
// own: a ping message, and the Conn's check of the path, each interval.
func TestConnectHeartbeats(t *testing.T) {
	h, _ := testHub(t, Options{})
	r := &recorder{got: make(chan struct{}, 1)}
	s := h.Connect(context.Background(), r, Info{Transport: "test", Heartbeat: 5 * time.Millisecond}, wire.Request{}, nil)
	defer s.Close()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		beats, pings := r.beats, r.pings
		r.mu.Unlock()
		if beats >= 3 && pings >= 3 {
			break
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			t.Fatal("an idle session got no heartbeats")
		}
	}
}
