package transport

import (
	"github.com/tickerd/tickerd/message"
)

// A Frame is one server message, encoded once and shared read-only by every
// session it is queued on.
type Frame struct {
	// Type is the message type: "update", "snapshot", "hello", "ack", "error".
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

func newUpdateFrame(u *message.Update, epoch uint64) *Frame {
	js := u.AppendJSON(make([]byte, 0, 96+len(u.Topic)+len(u.Data)), epoch)
	// AppendJSON ends with `"cursor":"<c>"}`: the cursor is the string that
	// ends two bytes before the end.
	end := len(js) - 2
	start := end
	for js[start-1] != '"' {
		start--
	}
	return &Frame{
		Type:   "update",
		JSON:   js,
		Cursor: js[start:end:end],
		Seq:    u.Seq,
		Topic:  u.Topic,
		Kind:   u.Kind,
	}
}

// Item is one queued message as a session hands it to its transport.
type Item struct {
	*Frame
	// Merged is how many pending state updates of the topic this one
	// replaced in the queue; the transport writes it as "merged": N.
	Merged int
}

// AppendJSON appends the item's message, with "merged" when it applies.
func (it Item) AppendJSON(b []byte) []byte {
	if it.Merged == 0 {
		return append(b, it.JSON...)
	}
	return message.AppendMerged(b, it.JSON, it.Merged)
}
