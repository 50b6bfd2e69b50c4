package wire

import (
	"math"
	"strconv"

	"github.com/tickerd/tickerd/message"
)

// MaxRateLimit is the largest max_rate a subscriber may ask for, in
// updates a second per state topic: past it, asking is pointless.
const MaxRateLimit = 1000

var errMaxRate = ErrBadRequest.With(`"max_rate" must be a number of updates a second per state topic, more than 0 and at most 1000 (0: no limit)`)

// ParseMaxRate reads a max_rate value: updates a second per state topic,
// fractions allowed (0.5 is one every 2 s). Empty or 0 is no limit.
func ParseMaxRate(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, errMaxRate
	}
	return checkMaxRate(r)
}

func checkMaxRate(r float64) (float64, error) {
	if math.IsNaN(r) || r < 0 || r > MaxRateLimit {
		return 0, errMaxRate
	}
	return r, nil
}

// Restamp returns a copy of the update f with its cursor moved forward to
// seq, in f's epoch: a state update held back to honour a max_rate goes
// out behind later ones, and its cursor must not move the subscriber's
// position backwards. Its data is still its topic's latest as of seq,
// since a newer one would have replaced it.
func Restamp(f *Frame, seq uint64) *Frame {
	c, err := message.ParseCursor(string(f.Cursor))
	if err != nil || seq <= f.Seq {
		return f // not an update of ours: leave it
	}
	c.Seq = seq
	head := f.JSON[:len(f.JSON)-2-len(f.Cursor)]
	b := make([]byte, 0, len(f.JSON)+8)
	b = append(b, head...)
	cs := len(b)
	b = c.AppendText(b)
	ce := len(b)
	b = append(b, `"}`...)
	return &Frame{Type: f.Type, JSON: b, Cursor: b[cs:ce:ce], Seq: seq, Topic: f.Topic, Kind: f.Kind}
}
