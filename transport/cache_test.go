package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

func frame(topic string, seq uint64) *wire.Frame {
	return wire.UpdateFrame(&message.Update{Topic: topic, Kind: message.State, Data: json.RawMessage(`{}`), Time: time.Unix(0, 0), Seq: seq}, 1)
}

// randomName joins 1 to maxTokens tokens drawn from tokens.
func randomName(r *rand.Rand, tokens []string, maxTokens int) string {
	n := 1 + r.IntN(maxTokens)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = tokens[r.IntN(len(tokens))]
	}
	return strings.Join(parts, ".")
}

func randomPattern(r *rand.Rand) string {
	p := strings.Split(randomName(r, []string{"a", "b", "c", "d", "*", "*"}, 5), ".")
	if r.IntN(3) == 0 {
		p[len(p)-1] = ">"
	}
	return strings.Join(p, ".")
}

// matched is how often c.match visits each topic for the patterns.
func matched(t *testing.T, c *cache, patterns []string) map[string]int {
	t.Helper()
	got := map[string]int{}
	err := c.match(context.Background(), patterns, func(f *wire.Frame) bool {
		got[f.Topic]++
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// The trie finds exactly the topics message.Match accepts for one of the
// patterns, each once, as topics come and go.
func TestCacheMatchesLikeMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	c := newCache(1 << 20)
	known := map[string]uint64{}
	var seq uint64
	for round := range 6 {
		for range 400 {
			seq++
			topic := randomName(r, []string{"a", "b", "c", "d"}, 5)
			if !c.store(frame(topic, seq)) {
				t.Fatal("store refused below the cap")
			}
			known[topic] = seq
		}
		if round%2 == 1 { // forget the older half
			below := seq - 400
			if n := c.forget(below); n == 0 {
				t.Fatal("nothing forgotten")
			}
			for topic, s := range known {
				if s < below {
					delete(known, topic)
				}
			}
		}
		if c.len() != len(known) {
			t.Fatalf("cache holds %d topics, want %d", c.len(), len(known))
		}
		for range 300 {
			patterns := make([]string, 1+r.IntN(6))
			for i := range patterns {
				patterns[i] = randomPattern(r)
			}
			got := matched(t, c, patterns)
			for topic := range known {
				want := 0
				if matchAny(patterns, topic) {
					want = 1
				}
				if got[topic] != want {
					t.Fatalf("patterns %q topic %q: visited %d times, want %d", patterns, topic, got[topic], want)
				}
			}
			for topic := range got {
				if _, ok := known[topic]; !ok {
					t.Fatalf("patterns %q: visited %q, which is not known", patterns, topic)
				}
			}
		}
	}
	// Forgetting every topic leaves the trie empty: nothing is kept for a
	// topic that is gone.
	c.forget(seq + 1)
	if c.len() != 0 || !c.root.leaf() {
		t.Fatalf("after forgetting all: %d topics, trie empty %v", c.len(), c.root.leaf())
	}
}

// A walk stops when visit says so, and when its context ends.
func TestCacheMatchStops(t *testing.T) {
	c := newCache(1 << 20)
	for i := range 5000 {
		c.store(frame(fmt.Sprintf("s.%d", i), uint64(i+1)))
	}
	n := 0
	if err := c.match(context.Background(), []string{">", "s.*"}, func(*wire.Frame) bool { n++; return n < 10 }); err != nil || n != 10 {
		t.Fatalf("visited %d after visit said stop at 10: %v", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	err := c.match(ctx, []string{"s.*"}, func(*wire.Frame) bool {
		if n++; n == 100 {
			cancel()
		}
		return true
	})
	if !errors.Is(err, context.Canceled) || n >= 100+matchCheck {
		t.Fatalf("visited %d after cancel at 100: %v", n, err)
	}
}

// The cache keeps at most max topics, updates of known ones still come in,
// and a forgotten topic makes room.
func TestCacheCap(t *testing.T) {
	c := newCache(3)
	for i, topic := range []string{"a", "b", "c"} {
		if !c.store(frame(topic, uint64(i+1))) {
			t.Fatalf("%s refused below the cap", topic)
		}
	}
	if c.store(frame("d", 4)) || c.known("d") || c.len() != 3 {
		t.Fatalf("a fourth topic was kept: len %d", c.len())
	}
	if !c.store(frame("a", 5)) || c.lookup("a").f.Load().Seq != 5 {
		t.Fatal("an update of a known topic was refused at the cap")
	}
	if n := c.forget(4); n != 2 || c.known("b") || c.known("c") || !c.known("a") {
		t.Fatalf("forget(4) dropped %d; a known %v", n, c.known("a"))
	}
	if !c.store(frame("d", 6)) {
		t.Fatal("no room after forgetting")
	}
}

// Walks, listings, updates, new topics and forgetting all run at once
// (under -race this checks the lock-free reads), and no walk sees a
// forgotten value or misses a topic that stays.
func TestCacheConcurrent(t *testing.T) {
	c := newCache(1 << 20)
	stable := make([]string, 200)
	for i := range stable {
		stable[i] = fmt.Sprintf("keep.%d", i)
		c.store(frame(stable[i], 1_000_000_000))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { // the fan-out: churns topics, updates the stable ones
		for seq := uint64(1); ctx.Err() == nil; seq++ {
			c.store(frame(fmt.Sprintf("churn.%d.%d", seq%50, seq%7), seq))
			c.store(frame(stable[seq%200], 1_000_000_000+seq))
		}
	})
	wg.Go(func() { // the sweep
		for seq := uint64(0); ctx.Err() == nil; seq += 100 {
			c.forget(seq)
		}
	})
	for range 200 {
		got := map[string]int{}
		_ = c.match(ctx, []string{"keep.*", "churn.>"}, func(f *wire.Frame) bool {
			got[f.Topic]++
			return true
		})
		for _, topic := range stable {
			if got[topic] != 1 {
				t.Errorf("walk visited %s %d times", topic, got[topic])
			}
		}
		page, _ := c.topics("keep.", "", 1000, nil)
		if len(page) != len(stable) {
			t.Errorf("listing of keep.: %d topics", len(page))
		}
	}
	cancel()
	wg.Wait()
}

// Pages of the listing, in order, are every topic with the prefix once.
func TestCacheTopicsPages(t *testing.T) {
	c := newCache(1 << 20)
	r := rand.New(rand.NewPCG(5, 6))
	var want []string
	for i := range 3000 {
		topic := randomName(r, []string{"a", "b-x", "b", "c_1", "A"}, 4)
		if c.store(frame(topic, uint64(i+1))) && !slices.Contains(want, topic) {
			want = append(want, topic)
		}
	}
	slices.Sort(want)
	for _, prefix := range []string{"", "b", "b.", "b.a", "b-x.c_", "A.b.", "zz", "zz.a"} {
		var wantP []string
		for _, topic := range want {
			if strings.HasPrefix(topic, prefix) {
				wantP = append(wantP, topic)
			}
		}
		for _, limit := range []int{1, 7, 1000, 10_000} {
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				page, more := c.topics(prefix, after, limit, nil)
				if len(page) > limit || more && len(page) != limit || pages > len(want) {
					t.Fatalf("prefix %q limit %d: page of %d, more %v", prefix, limit, len(page), more)
				}
				got = append(got, page...)
				if !more {
					break
				}
				after = page[len(page)-1]
			}
			if !slices.Equal(got, wantP) {
				t.Fatalf("prefix %q limit %d: %d topics listed, want %d", prefix, limit, len(got), len(wantP))
			}
		}
	}
}
