package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
)

func healthz(w http.ResponseWriter, _ *http.Request) {
	transport.WriteJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
}

func readyz(ready func(context.Context) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			if err := ready(r.Context()); err != nil {
				transport.WriteError(w, http.StatusServiceUnavailable, transport.CodeUnavailable, err.Error())
				return
			}
		}
		transport.WriteJSON(w, http.StatusOK, []byte(`{"status":"ready"}`))
	}
}

// snapshot serves GET /v1/snapshot?topics=a,b:
// {"cursor":C,"items":[updates]}.
func snapshot(hub *transport.Hub) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		patterns, err := message.ParsePatterns(r.URL.Query().Get("topics"))
		if err != nil {
			transport.WriteErr(w, err)
			return
		}
		if len(patterns) == 0 {
			transport.WriteErr(w, transport.ErrNoTopics)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		c, items, err := hub.Snapshot(ctx, patterns)
		if err != nil {
			transport.WriteErr(w, err)
			return
		}
		n := 32
		for _, f := range items {
			n += len(f.JSON) + 1
		}
		b := make([]byte, 0, n)
		b = append(b, `{"cursor":"`...)
		b = c.AppendText(b)
		b = append(b, `","items":[`...)
		for i, f := range items {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, f.JSON...)
		}
		transport.WriteJSON(w, http.StatusOK, append(b, "]}\n"...))
	}
}

// topics serves GET /v1/topics?prefix=p: {"topics":["stocks.AAPL",..]}.
func topics(hub *transport.Hub) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		prefix := r.URL.Query().Get("prefix")
		if len(prefix) > message.MaxTopicLen {
			transport.WriteError(w, http.StatusBadRequest, transport.CodeBadTopic, "prefix is longer than a topic can be")
			return
		}
		b, _ := json.Marshal(struct {
			Topics []string `json:"topics"`
		}{hub.Topics(prefix)})
		transport.WriteJSON(w, http.StatusOK, append(b, '\n'))
	}
}

// publishVisible bounds how long a publish waits for this gateway to route
// what it stored; past it the publish still succeeds.
const publishVisible = 2 * time.Second

// publish serves POST /v1/publish: one update, an array, or NDJSON. The
// body is validated whole before anything is published. It answers
// {"published":N,"cursor":C}, C the position after the last update, once
// this gateway has routed it: a snapshot read after the publish returns
// holds what was published.
func publish(pub Publisher, hub *transport.Hub, timeout time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		updates, err := feed.DecodeUpdates(r.Body, time.Now())
		if err != nil {
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				transport.WriteError(w, http.StatusRequestEntityTooLarge, "too_large",
					fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit))
			case errors.Is(err, message.ErrBadTopic):
				transport.WriteError(w, http.StatusBadRequest, transport.CodeBadTopic, err.Error())
			case errors.Is(err, message.ErrBadKind):
				transport.WriteError(w, http.StatusBadRequest, "bad_kind", err.Error())
			case errors.Is(err, feed.ErrTooBig), errors.Is(err, feed.ErrTooMany):
				transport.WriteError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
			default:
				transport.WriteError(w, http.StatusBadRequest, transport.CodeBadRequest, err.Error())
			}
			return
		}
		pctx, cancel := context.WithTimeout(r.Context(), timeout)
		seq, n, err := pub.PublishBatch(pctx, updates)
		cancel()
		if err != nil {
			transport.WriteError(w, http.StatusServiceUnavailable, transport.CodeUnavailable,
				fmt.Sprintf("published %d of %d updates, then: %v", n, len(updates), err))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), publishVisible)
		_ = hub.Await(ctx, seq)
		cancel()
		b := []byte(`{"published":`)
		b = strconv.AppendInt(b, int64(len(updates)), 10)
		b = append(b, `,"cursor":"`...)
		b = message.Cursor{Epoch: hub.Epoch(), Seq: seq}.AppendText(b)
		transport.WriteJSON(w, http.StatusOK, append(b, "\"}\n"...))
	}
}
