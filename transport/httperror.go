package transport

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/tickerd/tickerd/message"
)

// ErrorCode maps an error to the contract's error code and HTTP status.
func ErrorCode(err error) (code string, status int) {
	switch {
	case errors.Is(err, ErrNoTopics):
		return CodeBadRequest, http.StatusBadRequest
	case errors.Is(err, message.ErrBadTopic):
		return CodeBadTopic, http.StatusBadRequest
	case errors.Is(err, message.ErrBadCursor):
		return CodeBadCursor, http.StatusBadRequest
	case errors.Is(err, ErrTooManyTopics):
		return CodeTooManyTopic, http.StatusBadRequest
	case errors.Is(err, ErrSlowConsumer):
		return CodeSlowConsumer, http.StatusServiceUnavailable
	case errors.Is(err, ErrShutdown):
		return CodeShutdown, http.StatusServiceUnavailable
	case errors.Is(err, ErrNotReady):
		return CodeUnavailable, http.StatusServiceUnavailable
	}
	return CodeUnavailable, http.StatusServiceUnavailable
}

// WriteError writes the contract's HTTP error body:
// {"error":{"code":"bad_topic","message":".."}}.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	b := []byte(`{"error":{"code":`)
	b = strconv.AppendQuote(b, code)
	b = append(b, `,"message":`...)
	b, _ = appendJSONString(b, msg)
	WriteJSON(w, status, append(b, "}}\n"...))
}

// WriteJSON writes a JSON body that no cache may keep.
func WriteJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteErr writes err with the code and status ErrorCode gives it.
func WriteErr(w http.ResponseWriter, err error) {
	code, status := ErrorCode(err)
	WriteError(w, status, code, err.Error())
}
