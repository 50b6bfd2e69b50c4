package wire

import (
	"strconv"
	"time"
)

// AppendSSERetry frames a reconnection delay hint for EventSource.
func AppendSSERetry(b []byte, d time.Duration) []byte {
	b = strconv.AppendInt(append(b, "retry: "...), d.Milliseconds(), 10)
	return append(b, '\n')
}

// AppendSSEEvents frames items as events: "event:" is the message type,
// "id:" its cursor when it has one (so a reconnecting EventSource sends
// Last-Event-ID and resumes), and one "data:" line of JSON.
func AppendSSEEvents(b []byte, items []Item) []byte {
	for _, it := range items {
		b = append(b, "event: "...)
		b = append(b, it.Type...)
		if len(it.Cursor) > 0 {
			b = append(b, "\nid: "...)
			b = append(b, it.Cursor...)
		}
		b = append(b, "\ndata: "...)
		b = it.AppendJSON(b)
		b = append(b, "\n\n"...)
	}
	return b
}

// AppendSSEEnd frames why a stream ends: an error event with the reason's
// code, preceded by retry (short, since other gateways are up) when its
// row says to reconnect soon. A nil reason (the connection failed or its
// client went) gets nothing.
func AppendSSEEnd(b []byte, reason error, retry time.Duration) []byte {
	if reason == nil {
		return b
	}
	e := Lookup(reason)
	if e.RetrySoon {
		b = AppendSSERetry(b, retry)
	}
	hint := ": reconnect with Last-Event-ID"
	if e.base() == ErrTokenExpired {
		hint = ": get a new token, then reconnect with Last-Event-ID"
	}
	f := ErrorFrame(nil, e.With(reason.Error()+hint))
	return AppendSSEEvents(b, []Item{{Frame: f}})
}
