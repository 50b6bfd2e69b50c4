package stream

import (
	"bytes"
	"encoding/json"
	"time"
)

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

// compactJSON validates data and returns it with no line breaks: transports
// frame messages by line, so data from publishers that bypass the ingest
// API must be compacted like the API does.
func compactJSON(b []byte) ([]byte, bool) {
	if len(b) == 0 || !json.Valid(b) {
		return nil, false
	}
	if bytes.IndexByte(b, '\n') < 0 && bytes.IndexByte(b, '\r') < 0 {
		return b, true
	}
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return nil, false
	}
	return buf.Bytes(), true
}
