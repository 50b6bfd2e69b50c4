package transport

import (
	"strings"
	"sync/atomic"
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

// topicEntry is what the hub knows of one concrete topic: its latest value
// and the sessions subscribed to it by name.
type topicEntry struct {
	// last is written by the fan-out while it holds only the read lock, and
	// read by listings under the same, so it is atomic.
	last  atomic.Pointer[Frame]
	exact subList
}

// node is one level of the token trie that holds wildcard patterns, so that
// finding the patterns matching a topic costs a walk of its tokens however
// many sessions subscribe to other things.
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

// match calls h.fan for every wildcard subscription matching the rest of a
// topic, without allocating.
func (n *node) match(rest string, f *Frame, h *Hub) {
	if rest == "" {
		h.fanList(&n.here, f)
		return
	}
	h.fanList(&n.gt, f)
	tok, next, _ := strings.Cut(rest, ".")
	if c := n.next[tok]; c != nil {
		c.match(next, f, h)
	}
	if n.star != nil {
		n.star.match(next, f, h)
	}
}
