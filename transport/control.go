package transport

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/tickerd/tickerd/message"
)

// Error codes a session or endpoint reports, in "code" of an error message.
const (
	CodeBadRequest   = "bad_request"
	CodeBadTopic     = "bad_topic"
	CodeBadCursor    = "bad_cursor"
	CodeUnknownType  = "unknown_type"
	CodeTooManyTopic = "too_many_topics"
	CodeSlowConsumer = "slow_consumer"
	CodeShutdown     = "shutdown"
	CodeUnavailable  = "unavailable"
)

// ErrorFrame builds an error message. id is the command's id, echoed as it
// came (nil when the error answers no command).
func ErrorFrame(id json.RawMessage, code, msg string) *Frame {
	b := []byte(`{"type":"error"`)
	if len(id) > 0 {
		b = append(b, `,"id":`...)
		b = append(b, id...)
	}
	b = append(b, `,"code":`...)
	b = strconv.AppendQuote(b, code)
	b = append(b, `,"message":`...)
	b, _ = appendJSONString(b, msg)
	return &Frame{Type: "error", JSON: append(b, '}')}
}

// AckFrame answers the command with the given id.
func AckFrame(id json.RawMessage) *Frame {
	b := []byte(`{"type":"ack"`)
	if len(id) > 0 {
		b = append(b, `,"id":`...)
		b = append(b, id...)
	}
	return &Frame{Type: "ack", JSON: append(b, '}')}
}

// Hello is the first message on every connection.
type Hello struct {
	Type      string `json:"type"`
	Transport string `json:"transport"`
	// Heartbeat is the interval, in seconds, at which the server shows it is
	// alive; a client that hears nothing for twice that may reconnect.
	Heartbeat int         `json:"heartbeat"`
	Limits    HelloLimits `json:"limits"`
}

// HeartbeatSeconds is d as Hello.Heartbeat gives it: whole seconds,
// rounded up, so that a sub-second interval does not read as none.
func HeartbeatSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// HelloLimits tells a client the bounds the server holds it to.
type HelloLimits struct {
	MaxTopics int `json:"max_topics"`
	Queue     int `json:"queue"`
	MaxFrame  int `json:"max_frame,omitempty"`
}

// HelloFrame encodes h.
func HelloFrame(h Hello) *Frame {
	h.Type = "hello"
	b, _ := json.Marshal(h)
	return &Frame{Type: "hello", JSON: b}
}

// snapshotFrame encodes the latest values frames as one snapshot message at
// position c.
func snapshotFrame(c message.Cursor, reset bool, items []*Frame) *Frame {
	n := 64
	for _, f := range items {
		n += len(f.JSON) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"type":"snapshot","cursor":"`...)
	cs := len(b)
	b = c.AppendText(b)
	ce := len(b)
	b = append(b, `","reset":`...)
	b = strconv.AppendBool(b, reset)
	b = append(b, `,"items":[`...)
	for i, f := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.JSON...)
	}
	b = append(b, "]}"...)
	return &Frame{Type: "snapshot", JSON: b, Cursor: b[cs:ce:ce], Seq: c.Seq}
}

func appendJSONString(b []byte, s string) ([]byte, error) {
	q, err := json.Marshal(s)
	return append(b, q...), err
}
