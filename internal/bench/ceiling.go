package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickerd/tickerd/transport/wire"
)

// CeilingWriters is how many goroutines the ceiling server writes with by
// default: the bare server the issue measured (issue 11) had 4.
const CeilingWriters = 4

// ceiling is the least a server can do to fan updates out over
// WebSockets, the machine's ceiling against which `tickerd bench
// --ceiling` sets Tickerd: it frames each update once, header and all,
// and a few writer goroutines write those bytes to every socket of its
// topic, one blocking write each. No library, no deadlines, no queues, no
// goroutine per connection, no history, no snapshot: what it leaves out
// is what a real server must pay for.
type ceiling struct {
	token string
	jobs  []chan ceilingJob // one per writer

	mu    sync.Mutex
	conns map[string][]net.Conn // by topic, copied on change

	seq        uint64 // guarded by mu
	updates    atomic.Int64
	deliveries atomic.Int64
}

// ceilingJob is one framed update for a writer: the sockets it owns are
// conns[i] for i ≡ its index (mod writers).
type ceilingJob struct {
	frame []byte
	conns []net.Conn
}

// ServeCeiling runs the ceiling server on ln until ctx ends: WebSockets on
// /v1/ws?topics=T (one topic), NDJSON publishes on POST /v1/publish with
// token as bearer, /readyz, /metrics (the counters the bench reads) and
// /debug/pprof/.
func ServeCeiling(ctx context.Context, ln net.Listener, token string, writers int) error {
	c := &ceiling{token: token, conns: map[string][]net.Conn{}}
	var wg sync.WaitGroup
	// Every channel exists before any writer starts: a writer owns every
	// len(c.jobs)th socket, and one that read the length while the list
	// was still growing would write sockets another writer owns too.
	for range max(writers, 1) {
		c.jobs = append(c.jobs, make(chan ceilingJob, 1024))
	}
	for i, jobs := range c.jobs {
		wg.Go(func() { c.write(i, jobs) })
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /v1/ws", c.subscribe)
	mux.HandleFunc("POST /v1/publish", c.publish)
	mux.HandleFunc("GET /metrics", c.metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	err := srv.Serve(ln)
	for _, jobs := range c.jobs {
		close(jobs)
	}
	wg.Wait()
	c.mu.Lock()
	for _, cs := range c.conns {
		for _, conn := range cs {
			if conn != nil {
				conn.Close()
			}
		}
	}
	c.mu.Unlock()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// write is writer i: it writes each job's frame to the sockets it owns.
func (c *ceiling) write(i int, jobs <-chan ceilingJob) {
	n := len(c.jobs)
	for j := range jobs {
		written := 0
		for k := i; k < len(j.conns); k += n {
			if j.conns[k] == nil {
				continue
			}
			if _, err := j.conns[k].Write(j.frame); err != nil {
				c.drop(j.conns[k])
				continue
			}
			written++
		}
		c.deliveries.Add(int64(written))
	}
}

// subscribe takes a WebSocket for one topic: the handshake by hand, a
// snapshot message (the bench's sign of being subscribed), and then the
// socket is only written to.
func (c *ceiling) subscribe(w http.ResponseWriter, r *http.Request) {
	topic, key := r.URL.Query().Get("topics"), r.Header.Get("Sec-WebSocket-Key")
	if topic == "" || key == "" {
		http.Error(w, "want a WebSocket upgrade for ?topics=T", http.StatusBadRequest)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	b := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
	b = append(append(b, wsAccept(key)...), "\r\n\r\n"...)
	b = append(b, textFrame([]byte(`{"type":"snapshot","cursor":"0","reset":false,"items":[]}`))...)
	if _, err := conn.Write(b); err != nil {
		conn.Close()
		return
	}
	c.mu.Lock()
	c.conns[topic] = append(c.conns[topic][:len(c.conns[topic]):len(c.conns[topic])], conn)
	c.mu.Unlock()
}

// drop forgets a socket whose write failed: its client went. Its slot
// stays, empty, so that every other socket keeps its writer.
func (c *ceiling) drop(conn net.Conn) {
	conn.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for topic, cs := range c.conns {
		for i, x := range cs {
			if x == conn {
				cs = append([]net.Conn(nil), cs...)
				cs[i] = nil
				c.conns[topic] = cs
				return
			}
		}
	}
}

// publish frames each NDJSON update once and hands it to every writer.
func (c *ceiling) publish(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+c.token {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		var u struct {
			Topic string          `json:"topic"`
			Kind  string          `json:"kind"`
			Data  json.RawMessage `json:"data"`
			Time  time.Time       `json:"time"`
		}
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.seq++
		seq, conns := c.seq, c.conns[u.Topic]
		c.mu.Unlock()
		msg := make([]byte, 0, 128+len(u.Topic)+len(u.Data))
		msg = append(append(msg, `{"type":"update","topic":"`...), u.Topic...)
		msg = append(append(msg, `","kind":"`...), u.Kind...)
		msg = append(append(msg, `","data":`...), u.Data...)
		msg = u.Time.UTC().AppendFormat(append(msg, `,"time":"`...), "2006-01-02T15:04:05.000Z")
		msg = append(strconv.AppendUint(append(msg, `","cursor":"`...), seq, 10), `"}`...)
		frame := textFrame(msg)
		for _, jobs := range c.jobs {
			jobs <- ceilingJob{frame: frame, conns: conns}
		}
		c.updates.Add(1)
		n++
	}
	if err := sc.Err(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, `{"published":%d}`+"\n", n)
}

// metrics answers with the counters the bench reads, in Prometheus's text
// format, under Tickerd's names.
func (c *ceiling) metrics(w http.ResponseWriter, _ *http.Request) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	c.mu.Lock()
	sessions := 0
	for _, cs := range c.conns {
		for _, conn := range cs {
			if conn != nil {
				sessions++
			}
		}
	}
	c.mu.Unlock()
	fmt.Fprintf(w, "tickerd_deliveries_total %d\ntickerd_updates_received_total %d\ntickerd_sessions %d\n",
		c.deliveries.Load(), c.updates.Load(), sessions)
	fmt.Fprintf(w, "go_memstats_heap_inuse_bytes %d\ngo_memstats_stack_inuse_bytes %d\n", ms.HeapInuse, ms.StackInuse)
}

// textFrame is payload as one unmasked WebSocket text frame, framed as
// the gateway frames its own (wire.WSText).
func textFrame(payload []byte) []byte {
	return wire.WSText(append(make([]byte, wire.WSHeadroom, wire.WSHeadroom+len(payload)), payload...))
}
