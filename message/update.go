package message

import (
	"encoding/json"
	"strconv"
	"time"
)

// Update is one message on a topic. Feeds fill Topic, Kind, Data and Time;
// the stream assigns Seq when it stores the update (zero before that).
type Update struct {
	Topic string
	Kind  Kind
	// Data is the payload: any JSON value, kept as the feed encoded it.
	Data json.RawMessage
	// Time is when the feed published the update.
	Time time.Time
	// Seq is the update's sequence in the stream.
	Seq uint64
}

// TimeLayout is the wire form of an update's time: RFC 3339 in UTC with
// milliseconds, as the contract shows it.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendJSON appends the update's wire form, as every transport delivers it:
//
//	{"type":"update","topic":"stocks.AAPL","kind":"state","data":{..},
//	 "time":"2026-11-25T14:03:07.123Z","cursor":"<opaque>"}
//
// epoch is the stream incarnation the cursor names. Topics are ASCII by
// grammar and data is already JSON, so nothing needs escaping.
func (u *Update) AppendJSON(b []byte, epoch uint64) []byte {
	b = append(b, `{"type":"update","topic":"`...)
	b = append(b, u.Topic...)
	b = append(b, `","kind":"`...)
	b = append(b, u.Kind.String()...)
	b = append(b, `","data":`...)
	b = append(b, u.Data...)
	b = append(b, `,"time":"`...)
	b = u.Time.UTC().AppendFormat(b, TimeLayout)
	b = append(b, `","cursor":"`...)
	b = Cursor{Epoch: epoch, Seq: u.Seq}.AppendText(b)
	return append(b, `"}`...)
}

// AppendMerged returns the encoded update js (as made by AppendJSON) with
// `"merged":n` added, appended to b: the form a subscriber gets when n
// pending state updates of the topic were replaced by this one.
func AppendMerged(b, js []byte, n int) []byte {
	b = append(b, js[:len(js)-1]...)
	b = append(b, `,"merged":`...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '}')
}
