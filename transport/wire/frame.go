package wire

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/tickerd/tickerd/message"
)

// Server message types, the "type" of every message.
const (
	TypeUpdate   = "update"
	TypeSnapshot = "snapshot"
	TypeHello    = "hello"
	TypeAck      = "ack"
	TypeError    = "error"
	TypePing     = "ping"
)

// Ping is the heartbeat a quiet streaming connection gets: a message page
// scripts can see, which WebSocket ping frames and SSE comments are not.
// It carries no cursor and moves no position. Shared by every session.
var Ping = &Frame{Type: TypePing, JSON: []byte(`{"type":"ping"}`)}

// A Frame is one server message, encoded once and shared read-only by every
// session it is queued on.
type Frame struct {
	// Type is the message type: one of the Type constants.
	Type string
	// JSON is the whole message, one JSON object.
	JSON []byte
	// Cursor is the position after this message (updates and snapshots);
	// empty for messages that do not move the position.
	Cursor []byte

	// For updates: what the hub routes and merges by.
	Seq   uint64
	Topic string
	Kind  message.Kind
}

// TimeLayout is the wire form of an update's time: RFC 3339 in UTC with
// milliseconds, as the contract shows it.
const TimeLayout = message.TimeLayout

// UpdateFrame encodes u as every transport delivers it:
//
//	{"type":"update","topic":"stocks.AAPL","kind":"state","data":{..},
//	 "time":"2026-11-25T14:03:07.123Z","cursor":"<opaque>"}
//
// epoch is the stream incarnation the cursor names. Topics are ASCII by
// grammar and data is already compact JSON, so nothing needs escaping.
func UpdateFrame(u *message.Update, epoch uint64) *Frame {
	b := make([]byte, 0, 96+len(u.Topic)+len(u.Data))
	b = append(b, `{"type":"update","topic":"`...)
	b = append(b, u.Topic...)
	b = append(b, `","kind":"`...)
	b = append(b, u.Kind.String()...)
	b = append(b, `","data":`...)
	b = append(b, u.Data...)
	b = append(b, `,"time":"`...)
	b = u.Time.UTC().AppendFormat(b, TimeLayout)
	b = append(b, `","cursor":"`...)
	cs := len(b)
	b = message.Cursor{Epoch: epoch, Seq: u.Seq}.AppendText(b)
	ce := len(b)
	b = append(b, `"}`...)
	return &Frame{Type: TypeUpdate, JSON: b, Cursor: b[cs:ce:ce], Seq: u.Seq, Topic: u.Topic, Kind: u.Kind}
}

// SnapshotFrame encodes the latest values items as one snapshot message at
// position c: {"type":"snapshot","cursor":C,"reset":false,"items":[..]}.
func SnapshotFrame(c message.Cursor, reset bool, items []*Frame) *Frame {
	b := make([]byte, 0, 64+listSize(items))
	b = append(b, `{"type":"snapshot","cursor":"`...)
	cs := len(b)
	b = c.AppendText(b)
	ce := len(b)
	b = append(b, `","reset":`...)
	b = strconv.AppendBool(b, reset)
	b = appendList(append(b, `,"items":`...), items)
	return &Frame{Type: TypeSnapshot, JSON: append(b, '}'), Cursor: b[cs:ce:ce], Seq: c.Seq}
}

// Hello is the first message on every streaming connection.
type Hello struct {
	Type      string `json:"type"`
	Transport string `json:"transport"`
	// Heartbeat is the interval, in seconds, at which the server shows it is
	// alive; a client that hears nothing for twice that may reconnect.
	Heartbeat int         `json:"heartbeat"`
	Limits    HelloLimits `json:"limits"`
	// Expires is the exp (unix seconds) of the token the connection
	// carries, at which it ends unless renewed; absent without a token.
	Expires int64 `json:"expires,omitempty"`
}

// HelloLimits tells a client the bounds the server holds it to.
type HelloLimits struct {
	MaxTopics int `json:"max_topics"`
	Queue     int `json:"queue"`
	MaxFrame  int `json:"max_frame,omitempty"`
}

// HeartbeatSeconds is d as Hello.Heartbeat gives it: whole seconds,
// rounded up, so that a sub-second interval does not read as none.
func HeartbeatSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// HelloFrame encodes h.
func HelloFrame(h Hello) *Frame {
	h.Type = TypeHello
	b, _ := json.Marshal(h)
	return &Frame{Type: TypeHello, JSON: b}
}

// AckFrame answers the command with the given id.
func AckFrame(id ID) *Frame {
	b := appendID(append(make([]byte, 0, 24+len(id)), `{"type":"ack"`...), id)
	return &Frame{Type: TypeAck, JSON: append(b, '}')}
}

// ErrorFrame encodes err as an error message with its code from the table
// and its text. id is the command it answers, echoed as it came (nil when
// it answers none).
func ErrorFrame(id ID, err error) *Frame {
	b := appendID([]byte(`{"type":"error"`), id)
	b = appendCodeMessage(append(b, ','), Lookup(err).Code, err.Error())
	return &Frame{Type: TypeError, JSON: append(b, '}')}
}

func appendID(b []byte, id ID) []byte {
	if len(id) > 0 {
		b = append(b, `,"id":`...)
		b = append(b, id...)
	}
	return b
}

// appendCodeMessage appends `"code":..,"message":..`.
func appendCodeMessage(b []byte, code, msg string) []byte {
	b = append(b, `"code":`...)
	b = strconv.AppendQuote(b, code)
	b = append(b, `,"message":`...)
	q, _ := json.Marshal(msg)
	return append(b, q...)
}

// Item is one queued message as a session hands it to its transport.
type Item struct {
	*Frame
	// Merged is how many pending state updates of the topic this one
	// replaced in the queue; it is written as "merged": N.
	Merged int
}

// AppendJSON appends the item's message, with "merged" when it applies.
func (it Item) AppendJSON(b []byte) []byte {
	if it.Merged == 0 {
		return append(b, it.JSON...)
	}
	b = append(b, it.JSON[:len(it.JSON)-1]...)
	b = append(b, `,"merged":`...)
	b = strconv.AppendInt(b, int64(it.Merged), 10)
	return append(b, '}')
}

// AppendLines appends items one JSON object per line: the body of one
// WebSocket text message. JSON never holds a raw newline, so clients split
// on it.
func AppendLines(b []byte, items []Item) []byte {
	for i, it := range items {
		if i > 0 {
			b = append(b, '\n')
		}
		b = it.AppendJSON(b)
	}
	return b
}

// encoded is a message ready to stand in a JSON list.
type encoded interface {
	AppendJSON([]byte) []byte
	size() int
}

// AppendJSON lets a frame stand in a list as it is.
func (f *Frame) AppendJSON(b []byte) []byte { return append(b, f.JSON...) }

func (f *Frame) size() int { return len(f.JSON) + 1 }

// size leaves room for a "merged" count.
func (it Item) size() int { return len(it.JSON) + 16 }

// appendList appends a JSON array of encoded messages.
func appendList[T encoded](b []byte, items []T) []byte {
	b = append(b, '[')
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = it.AppendJSON(b)
	}
	return append(b, ']')
}

func listSize[T encoded](items []T) int {
	n := 2
	for _, it := range items {
		n += it.size()
	}
	return n
}
