package transport

import (
	"sort"
	"strings"
	"sync"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// cache keeps the latest update of every topic: what a snapshot is made
// of. It owns its lock.
type cache struct {
	mu   sync.RWMutex
	last map[string]*wire.Frame
}

func newCache() *cache { return &cache{last: make(map[string]*wire.Frame)} }

func (c *cache) store(f *wire.Frame) {
	c.mu.Lock()
	c.last[f.Topic] = f
	c.mu.Unlock()
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.last)
}

// latest returns the latest update of every topic matching the patterns,
// sorted by topic.
func (c *cache) latest(patterns []string) []*wire.Frame {
	var out []*wire.Frame
	c.mu.RLock()
	for t, f := range c.last {
		if matchAny(patterns, t) {
			out = append(out, f)
		}
	}
	c.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}

// topics returns the known topics that start with prefix, sorted.
func (c *cache) topics(prefix string) []string {
	c.mu.RLock()
	out := make([]string, 0, len(c.last))
	for t := range c.last {
		if strings.HasPrefix(t, prefix) {
			out = append(out, t)
		}
	}
	c.mu.RUnlock()
	sort.Strings(out)
	return out
}

func matchAny(patterns []string, topic string) bool {
	for _, p := range patterns {
		if message.Match(p, topic) {
			return true
		}
	}
	return false
}
