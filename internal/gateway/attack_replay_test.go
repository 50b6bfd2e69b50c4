package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
)

// The forged cursor of issue #9: a cursor at sequence 1 over ">" on a
// stream with many updates made every poll scan JetStream. A cursor
// further back than MaxReplay is now a reset, decided before any read, so
// it costs a small fraction of one scan of the stream, alone or 20 at
// once; a cursor within the limit still gets every update once, in order.
func TestAttackForgedCursor(t *testing.T) {
	const (
		topics, perTopic = 600, 100
		updates          = topics * perTopic
		maxReplay        = 10_000
		concurrent       = 20
	)
	cfg := Config{}
	cfg.Hub.MaxReplay = maxReplay
	cfg.Hub.RingSize = 1024 // most of the stream is only in JetStream
	g, srv := testGateway(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var last uint64
	for i := 0; i < updates; i += 1000 {
		batch := make([]message.Update, 0, 1000)
		for j := i; j < i+1000; j++ {
			batch = append(batch, message.Update{Topic: fmt.Sprintf("forged.t%d", j%topics), Kind: message.Event,
				Time: time.Now(), Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, j))})
		}
		var err error
		if last, _, err = g.Stream().PublishBatch(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Hub().Await(ctx, last); err != nil {
		t.Fatal(err)
	}

	// What a full scan costs here and now (-race, a loaded machine): the
	// bound the answers below are held to.
	start := time.Now()
	scanned := 0
	if err := g.Stream().Replay(ctx, 0, []string{">"}, func(message.Update) bool { scanned++; return true }); err != nil {
		t.Fatal(err)
	}
	fullScan := time.Since(start)
	t.Logf("one scan of the %d updates takes %v", scanned, fullScan.Round(time.Millisecond))

	epoch := g.Hub().Epoch()
	cursor := func(seq uint64) string { return message.Cursor{Epoch: epoch, Seq: seq}.String() }
	forged := func() (pollResponse, error) { return longPoll(srv.URL, ">", cursor(1), 0) }
	expectReset := func(r pollResponse, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) != 1 || r.Messages[0].Type != "snapshot" || !r.Messages[0].Reset || len(r.Messages[0].Items) != topics {
			t.Fatalf("forged cursor: %d messages, want one reset snapshot of %d topics", len(r.Messages), topics)
		}
	}

	start = time.Now()
	expectReset(forged())
	one := time.Since(start)

	start = time.Now()
	var wg sync.WaitGroup
	type result struct {
		r   pollResponse
		err error
	}
	results := make(chan result, concurrent)
	for range concurrent {
		wg.Go(func() {
			r, err := forged()
			results <- result{r, err}
		})
	}
	wg.Wait()
	close(results)
	for r := range results {
		expectReset(r.r, r.err)
	}
	all := time.Since(start)

	ws := dialWS(t, srv.URL, "?topics="+url.QueryEscape(">")+"&cursor="+cursor(1))
	start = time.Now()
	ws.expect("hello")
	if m := ws.expect("snapshot"); !m.Reset || len(m.Items) != topics {
		t.Fatalf("forged cursor on WebSocket: snapshot reset %v with %d items", m.Reset, len(m.Items))
	}
	overWS := time.Since(start)
	t.Logf("forged cursor: one poll %v, %d concurrent polls %v, WebSocket %v",
		one.Round(time.Millisecond), concurrent, all.Round(time.Millisecond), overWS.Round(time.Millisecond))
	if one > fullScan/4 || overWS > fullScan/4 || all > fullScan {
		t.Errorf("forged cursors cost a poll %v, %d polls %v, a WebSocket %v; one scan is %v",
			one, concurrent, all, overWS, fullScan)
	}

	// Within the limit, paging through by poll gets every update after
	// the cursor once, in order.
	from := last - maxReplay
	next, seq := cursor(from), from
	for seq < last {
		r, err := longPoll(srv.URL, ">", next, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			t.Fatalf("poll from %d returned nothing, want up to %d", seq, last)
		}
		for _, m := range r.Messages {
			c, err := message.ParseCursor(m.Cursor)
			if m.Type != "update" || err != nil || c.Seq != seq+1 {
				t.Fatalf("after %d got %s at %d (%v), want update %d", seq, m.Type, c.Seq, err, seq+1)
			}
			seq = c.Seq
		}
		next = r.Cursor
	}
}
