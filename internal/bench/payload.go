package bench

import (
	"bytes"
	"strconv"
)

// The data of every bench update is one JSON object:
//
//	{"n":42,"ts":1764079387123456789,"p":"xxxx"}
//
// n numbers the updates of a topic from 1; ts is when the publisher sent
// it, in nanoseconds since the Unix epoch (the update's "time" field has
// only millisecond precision); p pads the data to the size asked for.

// appendData appends the data of update n sent at ts, padded to size bytes
// when that is more than it needs.
func appendData(b []byte, n uint64, ts int64, size int) []byte {
	start := len(b)
	b = append(b, `{"n":`...)
	b = strconv.AppendUint(b, n, 10)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"p":"`...)
	for pad := size - (len(b) - start) - 2; pad > 0; pad-- {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// update is what a subscriber needs of one server message.
type update struct {
	typ    []byte // "update", "snapshot", "hello", "error", ...
	topic  []byte
	n      uint64
	ts     int64
	merged bool
}

var (
	keyType   = []byte(`"type":"`)
	keyTopic  = []byte(`"topic":"`)
	keyData   = []byte(`"data":{"n":`)
	keyTS     = []byte(`,"ts":`)
	keyMerged = []byte(`"merged":`)
	typUpdate = []byte("update")
)

// parseMessage reads one server message (one JSON object) without
// decoding it: it finds the few fields the bench needs with bytes.Index,
// which costs a fraction of json.Unmarshal. ok is false when msg is not a
// JSON object with a type, or an update lacks the bench's data.
func parseMessage(msg []byte) (u update, ok bool) {
	u.typ, ok = stringAfter(msg, keyType)
	if !ok {
		return u, false
	}
	if !bytes.Equal(u.typ, typUpdate) {
		return u, true
	}
	if u.topic, ok = stringAfter(msg, keyTopic); !ok {
		return u, false
	}
	i := bytes.Index(msg, keyData)
	if i < 0 {
		return u, false
	}
	rest := msg[i+len(keyData):]
	var n, ts uint64
	if n, rest, ok = digits(rest); !ok || !bytes.HasPrefix(rest, keyTS) {
		return u, false
	}
	if ts, rest, ok = digits(rest[len(keyTS):]); !ok {
		return u, false
	}
	u.n, u.ts = n, int64(ts)
	// "merged" is added after the cursor, at the end of the object.
	u.merged = bytes.Contains(rest, keyMerged)
	return u, true
}

// stringAfter returns the JSON string that follows key (which ends with
// its opening quote). The bench's topics and the message types need no
// escaping, so the string ends at the next quote.
func stringAfter(b, key []byte) ([]byte, bool) {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil, false
	}
	b = b[i+len(key):]
	j := bytes.IndexByte(b, '"')
	if j < 0 {
		return nil, false
	}
	return b[:j], true
}

// digits parses the unsigned decimal number b starts with.
func digits(b []byte) (uint64, []byte, bool) {
	var v uint64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + uint64(b[i]-'0')
	}
	return v, b[i:], i > 0
}
