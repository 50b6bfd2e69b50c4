package transport

import (
	"container/heap"
	"context"
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
// Readers take no lock: the trie's levels are sync.Maps and each topic's
// value is an atomic pointer, so a snapshot that walks for long never holds
// up the fan-out, and the fan-out never waits for a walk. mu serializes
// the two writers that change the set of topics: the fan-out adding a
// topic, the sweep forgetting them.
type cache struct {
	max    int        // the most topics kept
	mu     sync.Mutex // held to add or remove a topic
	byName sync.Map   // topic -> *entry
	root   cnode
	n      atomic.Int64
}

// entry is one topic's latest update.
type entry struct {
	topic string
	node  *cnode
	f     atomic.Pointer[wire.Frame] // nil once forgotten
}

// swap makes f the latest update; false when the entry was forgotten.
func (e *entry) swap(f *wire.Frame) bool {
	old := e.f.Load()
	return old != nil && e.f.CompareAndSwap(old, f)
}

// cnode is one token of the trie: the topic that ends here, if any, and
// the next tokens.
type cnode struct {
	parent *cnode
	tok    string
	entry  atomic.Pointer[entry]
	next   sync.Map // token -> *cnode
	// kids counts next's entries, so that a walk passes a leaf without
	// ranging over its empty map (which would allocate it).
	kids atomic.Int32
}

func (n *cnode) child(tok string) *cnode {
	if c, ok := n.next.Load(tok); ok {
		return c.(*cnode)
	}
	return nil
}

// each calls fn for every child until it returns false, and reports
// whether it went through all of them.
func (n *cnode) each(fn func(*cnode) bool) bool {
	if n.kids.Load() == 0 {
		return true
	}
	all := true
	n.next.Range(func(_, c any) bool {
		all = fn(c.(*cnode))
		return all
	})
	return all
}

func (n *cnode) leaf() bool { return n.kids.Load() == 0 }

func newCache(max int) *cache { return &cache{max: max} }

// len is how many topics the cache keeps.
func (c *cache) len() int { return int(c.n.Load()) }

func (c *cache) lookup(topic string) *entry {
	if e, ok := c.byName.Load(topic); ok {
		return e.(*entry)
	}
	return nil
}

// known reports whether the cache keeps topic.
func (c *cache) known(topic string) bool { return c.lookup(topic) != nil }

// store keeps f as the latest update of its topic. It reports false when
// the topic is new and the cache already keeps max topics: f is then not
// kept. Only the fan-out stores, so updates of a topic come in order.
func (c *cache) store(f *wire.Frame) bool {
	if e := c.lookup(f.Topic); e != nil && e.swap(f) {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Under mu an entry found is live: the sweep forgets under mu too.
	if e := c.lookup(f.Topic); e != nil && e.swap(f) {
		return true
	}
	if c.len() >= c.max {
		return false
	}
	n := &c.root
	for tok := range strings.SplitSeq(f.Topic, ".") {
		next := n.child(tok)
		if next == nil {
			next = &cnode{parent: n, tok: tok}
			n.next.Store(tok, next)
			n.kids.Add(1)
		}
		n = next
	}
	e := &entry{topic: f.Topic, node: n}
	e.f.Store(f)
	n.entry.Store(e)
	c.byName.Store(f.Topic, e)
	c.n.Add(1)
	return true
}

// forgetBatch is how many topics the sweep forgets per hold of mu, so
// that a topic the fan-out adds meanwhile waits little.
const forgetBatch = 256

// forget drops every topic whose latest update has a sequence below seq,
// and returns how many it dropped. A topic updated meanwhile stays.
func (c *cache) forget(seq uint64) int {
	var old []*entry
	c.byName.Range(func(_, v any) bool {
		e := v.(*entry)
		if f := e.f.Load(); f != nil && f.Seq < seq {
			old = append(old, e)
		}
		return true
	})
	n := 0
	for batch := range slices.Chunk(old, forgetBatch) {
		c.mu.Lock()
		for _, e := range batch {
			f := e.f.Load()
			if f == nil || f.Seq >= seq || !e.f.CompareAndSwap(f, nil) {
				continue
			}
			c.byName.Delete(e.topic)
			e.node.entry.Store(nil)
			c.prune(e.node)
			c.n.Add(-1)
			n++
		}
		c.mu.Unlock()
	}
	return n
}

// prune drops n and its parents while they hold nothing. Caller holds mu.
func (c *cache) prune(n *cnode) {
	for n.parent != nil && n.entry.Load() == nil && n.leaf() {
		n.parent.next.Delete(n.tok)
		n.parent.kids.Add(-1)
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

// walk is one match over the trie. states holds, level by level, what is
// left of the patterns still alive at each node on the path: a node's
// states are states[lo:hi], and its children's are appended after them.
type walk struct {
	ctx    context.Context
	visit  func(*wire.Frame) bool
	states []string
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
	if here && !w.entry(n.entry.Load()) {
		return false
	}
	if below {
		return n.each(w.all) // every topic below n matches
	}
	if star {
		return n.each(func(c *cnode) bool { return w.child(c, lo, hi) })
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

// all visits n's topic and every topic below it.
func (w *walk) all(n *cnode) bool {
	return w.tick() && w.entry(n.entry.Load()) && n.each(w.all)
}

// tick counts a node visited and reports whether to go on: false once
// the context has ended, which it looks at every matchCheck nodes.
func (w *walk) tick() bool {
	if w.steps++; w.steps%matchCheck == 0 {
		w.err = w.ctx.Err()
	}
	return w.err == nil
}

func (w *walk) entry(e *entry) bool {
	if e == nil {
		return true
	}
	if f := e.f.Load(); f != nil {
		return w.visit(f)
	}
	return true
}

// topics returns, sorted, the first limit known topics that start with
// prefix and sort after after, and whether more follow. It costs one pass
// over the known topics, whatever the page.
func (c *cache) topics(prefix, after string, limit int) ([]string, bool) {
	page := make(topHeap, 0, min(limit+1, c.len()+1))
	c.byName.Range(func(k, _ any) bool {
		t := k.(string)
		if t <= after || !strings.HasPrefix(t, prefix) {
			return true
		}
		if len(page) <= limit {
			heap.Push(&page, t)
		} else if t < page[0] {
			page[0] = t
			heap.Fix(&page, 0)
		}
		return true
	})
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
