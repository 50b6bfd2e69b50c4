package transport

import (
	"container/heap"
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport/wire"
)

// cache keeps the latest update of every known topic: what snapshots are
// made of. Topics sit in a token trie, so that a pattern walks only the
// branches it can match (stocks.* visits the children of stocks, a topic
// without wildcards is one lookup), and in a map by name, so that a new
// update of a known topic is one lookup and an atomic swap.
//
// A walk holds no lock across its work: each topic's value is an atomic
// pointer, and a node's children are copied out under that node's read
// lock, so a snapshot that walks for long never holds up the fan-out.
// mu guards byName and is held for writing only to add or remove a topic,
// which the fan-out (adding) and the sweep (forgetting) do; a node's own
// lock is held for writing only while a child is added or removed.
type cache struct {
	max    int // the most topics kept
	mu     sync.RWMutex
	byName map[string]*cnode
	root   cnode
}

// cnode is one token of the trie: the latest update of the topic that
// ends here, if one does, and the next tokens.
type cnode struct {
	parent *cnode
	tok    string
	f      atomic.Pointer[wire.Frame] // nil: no topic ends here
	mu     sync.RWMutex               // guards next
	next   map[string]*cnode          // made with the first child
}

// swap makes f the latest update of n's topic; false when n holds none
// (it was forgotten).
func (n *cnode) swap(f *wire.Frame) bool {
	old := n.f.Load()
	return old != nil && n.f.CompareAndSwap(old, f)
}

func (n *cnode) child(tok string) *cnode {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.next[tok]
}

// appendKids appends n's children to dst.
func (n *cnode) appendKids(dst []*cnode) []*cnode {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, c := range n.next {
		dst = append(dst, c)
	}
	return dst
}

func (n *cnode) leaf() bool {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.next) == 0
}

// addChild makes a child for tok. Caller holds the cache's mu.
func (n *cnode) addChild(tok string) *cnode {
	c := &cnode{parent: n, tok: tok}
	n.mu.Lock()
	if n.next == nil {
		n.next = make(map[string]*cnode)
	}
	n.next[tok] = c
	n.mu.Unlock()
	return c
}

// removeChild drops c. Caller holds the cache's mu.
func (n *cnode) removeChild(c *cnode) {
	n.mu.Lock()
	delete(n.next, c.tok)
	if len(n.next) == 0 {
		n.next = nil
	}
	n.mu.Unlock()
}

func newCache(max int) *cache { return &cache{max: max, byName: make(map[string]*cnode)} }

// len is how many topics the cache keeps.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byName)
}

// lookup returns the node of a known topic, or nil.
func (c *cache) lookup(topic string) *cnode {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byName[topic]
}

// known reports whether the cache keeps topic.
func (c *cache) known(topic string) bool { return c.lookup(topic) != nil }

