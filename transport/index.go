package transport

import (
	"strings"
	"sync"

	"github.com/tickerd/tickerd/message"
)

// sub is one pattern of one session, placed in exactly one list of the
// index. It knows its slot so that removal is O(1).
type sub struct {
	s       *Session
	pattern string
	list    *subList
	idx     int
}

// subList holds the subscriptions that end at one place of the index.
type subList struct{ subs []*sub }

func (l *subList) add(x *sub) {
	x.list, x.idx = l, len(l.subs)
	l.subs = append(l.subs, x)
}

func (l *subList) remove(x *sub) {
	last := len(l.subs) - 1
	moved := l.subs[last]
	l.subs[x.idx], moved.idx = moved, x.idx
	l.subs[last] = nil
	l.subs = l.subs[:last]
	x.list = nil
}

// index finds the subscriptions whose pattern matches a topic: a map for
// concrete topics and a token trie for wildcard patterns, so that a match
// costs a walk of the topic's tokens however many sessions subscribe to
// other things. It owns its lock; match appends its result to the caller's
// slice and never calls back (nats-server's sublist is the model).
type index struct {
	mu    sync.RWMutex
	exact map[string]*subList
	wild  node
}

func newIndex() *index { return &index{exact: make(map[string]*subList)} }

// add places x by its pattern.
func (ix *index) add(x *sub) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if message.IsWildcard(x.pattern) {
		ix.wild.list(x.pattern).add(x)
		return
	}
	l := ix.exact[x.pattern]
	if l == nil {
		l = &subList{}
		ix.exact[x.pattern] = l
	}
	l.add(x)
}

// remove takes x out, dropping what is left empty.
func (ix *index) remove(x *sub) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	x.list.remove(x)
	if message.IsWildcard(x.pattern) {
		ix.wild.prune(x.pattern)
		return
	}
	if l := ix.exact[x.pattern]; l != nil && len(l.subs) == 0 {
		delete(ix.exact, x.pattern)
	}
}

// match appends to dst every subscription whose pattern matches topic,
// without allocating once dst has grown.
func (ix *index) match(topic string, dst []*sub) []*sub {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if l := ix.exact[topic]; l != nil {
		dst = append(dst, l.subs...)
	}
	return ix.wild.match(topic, dst)
}

// empty reports whether the index holds no subscription.
func (ix *index) empty() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.exact) == 0 && ix.wild.empty()
}

// node is one level of the token trie that holds wildcard patterns.
type node struct {
	next map[string]*node
	star *node
	here subList // patterns that end at this node
	gt   subList // patterns that end with ">" after this node
}

func (n *node) empty() bool {
	return len(n.next) == 0 && n.star == nil && len(n.here.subs) == 0 && len(n.gt.subs) == 0
}

// list returns the list pattern p belongs to, creating nodes on the way.
func (n *node) list(p string) *subList {
	for {
		tok, rest, more := strings.Cut(p, ".")
		switch {
		case tok == ">":
			return &n.gt
		case tok == "*":
			if n.star == nil {
				n.star = &node{}
			}
			n = n.star
		default:
			c := n.next[tok]
			if c == nil {
				if n.next == nil {
					n.next = make(map[string]*node)
				}
				c = &node{}
				n.next[tok] = c
			}
			n = c
		}
		if !more {
			return &n.here
		}
		p = rest
	}
}

// prune drops the empty nodes on the path of p.
func (n *node) prune(p string) {
	tok, rest, more := strings.Cut(p, ".")
	if tok == ">" {
		return
	}
	var c *node
	if tok == "*" {
		c = n.star
	} else {
		c = n.next[tok]
	}
	if c == nil {
		return
	}
	if more {
		c.prune(rest)
	}
	if c.empty() {
		if tok == "*" {
			n.star = nil
		} else {
			delete(n.next, tok)
		}
	}
}

// match appends the wildcard subscriptions matching the rest of a topic.
func (n *node) match(rest string, dst []*sub) []*sub {
	if rest == "" {
		return append(dst, n.here.subs...)
	}
	dst = append(dst, n.gt.subs...)
	tok, next, _ := strings.Cut(rest, ".")
	if c := n.next[tok]; c != nil {
		dst = c.match(next, dst)
	}
	if n.star != nil {
		dst = n.star.match(next, dst)
	}
	return dst
}
