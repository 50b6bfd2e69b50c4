package wire

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/tickerd/tickerd/message"
)

// WriteJSON writes a JSON body that no cache may keep.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteError writes err as the contract's HTTP error, with the status and
// code of its row: {"error":{"code":"bad_topic","message":".."}}.
func WriteError(w http.ResponseWriter, err error) {
	e := Lookup(err)
	if e.base() == ErrUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tickerd"`)
	}
	if e.RetryAfter > 0 && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	b := appendCodeMessage([]byte(`{"error":{`), e.Code, err.Error())
	WriteJSON(w, e.Status, append(b, "}}\n"...))
}

// WriteSnapshot writes the REST snapshot: {"cursor":C,"items":[updates]}.
func WriteSnapshot(w http.ResponseWriter, c message.Cursor, items []*Frame) {
	b := make([]byte, 0, 32+listSize(items))
	b = c.AppendText(append(b, `{"cursor":"`...))
	b = appendList(append(b, `","items":`...), items)
	WriteJSON(w, http.StatusOK, append(b, "}\n"...))
}

// WritePoll writes a long-poll response: {"cursor":C,"messages":[..]},
// cursor being the position to poll from next.
func WritePoll(w http.ResponseWriter, cursor []byte, items []Item) {
	b := make([]byte, 0, 32+len(cursor)+listSize(items))
	b = append(append(b, `{"cursor":"`...), cursor...)
	b = appendList(append(b, `","messages":`...), items)
	WriteJSON(w, http.StatusOK, append(b, "}\n"...))
}

// WritePublished answers a publish: {"published":N,"cursor":C}, C the
// position after the last update stored.
func WritePublished(w http.ResponseWriter, n int, c message.Cursor) {
	b := strconv.AppendInt([]byte(`{"published":`), int64(n), 10)
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
