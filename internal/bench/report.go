package bench

import (
	"fmt"
	"sort"

	"github.com/tickerd/tickerd/message"
)

// report fills in the result's groups and total from the subscribers,
// once their goroutines are done, and counts what each connected
// subscriber should have got of the window's updates and what it lacks.
func (r *runner) report(res *Result, sched *schedule) {
	names := make([]string, 0, len(r.groups))
	for n := range r.groups {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return transportOrder(names[i]) < transportOrder(names[j]) })
	res.Groups = res.Groups[:0]
	var all Histogram
	var errs []string
	seenErr := map[string]bool{}
	for _, name := range names {
		g := r.groups[name]
		out := Group{Transport: name}
		var h Histogram
		for i := range g.hists {
			h.Merge(&g.hists[i])
		}
		all.Merge(&h)
		out.Latency = summarize(&h)
		var pollMsgs int64
		for _, s := range r.subs {
			if s.group != g {
				continue
			}
			r.count(&out, s, sched)
			pollMsgs += s.pollMsgs
			if s.err != nil && (!s.subscribed.Load() || s.ended.Load()) && len(errs) < 10 {
				if msg := s.err.Error(); !seenErr[msg] {
					seenErr[msg] = true
					errs = append(errs, fmt.Sprintf("%s subscriber %d: %s", s.transport, s.id, msg))
				}
			}
		}
		if out.Polls > 0 {
			out.MessagesPerPoll = float64(pollMsgs) / float64(out.Polls)
		}
		res.Groups = append(res.Groups, out)
	}
	res.Errors = errs
	res.Total = Group{Transport: "all", Latency: summarize(&all)}
	if len(names) == 1 {
		res.Total.Transport = names[0]
	}
	var pollMsgs float64
	t := &res.Total
	for _, g := range res.Groups {
		t.Subscribers += g.Subscribers
		t.Connected += g.Connected
		t.Dropped += g.Dropped
		t.Failed += g.Failed
		t.Deliveries += g.Deliveries
		t.Expected += g.Expected
		t.Lost += g.Lost
		t.Skipped += g.Skipped
		t.OutOfOrder += g.OutOfOrder
		t.Duplicates += g.Duplicates
		t.Merged += g.Merged
		t.Foreign += g.Foreign
		t.Malformed += g.Malformed
		t.Polls += g.Polls
		pollMsgs += g.MessagesPerPoll * float64(g.Polls)
	}
	if t.Polls > 0 {
		t.MessagesPerPoll = pollMsgs / float64(t.Polls)
	}
	dur := r.o.Duration.Seconds()
	for i := range res.Groups {
		g := &res.Groups[i]
		g.DeliveriesRate, g.ExpectedRate = float64(g.Deliveries)/dur, float64(g.Expected)/dur
	}
	t.DeliveriesRate, t.ExpectedRate = float64(t.Deliveries)/dur, float64(t.Expected)/dur
}

// count adds subscriber s to its group g.
func (r *runner) count(g *Group, s *subscriber, sched *schedule) {
	g.Subscribers++
	switch {
	case !s.subscribed.Load():
		g.Failed++
	case s.ended.Load():
		g.Dropped++
		g.Connected++
	default:
		g.Connected++
	}
	g.Deliveries += s.deliveries
	g.OutOfOrder += s.tr.outOfOrder
	g.Duplicates += s.tr.duplicates
	g.Merged += s.merged
	g.Foreign += s.foreign
	g.Malformed += s.malformed
	g.Polls += s.polls
	k := s.topicIdx
	if !s.subscribed.Load() || sched == nil || sched.first[k] == 0 {
		return
	}
	g.Expected += int64(sched.last[k] - sched.first[k] + 1)
	missing := s.tr.missing(sched.first[k], sched.last[k])
	if sched.kind != message.State {
		g.Lost += missing
		return
	}
	// State: merging may skip any but the last.
	g.Skipped += missing
	if s.tr.missing(sched.seq[k], sched.seq[k]) > 0 {
		g.Lost++
	}
}

func transportOrder(t string) int {
	switch t {
	case WebSocket:
		return 0
	case SSE:
		return 1
	}
	return 2
}
