package poll_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/hubtest"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/poll"
)

// BenchmarkPollBehind is a poll whose answer the hub already holds: a
// cursor ten updates behind the head on one topic among others. "ring" is
// the handler as served; "session" answers through a session, as every
// poll was before, in the same run. The handler is called with a recorder
// ("handler") and through a real loopback server with a keep-alive client
// ("loopback", whose CPU is the client's and the server's together).
// "static" writes the same answer from memory: the floor of any handler,
// and with loopback the cost of the client and net/http alone.
// cpu-µs/op is the process's CPU (getrusage) per poll, every goroutine
// included; the linger a session waits costs time, not CPU.
func BenchmarkPollBehind(b *testing.B) {
	hub, st := hubtest.Start(b, transport.Options{})
	var last uint64
	for i := range 200 {
		topic := "bench.other"
		if i%4 == 0 {
			topic = "bench.x"
		}
		// Events: a resume conflates state, so ten states of one topic
		// would be one message.
		last = hubtest.Publish(b, hub, st, topic, message.Event, `{"price":187.5,"volume":1200}`)
	}
	from := message.Cursor{Epoch: hub.Epoch(), Seq: last - 40}.String()
	target := "/v1/poll?topics=bench.x&timeout=0&cursor=" + from
	rec := httptest.NewRecorder()
	poll.New(hub, poll.Options{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	answer := rec.Body.Bytes()
	for _, path := range []string{"ring", "session", "static"} {
		var h http.Handler = poll.New(hub, poll.Options{Logger: discard})
		switch path {
		case "session":
			poll.SessionOnly(h.(*poll.Handler))
		case "static":
			h = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(answer)
			})
		}
		b.Run(path+"/handler", func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			measure(b, func() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || rec.Body.Len() < 500 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			})
		})
		b.Run(path+"/loopback", func(b *testing.B) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			client := srv.Client()
			measure(b, func() {
				resp, err := client.Get(srv.URL + target)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || n < 500 {
					b.Fatalf("%d, %d bytes", resp.StatusCode, n)
				}
			})
		})
	}
}

// measure runs poll b.N times and reports the process's CPU per run.
func measure(b *testing.B, poll func()) {
	b.ReportAllocs()
	before := cpu(b)
	for b.Loop() {
		poll()
	}
	b.ReportMetric(float64((cpu(b)-before)/time.Microsecond)/float64(b.N), "cpu-µs/op")
}

func cpu(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
