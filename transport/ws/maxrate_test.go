package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/ws"
)

// A max_rate=1 subscriber (asked on the URL, or in a subscribe) to a state
// topic updated 50 times a second gets about one update a second, each
// standing for every one since the last it got (merged), the last value
// once publishing stops; and every event of an event topic, in order.
func TestMaxRate(t *testing.T) {
	const (
		publishing = 3 * time.Second
		every      = 20 * time.Millisecond // 50 a second
	)
	f := newFixture(t, transport.Options{}, ws.Options{})
	f.publish("rate.s", message.State, `{"n":0}`)

	byURL := f.dial("?topics=rate.s,rate.ev&max_rate=1")
	byURL.expect("hello")
	byURL.expect("snapshot")
	byCmd := f.dial("")
	byCmd.expect("hello")
	byCmd.send(`{"type":"subscribe","id":1,"topics":["rate.s","rate.ev"],"max_rate":1}`)
	byCmd.expect("ack")
	byCmd.expect("snapshot")

	// The readers read as it comes, to see the pace; they learn the
	// totals once publishing ends.
	final := make(chan [2]int, 2)
	var wg sync.WaitGroup
	for name, c := range map[string]*client{"url": byURL, "subscribe": byCmd} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			checkRated(t, name, c, final, publishing)
		}()
	}
	ctx := context.Background()
	var lastState, events int
	start := time.Now()
	for n := 1; time.Since(start) < publishing; n++ {
		u := message.Update{Topic: "rate.s", Kind: message.State, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)), Time: time.Now()}
		if _, err := f.st.PublishSeq(ctx, u); err != nil {
			t.Fatal(err)
		}
		lastState = n
		if n%5 == 0 {
			events++
			e := message.Update{Topic: "rate.ev", Kind: message.Event, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, events)), Time: time.Now()}
			if _, err := f.st.PublishSeq(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(every) // the feed's pace
	}

	final <- [2]int{lastState, events}
	final <- [2]int{lastState, events}
	wg.Wait()
}

// checkRated reads c until it has the last state and every event, which
// it learns from final once publishing ends.
func checkRated(t *testing.T, name string, c *client, final chan [2]int, publishing time.Duration) {
	type stamped struct {
		m  msg
		at time.Time
	}
	msgs := make(chan stamped, 1024)
	go func() {
		defer close(msgs)
		for {
			m, err := c.read(10 * time.Second)
			if err != nil {
				return
			}
			msgs <- stamped{m, time.Now()}
		}
	}()
	prev, gotEvents := 0, 0
	lastState, events := -1, -1
	var stamps []time.Time
	for prev != lastState || gotEvents != events {
		var sm stamped
		select {
		case f := <-final:
			lastState, events = f[0], f[1]
			continue
		case m, ok := <-msgs:
			if !ok {
				t.Errorf("%s: connection ended (state at %d of %d, %d events of %d)", name, prev, lastState, gotEvents, events)
				return
			}
			sm = m
		}
		m := sm.m
		var d struct{ N int }
		_ = json.Unmarshal(m.Data, &d)
		switch m.Topic {
		case "rate.ev":
			gotEvents++
			if d.N != gotEvents {
				t.Errorf("%s: event #%d, want #%d", name, d.N, gotEvents)
				return
			}
		case "rate.s":
			// It stands for every update since the last one got.
			if d.N <= prev || m.Merged != d.N-prev-1 {
				t.Errorf("%s: state %d merged %d after %d", name, d.N, m.Merged, prev)
				return
			}
			prev = d.N
			stamps = append(stamps, sm.at)
		}
	}
	c.c.CloseNow() // ends the read goroutine
	secs := int(publishing / time.Second)
	t.Logf("%s: %d state updates of %d, %d events", name, len(stamps), lastState, gotEvents)
	if len(stamps) < secs-1 || len(stamps) > secs+2 {
		t.Errorf("%s: %d state updates in %v at max_rate=1, want about one a second", name, len(stamps), publishing)
	}
	for i := 1; i < len(stamps); i++ {
		if d := stamps[i].Sub(stamps[i-1]); d < 700*time.Millisecond {
			t.Errorf("%s: state updates %v apart at max_rate=1", name, d)
		}
	}
}
