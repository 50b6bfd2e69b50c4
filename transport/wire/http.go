package wire

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/tickerd/tickerd/message"
)

// WriteJSON writes a JSON body that no cache may keep.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	setJSONHeaders(w.Header())
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func setJSONHeaders(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// WriteError writes err as the contract's HTTP error, with the status and
// code of its row: {"error":{"code":"bad_topic","message":".."}}.
func WriteError(w http.ResponseWriter, err error) {
	e := Lookup(err)
	switch e.base() {
	case ErrUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="tickerd"`)
	case ErrTokenExpired:
		w.Header().Set("WWW-Authenticate", `Bearer realm="tickerd", error="invalid_token", error_description="token expired"`)
	}
	if e.RetryAfter > 0 && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	b := appendCodeMessage([]byte(`{"error":{`), e.Code, err.Error())
	WriteJSON(w, e.Status, append(b, "}}\n"...))
}

// snapshotChunk is how much of a REST snapshot is written at a time: a
// large one is never held whole a second time.
const snapshotChunk = 32 << 10

// WriteSnapshot writes the REST snapshot: {"cursor":C,"items":[updates]}.
// It writes as it goes, in chunks of snapshotChunk, after a Content-Length
// (so a large one is not chunked on top).
func WriteSnapshot(w http.ResponseWriter, c message.Cursor, items []*Frame) {
	head := append(c.AppendText([]byte(`{"cursor":"`)), `","items":[`...)
	const end = "]}\n"
	size := len(head) + len(end)
	for i, it := range items {
		size += len(it.JSON)
		if i > 0 {
			size++
		}
	}
	b := append(make([]byte, 0, min(size, snapshotChunk+snapshotChunk/8)), head...)
	setJSONHeaders(w.Header())
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(http.StatusOK)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = it.AppendJSON(b)
		if len(b) >= snapshotChunk {
			if _, err := w.Write(b); err != nil {
				return // the client went
			}
			b = b[:0]
		}
	}
	_, _ = w.Write(append(b, end...))
}

// WritePoll writes a long-poll response: {"cursor":C,"messages":[..]},
// cursor being the position to poll from next.
func WritePoll(w http.ResponseWriter, cursor []byte, items []Item) {
	b := make([]byte, 0, 32+len(cursor)+listSize(items))
	b = append(append(b, `{"cursor":"`...), cursor...)
	b = appendList(append(b, `","messages":`...), items)
	WriteJSON(w, http.StatusOK, append(b, "}\n"...))
}

// WritePublished answers a publish: {"published":N,"duplicate":D,"cursor":C},
// N the updates stored or found stored, D how many of them were found
// (duplicates of an earlier publish, by ID), C the position after the last.
// "duplicate" is left out when D is 0, so that the answer to a publish
// without IDs is as it was before IDs.
func WritePublished(w http.ResponseWriter, n, dup int, c message.Cursor) {
	b := strconv.AppendInt([]byte(`{"published":`), int64(n), 10)
	if dup > 0 {
		b = strconv.AppendInt(append(b, `,"duplicate":`...), int64(dup), 10)
	}
	b = c.AppendText(append(b, `,"cursor":"`...))
	WriteJSON(w, http.StatusOK, append(b, "\"}\n"...))
}

// WriteTopics answers a page of a topic listing:
// {"topics":["stocks.AAPL",..],"next":"stocks.AAPL"}, next (the last
// topic of the page, to ask for the page after it) only when more follow.
func WriteTopics(w http.ResponseWriter, topics []string, more bool) {
	page := struct {
		Topics []string `json:"topics"`
		Next   string   `json:"next,omitempty"`
	}{Topics: topics}
	if more && len(topics) > 0 {
		page.Next = topics[len(topics)-1]
	}
	b, _ := json.Marshal(page)
	WriteJSON(w, http.StatusOK, append(b, '\n'))
}

// WriteStatus answers a health probe: {"status":"ok"}.
func WriteStatus(w http.ResponseWriter, status string) {
	WriteJSON(w, http.StatusOK, append(strconv.AppendQuote([]byte(`{"status":`), status), '}'))
}
