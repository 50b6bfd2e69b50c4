package transport

import (
	"runtime"
	"sync"

	"github.com/tickerd/tickerd/transport/wire"
)

// writerPool is the fixed set of goroutines that write for every session
// whose Conn can write without waiting (TryConn). A woken writer joins the
// back of one queue; each goroutine takes a few from the front and gives
// each one turn, in which everything its session has queued goes out in
// one write. While the pool is busy, queues grow and each turn carries
// more ("smart batching"): an idle machine writes each update at once, as
// a goroutine per wake would, and a loaded one writes fewer, larger
// messages, where a goroutine per wake would pile the backlog up in the
// scheduler, one small write each. A turn never waits for a subscriber:
// a writer that would leaves the pool for a goroutine of its own
// (writer.slow).
//
// It is the process's one pool, started on first use, as the hubs of a
// process share its cores; its goroutines idle on a condition when there
// is nothing to write.
type writerPool struct {
	start sync.Once
	mu    sync.Mutex
	cond  sync.Cond
	queue []*writer // from head on: the writers waiting for a turn
	head  int
	idle  int // goroutines waiting on cond, less those already signalled
}

var pool writerPool

// poolSize is how many goroutines the pool runs: one per core. A turn
// never waits, so more would not keep the cores busier (two per core
// measured no cheaper against the ceiling server, docs/benchmarks.md).
func poolSize() int { return runtime.GOMAXPROCS(0) }

// turnBatch is how many writers a goroutine takes from the queue at once:
// enough that the queue's lock is not taken per turn, few enough that the
// others share the work.
const turnBatch = 32

// add gives w a turn. w is in the queue at most once: its running flag
// is set until its turn ends.
func (p *writerPool) add(w *writer) {
	p.start.Do(p.run)
	p.mu.Lock()
	if p.head > 0 && len(p.queue) == cap(p.queue) {
		// Full, with room at the front that the turns taken left.
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue, p.head = p.queue[:n], 0
	}
	p.queue = append(p.queue, w)
	wake := p.idle > 0
	if wake {
		p.idle--
	}
	p.mu.Unlock()
	if wake {
		p.cond.Signal()
	}
}

// run starts the pool's goroutines.
func (p *writerPool) run() {
	p.cond.L = &p.mu
	for range poolSize() {
		go p.work()
	}
}

// work gives turns to the writers in the queue, a batch at a time.
func (p *writerPool) work() {
	batch := make([]*writer, 0, turnBatch)
	var buf []wire.Item // the turns' scratch
	for {
		p.mu.Lock()
		for p.head == len(p.queue) {
			p.queue, p.head = p.queue[:0], 0
			p.idle++
			p.cond.Wait()
		}
		n := min(len(p.queue)-p.head, turnBatch)
		batch = append(batch[:0], p.queue[p.head:p.head+n]...)
		clear(p.queue[p.head : p.head+n])
		p.head += n
		p.mu.Unlock()
		for _, w := range batch {
			buf = w.turn(buf)
		}
		clear(batch)
	}
}
