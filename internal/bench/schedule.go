package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/tickerd/tickerd/message"
)

// maxBatch bounds one publish: the ingest API takes at most 1,000.
const maxBatch = 1000

// schedule publishes Rate updates per second, round-robin over the topics,
// from start until t1, and remembers which numbers of each topic fell in
// the measured window [t0, t1): the numbers every subscriber of the topic
// must get.
type schedule struct {
	o      Options
	pub    publisher
	topics []string
	kind   message.Kind
	t0, t1 int64 // ns since the epoch

	// Written by run, read once it has returned.
	seq         []uint64 // last number published, per topic
	first, last []uint64 // first and last number published in the window, per topic
	inWindow    int64    // updates published in the window
	total       int64
	batches     int64
	// maxLate is the most an update was sent after its scheduled time:
	// how far the publisher fell behind (one tick is normal).
	maxLate time.Duration
}

func newSchedule(o Options, pub publisher, t0, t1 int64) *schedule {
	s := &schedule{o: o, pub: pub, t0: t0, t1: t1, kind: message.Event,
		seq: make([]uint64, o.Topics), first: make([]uint64, o.Topics), last: make([]uint64, o.Topics)}
	if o.Kind == "state" {
		s.kind = message.State
	}
	for i := range o.Topics {
		s.topics = append(s.topics, o.topic(i))
	}
	return s
}

// run publishes from start (ns) until t1. Each update's send time is taken
// as it is made, just before its batch is sent.
func (s *schedule) run(ctx context.Context, start int64) error {
	if s.o.Rate <= 0 {
		return nil
	}
	interval := time.Duration(float64(time.Second) / s.o.Rate)
	period := min(max(interval/2, time.Millisecond), 10*time.Millisecond)
	tick := time.NewTicker(period)
	defer tick.Stop()
	var sent int64
	var buf []byte
	batch := make([]message.Update, 0, 64)
	for {
		now := time.Now().UnixNano()
		if now >= s.t1 {
			return nil
		}
		due := int64(s.o.Rate*float64(now-start)/1e9) + 1
		n := min(due-sent, maxBatch)
		if n > 0 {
			at := start + int64(float64(sent)*1e9/s.o.Rate) // the oldest unsent update's time
			s.maxLate = max(s.maxLate, time.Duration(now-at))
			batch, buf = batch[:0], buf[:0]
			for range n {
				k := int(s.total % int64(len(s.topics)))
				s.total++
				s.seq[k]++
				ts := time.Now().UnixNano()
				if ts >= s.t0 && ts < s.t1 {
					if s.first[k] == 0 {
						s.first[k] = s.seq[k]
					}
					s.last[k] = s.seq[k]
					s.inWindow++
				}
				i := len(buf)
				buf = appendData(buf, s.seq[k], ts, s.o.Size)
				batch = append(batch, message.Update{
					Topic: s.topics[k],
					Kind:  s.kind,
					Data:  buf[i:len(buf):len(buf)],
					Time:  time.Unix(0, ts),
				})
			}
			if err := s.pub.publish(ctx, batch); err != nil {
				return fmt.Errorf("publish: %w", err)
			}
			sent += n
			s.batches++
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
