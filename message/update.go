package message

import (
	"encoding/json"
	"time"
)

// Update is one message on a topic. Feeds fill Topic, Kind, Data and Time,
// and may fill ID; the stream assigns Seq when it stores the update (zero
// before that).
type Update struct {
	// ID, when set, names the update for deduplication: the stream stores
	// one update of an ID within its duplicate window, however often it is
	// published. It is not stored or delivered.
	ID    string
	Topic string
	Kind  Kind
	// Data is the payload: any JSON value, kept as the feed encoded it.
	Data json.RawMessage
	// Time is when the feed published the update.
	Time time.Time
	// Seq is the update's sequence in the stream.
	Seq uint64
}

// TimeLayout is how times are written: RFC 3339 in UTC with milliseconds,
// as the contract shows an update's time (transport/wire).
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"
