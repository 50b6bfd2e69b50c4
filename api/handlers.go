package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tickerd/tickerd/feed"
	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/wire"
)

func healthz(w http.ResponseWriter, _ *http.Request) {
	wire.WriteStatus(w, "ok")
}

func readyz(ready func(context.Context) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			if err := ready(r.Context()); err != nil {
				wire.WriteError(w, wire.ErrUnavailable.With(err.Error()))
				return
			}
		}
		wire.WriteStatus(w, "ready")
	}
}

// snapshot serves GET /v1/snapshot?topics=a,b:
// {"cursor":C,"items":[updates]}.
func snapshot(hub *transport.Hub) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		patterns, err := wire.ParseTopics(r.URL.RawQuery, hub.MaxTopics())
		if err == nil && len(patterns) == 0 {
			err = wire.ErrNoTopics
		}
		if err != nil {
			wire.WriteError(w, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		c, items, err := hub.Snapshot(ctx, transport.PrincipalFrom(r.Context()), patterns)
		if err != nil {
			wire.WriteError(w, err)
			return
		}
		wire.WriteSnapshot(w, c, items)
	}
}

// topics serves GET /v1/topics?prefix=p&after=t&limit=n, a page of the
// known topics: {"topics":["stocks.AAPL",..],"next":"stocks.AAPL"}.
func topics(hub *transport.Hub) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pg, err := wire.ParseTopicsPage(r.URL.RawQuery)
		if err != nil {
			wire.WriteError(w, err)
			return
		}
		page, more, err := hub.Topics(r.Context(), transport.PrincipalFrom(r.Context()), pg.Prefix, pg.After, pg.Limit)
		if err != nil {
			wire.WriteError(w, err)
			return
		}
		wire.WriteTopics(w, page, more)
	}
}

// publishVisible bounds how long a publish waits for this gateway to route
// what it stored; past it the publish still succeeds.
const publishVisible = 2 * time.Second

// publish serves POST /v1/publish: one update, an array, or NDJSON. The
// body is validated whole, and its new topics counted against the hub's
// capacity, before anything is published. It answers
// {"published":N,"duplicate":D,"cursor":C} (wire.WritePublished), C the
// position after the last update, once this gateway has routed it: a
// snapshot read after the publish returns holds what was published.
func publish(pub Publisher, hub *transport.Hub, timeout time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		updates, err := feed.DecodeUpdates(r.Body, time.Now())
		if err != nil {
			wire.WriteError(w, bodyError(err))
			return
		}
		if err := idempotencyKey(r.Header, updates); err != nil {
			wire.WriteError(w, err)
			return
		}
		if err := mayPublish(transport.PrincipalFrom(r.Context()), updates); err != nil {
			wire.WriteError(w, err)
			return
		}
		if err := hub.Fits(updates); err != nil {
			wire.WriteError(w, err)
			return
		}
		pctx, cancel := context.WithTimeout(r.Context(), timeout)
		seq, n, dup, err := pub.Store(pctx, updates)
		cancel()
		if err != nil {
			wire.WriteError(w, wire.ErrUnavailable.With(fmt.Sprintf("published %d of %d updates, then: %v", n, len(updates), err)))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), publishVisible)
		_ = hub.Await(ctx, seq)
		cancel()
		wire.WritePublished(w, n, dup, message.Cursor{Epoch: hub.Epoch(), Seq: seq})
	}
}

// idempotencyKey applies the Idempotency-Key header, when there is one, to
// the body's update as its ID: for publishers that would rather not touch
// the body. It names one update, so a body of several is refused, as is
// one whose update names another ID.
func idempotencyKey(h http.Header, updates []message.Update) error {
	vs := h.Values("Idempotency-Key")
	if len(vs) == 0 {
		return nil
	}
	if len(vs) > 1 {
		return wire.ErrBadRequest.With("more than one Idempotency-Key header")
	}
	key := vs[0]
	if err := message.ValidateID(key); err != nil {
		return wire.ErrBadRequest.With("Idempotency-Key: " + err.Error())
	}
	if len(updates) != 1 {
		return wire.ErrBadRequest.With(fmt.Sprintf("Idempotency-Key names one update, and the body has %d; give each its \"id\" instead", len(updates)))
	}
	if id := updates[0].ID; id != "" && id != key {
		return wire.ErrBadRequest.With(fmt.Sprintf("Idempotency-Key %q and the update's id %q differ", key, id))
	}
	updates[0].ID = key
	return nil
}

// bodyError places a publish body's fault in the error table.
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return wire.ErrTooLarge.With(fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit))
	case errors.Is(err, message.ErrBadTopic), errors.Is(err, message.ErrBadKind):
		return err
	case errors.Is(err, feed.ErrTooBig), errors.Is(err, feed.ErrTooMany):
		return wire.ErrTooLarge.With(err.Error())
	}
	return wire.ErrBadRequest.With(err.Error())
}