// store keeps f as the latest update of its topic. It reports false when
// the topic is new and the cache already keeps max topics: f is then not
// kept. Only the fan-out stores, so updates of a topic come in order.
func (c *cache) store(f *wire.Frame) bool {
	if n := c.lookup(f.Topic); n != nil && n.swap(f) {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Under mu a topic found is live: the sweep forgets under mu too.
	if n := c.byName[f.Topic]; n != nil && n.swap(f) {
		return true
	}
	if len(c.byName) >= c.max {
		return false
	}
	n := &c.root
	for tok := range strings.SplitSeq(f.Topic, ".") {
		next := n.child(tok)
		if next == nil {
			next = n.addChild(tok)
		}
		n = next
	}
	n.f.Store(f)
	c.byName[f.Topic] = n
	return true
}

// forgetBatch is how many topics the sweep forgets per hold of mu, so
// that a topic the fan-out adds meanwhile waits little.
const forgetBatch = 256

// forget drops every topic whose latest update has a sequence below seq,
// and returns how many it dropped. A topic updated meanwhile stays.
func (c *cache) forget(seq uint64) int {
	var old []*wire.Frame
	w := walk{ctx: context.Background(), visit: func(f *wire.Frame) bool {
		if f.Seq < seq {
			old = append(old, f)
		}
		return true
	}}
	w.below(&c.root)
	dropped := 0
	for batch := range slices.Chunk(old, forgetBatch) {
		c.mu.Lock()
		for _, f := range batch {
			// Only if f is still the latest: the swap fails otherwise.
			if n := c.byName[f.Topic]; n != nil && n.f.CompareAndSwap(f, nil) {
				delete(c.byName, f.Topic)
				c.prune(n)
				dropped++
			}
		}
		c.mu.Unlock()
	}
	return dropped
}

// prune drops n and its parents while they hold nothing. Caller holds mu.
func (c *cache) prune(n *cnode) {
	for n.parent != nil && n.f.Load() == nil && n.leaf() {
		n.parent.removeChild(n)
		n = n.parent
	}
}

// matchCheck is how many trie nodes a walk visits between looks at its
// context.
const matchCheck = 1024

// match calls visit with the latest update of every topic matching at
// least one of the patterns, each once, until visit returns false or ctx
// ends. The patterns are walked down the trie together, each node once: a
// literal token is a lookup, "*" visits the children of its node, ">"
// everything below it, so a walk costs about the nodes on the branches the
// patterns can match, times the patterns still alive there.
func (c *cache) match(ctx context.Context, patterns []string, visit func(*wire.Frame) bool) error {
	w := walk{ctx: ctx, visit: visit, states: append(make([]string, 0, 4*len(patterns)), patterns...)}
	w.node(&c.root, 0, len(patterns))
	return w.err
}

// walk is one pass over the trie. Two stacks hold what the nodes on the
// path need, each node's share appended after its parent's and dropped
// when it is done: states, what is left of the patterns still alive at
// each node (a node's are states[lo:hi]); kids, the children of each node
// being gone through, copied out of it.
type walk struct {
	ctx    context.Context
	visit  func(*wire.Frame) bool
	states []string
	kids   []*cnode
	steps  int
	err    error
}

// node visits n's topic if a pattern ends at n ("" in its states), and
// what the rest of the patterns match below it. It reports whether to go
// on.
func (w *walk) node(n *cnode, lo, hi int) bool {
	if !w.tick() {
		return false
	}
	here, star, below := false, false, false
	for _, p := range w.states[lo:hi] {
		switch {
		case p == "":
			here = true
		case p == ">":
			below = true
		case p == "*" || strings.HasPrefix(p, "*."):
			star = true
		}
	}
	if here && !w.frame(n) {
		return false
	}
	if below {
		return w.below(n) // every topic below n matches
	}
	if star {
		klo := len(w.kids)
		w.kids = n.appendKids(w.kids)
		more := true
		for i := klo; i < len(w.kids) && more; i++ {
			more = w.child(w.kids[i], lo, hi)
		}
		w.dropKids(klo)
		return more
	}
	for i, p := range w.states[lo:hi] {
		tok, _, _ := strings.Cut(p, ".")
		if tok == "" || w.seen(tok, lo, lo+i) {
			continue
		}
		if c := n.child(tok); c != nil && !w.child(c, lo, hi) {
			return false
		}
	}
	return true
}

// seen reports whether a state of states[lo:hi] starts with tok.
func (w *walk) seen(tok string, lo, hi int) bool {
	for _, p := range w.states[lo:hi] {
		if t, _, _ := strings.Cut(p, "."); t == tok {
			return true
		}
	}
	return false
}

// child visits c with what is left of the patterns of its parent,
// states[lo:hi], that its token matches.
func (w *walk) child(c *cnode, lo, hi int) bool {
	clo := len(w.states)
	for i := lo; i < hi; i++ {
		tok, rest, _ := strings.Cut(w.states[i], ".")
		if tok == "*" || tok == c.tok {
			w.states = append(w.states, rest)
		}
	}
	more := true
	if len(w.states) > clo {
		more = w.node(c, clo, len(w.states))
	}
	w.states = w.states[:clo]
	return more
}

// below visits every topic below n.
func (w *walk) below(n *cnode) bool {
	klo := len(w.kids)
	w.kids = n.appendKids(w.kids)
	more := true
	for i := klo; i < len(w.kids) && more; i++ {
		c := w.kids[i]
		more = w.tick() && w.frame(c) && w.below(c)
	}
	w.dropKids(klo)
	return more
}

// dropKids ends the children copied from lo on.
func (w *walk) dropKids(lo int) {
	clear(w.kids[lo:])
	w.kids = w.kids[:lo]
}

// tick counts a node visited and reports whether to go on: false once
// the context has ended, which it looks at every matchCheck nodes. A long
// walk yields there too, so that the goroutines an update passes through
// on its way to subscribers, when the network wakes them, find a CPU
// sooner than the scheduler's 10 ms turns would give them.
func (w *walk) tick() bool {
	if w.steps++; w.steps%matchCheck == 0 {
		w.err = w.ctx.Err()
		runtime.Gosched()
	}
	return w.err == nil
}

// frame visits n's topic, if one ends there.
func (w *walk) frame(n *cnode) bool {
	if f := n.f.Load(); f != nil {
		return w.visit(f)
	}
	return true
}

// topics returns, sorted, the first limit known topics that start with
// prefix, sort after after and are readable (every one, when readable is
// nil), and whether more follow. It costs one pass
// over the topics below the prefix's whole tokens ("sports.nba.g1" looks
// under sports.nba), whatever the page.
func (c *cache) topics(prefix, after string, limit int, readable func(string) bool) ([]string, bool) {
	n := &c.root
	if i := strings.LastIndexByte(prefix, '.'); i >= 0 {
		for tok := range strings.SplitSeq(prefix[:i], ".") {
			if n = n.child(tok); n == nil {
				return []string{}, false
			}
		}
	}
	page := make(topHeap, 0, min(limit+1, c.len()+1))
	w := walk{ctx: context.Background(), visit: func(f *wire.Frame) bool {
		t := f.Topic
		if t <= after || !strings.HasPrefix(t, prefix) || readable != nil && !readable(t) {
			return true
		}
		if len(page) <= limit {
			heap.Push(&page, t)
		} else if t < page[0] {
			page[0] = t
			heap.Fix(&page, 0)
		}
		return true
	}}
	w.below(n)
	slices.Sort(page)
	if len(page) > limit {
		return page[:limit], true
	}
	return page, false
}

// topHeap keeps the smallest topics seen, the largest of them on top.
type topHeap []string

func (h topHeap) Len() int           { return len(h) }
func (h topHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h topHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *topHeap) Push(x any)        { *h = append(*h, x.(string)) }
func (h *topHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func matchAny(patterns []string, topic string) bool {
	for _, p := range patterns {
		if message.Match(p, topic) {
			return true
		}
	}
	return false
}
