package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
)

// heapBytes is the live heap once collections stop freeing more than
// 256 KiB: what earlier tests left behind may take a few to go.
func heapBytes(t *testing.T) int64 {
	t.Helper()
	read := func() int64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	deadline := time.Now().Add(10 * time.Second)
	for last := read(); ; {
		time.Sleep(50 * time.Millisecond) // background work that frees has no event to wait for
		now := read()
		if last-now < 256<<10 {
			return now
		}
		if time.Now().After(deadline) {
			t.Fatalf("the heap kept shrinking: %d bytes, then %d", last, now)
		}
		last = now
	}
}

// Publishing ever more distinct topics, listing them and asking for all
// of them: past --max-known-topics a publish with new topics is 507 and
// publishes nothing; topics that arrive anyway (from another gateway, or
// straight into NATS) are routed but not kept, so the gateway's memory
// stops growing with them; /v1/topics comes in pages; and snapshot?topics=>
// over more topics than --max-snapshot is a short too_many_matches, on
// every endpoint that starts with a snapshot, instead of a huge body.
func TestAttackManyTopics(t *testing.T) {
	const known, extra, maxSnapshot = 5000, 20_000, 1000
	cfg := Config{}
	cfg.Hub.MaxKnownTopics = known
	cfg.Hub.MaxSnapshot = maxSnapshot
	cfg.Hub.RingSize = 1024   // so that what the ring holds stays out of the figures
	cfg.Hub.QueueSize = extra // the subscriber below reads after the burst
	g, srv := testGateway(t, cfg)
	base := srv.URL

	h0 := heapBytes(t)
	publishTopics(t, base, known, func(i int) string { return fmt.Sprintf("k.%05d", i) })
	h1 := heapBytes(t)

	// At the cap: a body with one new topic is refused whole; one of
	// known topics is published.
	_, before, _ := g.Stream().Bounds(context.Background())
	code, body := publish(t, base, testToken, "", `{"topic":"k.00001","kind":"state","data":2}
{"topic":"new.one","kind":"state","data":2}`)
	var e apiError
	if code != http.StatusInsufficientStorage || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "topic_capacity" {
		t.Fatalf("publish of a new topic at the cap: %d %s", code, body)
	}
	if _, after, _ := g.Stream().Bounds(context.Background()); after != before {
		t.Fatalf("a refused body stored %d updates", after-before)
	}
	mustPublish(t, base, `{"topic":"k.00001","kind":"state","data":3}`)

	// New topics straight into the stream: routed, not kept.
	sub := dialWS(t, base, "?topics=x.>")
	sub.expect("hello")
	sub.expect("snapshot")
	us := make([]message.Update, 0, 1000)
	var last uint64
	for i := range extra {
		us = append(us, message.Update{Topic: fmt.Sprintf("x.%05d", i), Kind: message.State, Data: json.RawMessage(`{"v":1}`), Time: time.Now()})
		if len(us) == cap(us) {
			var err error
			if last, _, err = g.Stream().PublishBatch(context.Background(), us); err != nil {
				t.Fatal(err)
			}
			us = us[:0]
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.Hub().Await(ctx, last); err != nil {
		t.Fatal(err)
	}
	for i := range extra {
		if m := sub.next(); m.Type != "update" || m.Topic != fmt.Sprintf("x.%05d", i) {
			t.Fatalf("subscriber got %+v, want update %d of the topics not kept", m, i)
		}
	}
	h2 := heapBytes(t)
	if n := metric(t, g, "tickerd_topics"); n != known {
		t.Errorf("tickerd_topics %v, want %d", n, known)
	}
	if n := metric(t, g, "tickerd_topics_not_kept_total"); n != extra {
		t.Errorf("tickerd_topics_not_kept_total %v, want %d", n, extra)
	}
	perKept := float64(h1-h0) / known
	perNotKept := float64(h2-h1) / extra
	t.Logf("heap: %.0f bytes per topic kept (%d, the stream's copy included), %.0f per topic not kept (%d)", perKept, known, perNotKept, extra)
	if perNotKept > perKept/2 {
		t.Errorf("topics not kept cost %.0f bytes each, kept ones %.0f", perNotKept, perKept)
	}

	// /v1/topics in pages of 1000 by default, each naming the next.
	var all []string
	after := ""
	for pages := 0; ; pages++ {
		var page struct {
			Topics []string `json:"topics"`
			Next   string   `json:"next"`
		}
		if code := getJSON(t, base+"/v1/topics?after="+after, &page); code != http.StatusOK || len(page.Topics) > 1000 || pages > known/1000 {
			t.Fatalf("page %d: %d, %d topics", pages, code, len(page.Topics))
		}
		all = append(all, page.Topics...)
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(all) != known || all[0] != "k.00000" || all[known-1] != fmt.Sprintf("k.%05d", known-1) {
		t.Fatalf("paged listing: %d topics, %q .. %q", len(all), all[0], all[len(all)-1])
	}

	// Asking for everything: a short refusal, not megabytes.
	for _, path := range []string{"/v1/snapshot?topics=%3E", "/v1/sse?topics=%3E", "/v1/poll?topics=%3E"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		var e apiError
		if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(b, &e) != nil || e.Error.Code != "too_many_matches" || len(b) > 512 {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	// A WebSocket is told, and keeps serving what fits.
	ws := dialWS(t, base, "?topics=%3E")
	ws.expect("hello")
	if m := ws.expect("error"); m.Code != "too_many_matches" {
		t.Fatalf("WebSocket with > : %+v", m)
	}
	ws.send(`{"type":"subscribe","id":7,"topics":["k.*"]}`)
	if m := ws.expect("error"); m.Code != "too_many_matches" || string(m.ID) != "7" {
		t.Fatalf("subscribe k.*: %+v", m)
	}
	ws.send(`{"type":"subscribe","id":9,"topics":["k.00001","k.00002"]}`)
	ws.expect("ack")
	if m := ws.expect("snapshot"); len(m.Items) != 2 || !strings.Contains(string(m.Items[0].Data), "3") {
		t.Fatalf("snapshot of two: %+v", m)
	}
}
