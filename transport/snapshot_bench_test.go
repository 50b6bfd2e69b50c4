package transport

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"testing"

	"github.com/tickerd/tickerd/transport/wire"
)

// benchTopics are 50k topics shaped like the demo's: 10k quotes, and 10
// leagues of 2k games, each with its events topic.
func benchTopics() []string {
	topics := make([]string, 0, 50_000)
	for i := range 10_000 {
		topics = append(topics, fmt.Sprintf("stocks.S%d", i))
	}
	for i := range 20_000 {
		game := fmt.Sprintf("sports.l%d.g%d", i%10, i)
		topics = append(topics, game, game+".events")
	}
	return topics
}

// linearLatest is the cache as it was before the trie: every topic
// matched against every pattern, under a lock that stopped the fan-out.
// It is the baseline of BenchmarkSnapshotMatch.
func linearLatest(last map[string]*wire.Frame, patterns []string) []*wire.Frame {
	var out []*wire.Frame
	for t, f := range last {
		if matchAny(patterns, t) {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}

// trieLatest is what a snapshot does now before it catches up with the
// ring: a walk of the trie, gathered and sorted.
func trieLatest(c *cache, patterns []string) []*wire.Frame {
	g := &gathered{patterns: patterns, max: 1 << 30}
	_ = c.match(context.Background(), patterns, g.add)
	g.sort()
	return g.items
}

// BenchmarkSnapshotMatch measures reading the latest values of some
// patterns over 50k topics, by the trie and by the linear scan it
// replaced, on narrow and wide patterns.
//
//	go test -run XXX -bench SnapshotMatch -benchmem ./transport/
func BenchmarkSnapshotMatch(b *testing.B) {
	topics := benchTopics()
	c := newCache(len(topics))
	last := make(map[string]*wire.Frame, len(topics))
	for i, topic := range topics {
		f := frame(topic, uint64(i+1))
		c.store(f)
		last[topic] = f
	}
	var hundred []string
	for i := range 100 {
		hundred = append(hundred, fmt.Sprintf("sports.l%d.g%d.*", i%10, i*10+i%10))
	}
	// A hundred distinct wide patterns, as a request holds them (the
	// endpoints drop repeats), none of which is ">" on its own.
	wide := []string{"*.*", "*.*.*", "*.*.*.events", "stocks.*", "sports.>", "sports.*.>", "sports.*.*", "*.*.*.*"}
	for i := 0; len(wide) < 100; i++ {
		l := i % 10
		wide = append(wide, []string{
			fmt.Sprintf("sports.l%d.*", l), fmt.Sprintf("sports.l%d.*.events", l), fmt.Sprintf("*.l%d.*", l),
			fmt.Sprintf("*.l%d.>", l), fmt.Sprintf("sports.l%d.>", l), fmt.Sprintf("*.*.g%d", i), fmt.Sprintf("*.*.g%d.*", i),
			fmt.Sprintf("*.l%d.g%d.>", l, i), fmt.Sprintf("stocks.S%d", i), fmt.Sprintf("*.S%d", i),
		}[i/10%10])
	}
	for _, bc := range []struct {
		name     string
		patterns []string
		want     int
	}{
		{"literal", []string{"stocks.S42"}, 1},
		{"one-game", []string{"sports.l3.g13.*"}, 1},
		{"hundred-games", hundred, 100},
		{"one-league", []string{"sports.l3.*"}, 2000},
		{"stocks", []string{"stocks.*"}, 10_000},
		{"all", []string{">"}, 50_000},
		{"hundred-wide", wide, 50_000},
	} {
		for _, impl := range []struct {
			name   string
			latest func([]string) []*wire.Frame
		}{
			{"trie", func(p []string) []*wire.Frame { return trieLatest(c, p) }},
			{"linear", func(p []string) []*wire.Frame { return linearLatest(last, p) }},
		} {
			b.Run(bc.name+"/"+impl.name, func(b *testing.B) {
				if n := len(impl.latest(bc.patterns)); n != bc.want {
					b.Fatalf("%d topics, want %d", n, bc.want)
				}
				b.ReportAllocs()
				for b.Loop() {
					impl.latest(bc.patterns)
				}
			})
		}
	}
}

// BenchmarkCacheMemory reports the heap one known topic costs the cache
// beyond its latest update, against the map it replaced, over the 50k
// topics of BenchmarkSnapshotMatch.
//
//	go test -run XXX -bench CacheMemory ./transport/
func BenchmarkCacheMemory(b *testing.B) {
	topics := benchTopics()
	frames := make([]*wire.Frame, len(topics))
	for i, topic := range topics {
		frames[i] = frame(topic, uint64(i+1))
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for _, impl := range []struct {
		name  string
		build func() any
	}{
		{"trie", func() any {
			c := newCache(len(frames))
			for _, f := range frames {
				c.store(f)
			}
			return c
		}},
		{"map", func() any {
			m := make(map[string]*wire.Frame, len(frames))
			for _, f := range frames {
				m[f.Topic] = f
			}
			return m
		}},
	} {
		b.Run(impl.name, func(b *testing.B) {
			var bytes uint64
			for b.Loop() {
				before := heap()
				kept := impl.build()
				bytes += heap() - before
				runtime.KeepAlive(kept)
			}
			b.ReportMetric(float64(bytes)/float64(b.N)/float64(len(frames)), "B/topic")
		})
	}
}
