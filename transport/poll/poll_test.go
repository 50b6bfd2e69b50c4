package poll_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickerd/tickerd/message"
	"github.com/tickerd/tickerd/transport"
	"github.com/tickerd/tickerd/transport/poll"
	"github.com/tickerd/tickerd/transport/wire"
)

// Without a cursor a poll answers at once with one snapshot; its cursor is
// the response's. With that cursor, nothing new and timeout=0, it answers
// at once with no messages and the same position.
func TestSnapshotThenEmptyShortPoll(t *testing.T) {
	f := newFixture(t, transport.Options{}, poll.Options{})
	f.publish("p.a", message.State, `{"v":1}`)
	f.publish("p.b", message.Event, `{"v":2}`)
	head := f.publish("q.a", message.State, `{"v":3}`)

	start := time.Now()
	r := f.get("?topics=p.*&timeout=30")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a poll without cursor took %v", d)
	}
	r.expectOK(t)
	ms := r.messages(t)
	if len(ms) != 1 || ms[0].Type != "snapshot" || ms[0].Reset {
		t.Fatalf("messages %s, want one snapshot", r.Messages)
	}
	if s := ms[0]; s.Cursor != r.Cursor || r.Cursor != f.cursor(head) {
		t.Errorf("snapshot cursor %q, response cursor %q, want both %q", s.Cursor, r.Cursor, f.cursor(head))
	}
	if items := ms[0].Items; len(items) != 2 || items[0].Topic != "p.a" || items[1].Topic != "p.b" || items[1].Kind != "event" {
		t.Errorf("snapshot items %+v", items)
	}

	again := f.get("?topics=p.*&timeout=0&cursor=" + r.Cursor)
	again.expectOK(t)
	if string(again.Messages) != "[]" {
		t.Errorf("messages %s, want []", again.Messages)
	}
	if again.Cursor != r.Cursor {
		t.Errorf("cursor moved from %q to %q with nothing new", r.Cursor, again.Cursor)
	}
}

// With a cursor a poll returns what was published after it, in order, and
// the cursor of the last message.
func TestUpdatesAfterCursor(t *testing.T) {
	f := newFixture(t, transport.Options{}, poll.Options{})
	from := f.publish("u.a", message.State, `{"n":0}`)
	var seqs []uint64
	for i := 1; i <= 4; i++ {
		seqs = append(seqs, f.publish(fmt.Sprintf("u.%c", 'a'+i%2), message.Event, fmt.Sprintf(`{"n":%d}`, i)))
		f.publish("other", message.Event, `{}`)
	}
	r := f.get("?topics=u.*&timeout=5&cursor=" + f.cursor(from))
	r.expectOK(t)
	ms := r.messages(t)
	if len(ms) != len(seqs) {
		t.Fatalf("got %d messages %s, want %d", len(ms), r.Messages, len(seqs))
	}
	for i, m := range ms {
		if m.Type != "update" || m.Cursor != f.cursor(seqs[i]) || string(m.Data) != fmt.Sprintf(`{"n":%d}`, i+1) {
			t.Errorf("message %d: %+v", i, m)
		}
	}
	if last := ms[len(ms)-1].Cursor; r.Cursor != last {
		t.Errorf("response cursor %q, want the last message's %q", r.Cursor, last)
	}
}

// A backlog larger than MaxMessages is served across polls, each going on
// from the cursor the previous one returned.
func TestMaxMessagesPages(t *testing.T) {
	f := newFixture(t, transport.Options{}, poll.Options{MaxMessages: 3})
	start := f.publish("m.x", message.Event, `{"n":0}`)
	for i := 1; i <= 5; i++ {
		f.publish("m.x", message.Event, fmt.Sprintf(`{"n":%d}`, i))
	}
	cursor := f.cursor(start)
	next := 1
	for _, want := range []int{3, 2} {
		r := f.get("?topics=m.x&timeout=0&cursor=" + cursor)
		r.expectOK(t)
		ms := r.messages(t)
		if len(ms) != want {
			t.Fatalf("page after n=%d: %d messages %s, want %d", next-1, len(ms), r.Messages, want)
		}
		for _, m := range ms {
			if string(m.Data) != fmt.Sprintf(`{"n":%d}`, next) {
				t.Fatalf("got %s, want n %d", m.Data, next)
			}
			next++
		}
		if r.Cursor != ms[len(ms)-1].Cursor {
			t.Fatalf("response cursor %q, last message's %q", r.Cursor, ms[len(ms)-1].Cursor)
		}
		cursor = r.Cursor
	}
	if r := f.get("?topics=m.x&timeout=0&cursor=" + cursor); string(r.Messages) != "[]" || r.Cursor != cursor {
		t.Errorf("after the backlog: %s", r.body)
	}
}

// A waiting poll answers soon after something is published, long before
// its timeout.
func TestWaitingPollWakesOnPublish(t *testing.T) {
	f := newFixture(t, transport.Options{}, poll.Options{})
	from := f.publish("w.x", message.State, `{"n":0}`)
	type result struct {
		r *response
		d time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		r := f.get("?topics=w.x&timeout=5&cursor=" + f.cursor(from))
		done <- result{r, time.Since(start)}
	}()
	select {
	case <-f.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the poll never reached the handler")
	}
	seq := f.publish("w.x", message.State, `{"n":1}`)
	res := <-done
	res.r.expectOK(t)
	if ms := res.r.messages(t); len(ms) != 1 || ms[0].Cursor != f.cursor(seq) || res.r.Cursor != f.cursor(seq) {
		t.Fatalf("woken poll: %s", res.r.body)
	}
	if res.d >= 3*time.Second {
		t.Errorf("poll answered after %v, want soon after the publish (timeout 5s)", res.d)
	}
}

// A timeout above MaxTimeout is lowered to it, not refused.
func TestTimeoutCapped(t *testing.T) {
	f := newFixture(t, transport.Options{}, poll.Options{MaxTimeout: 200 * time.Millisecond})
	from := f.publish("c.x", message.State, `{}`)
	start := time.Now()
	r := f.get("?topics=c.x&timeout=3600&cursor=" + f.cursor(from))
	r.expectOK(t)
	if d := time.Since(start); d >= 3*time.Second {
		t.Errorf("timeout=3600 with MaxTimeout 200ms waited %v", d)
	}
	if string(r.Messages) != "[]" || r.Cursor != f.cursor(from) {
		t.Errorf("capped poll: %s", r.body)
	}
}

// A timeout too large to hold in a time.Duration is lowered to MaxTimeout
// like any other large one. It is not: ParseTimeout multiplies the seconds
// by time.Second without a bound, so 9223372037 s overflows to a negative
// duration and the poll answers at once (without a cursor it may even be a
// 503 "hub has not loaded the stream yet", its context having expired
// before it began), and a number beyond int64 is refused as bad_request.
// BUG: fails until wire.ParseTimeout caps before multiplying.
func TestHugeTimeoutCapped(t *testing.T) {
	const maxTimeout = 300 * time.Millisecond
	f := newFixture(t, transport.Options{}, poll.Options{MaxTimeout: maxTimeout})
	from := f.publish("h.x", message.State, `{}`)
	for _, timeout := range []string{"9223372037", "99999999999999999999"} {
		start := time.Now()
		r := f.get("?topics=h.x&timeout=" + timeout + "&cursor=" + f.cursor(from))
		d := time.Since(start)
		if r.status != http.StatusOK || string(r.Messages) != "[]" {
			t.Errorf("timeout=%s: %d %s, want 200 and no messages after MaxTimeout", timeout, r.status, r.body)
			continue
		}
		if d < maxTimeout {
			t.Errorf("timeout=%s answered after %v, before MaxTimeout %v: the wait was not capped at it", timeout, d, maxTimeout)
		}
	}
}

// Requests that cannot be served are HTTP errors.
func TestRefusals(t *testing.T) {
	f := newFixture(t, transport.Options{MaxTopics: 2}, poll.Options{})
	// One character of a good cursor changed: the checksum refuses it.
	good := f.cursor(12345)
	mangled := []byte(good)
	if mangled[4] == 'A' {
		mangled[4] = 'B'
	} else {
		mangled[4] = 'A'
	}
	for _, c := range []struct{ query, code string }{
		{"?timeout=1", "bad_request"},
		{"?topics=&timeout=1", "bad_request"},
		{"?topics=a&timeout=-1", "bad_request"},
		{"?topics=a&timeout=abc", "bad_request"},
		{"?topics=a&timeout=1.5", "bad_request"},
		{"?topics=a&timeout=1s", "bad_request"},
		{"?topics=a.>.b", "bad_topic"},
		{"?topics=a&timeout=0&cursor=" + string(mangled), "bad_cursor"},
		{"?topics=a&timeout=0&cursor=%21%21", "bad_cursor"},
		{"?topics=a,b,c", "too_many_topics"},
	} {
		t.Run(strings.TrimPrefix(c.query, "?"), func(t *testing.T) {
			f.get(c.query).expectError(t, http.StatusBadRequest, c.code)
		})
	}
}

// On a hub that is shutting down, a poll without a cursor is 503
// shutdown; one with a cursor answers at once with what it has.
func TestShutdown(t *testing.T) {
	f := newFixture(t, transport.Options{}, poll.Options{})
	from := f.publish("s.x", message.State, `{}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.hub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	f.get("?topics=s.x").expectError(t, http.StatusServiceUnavailable, "shutdown")

	start := time.Now()
	r := f.get("?topics=s.x&timeout=5&cursor=" + f.cursor(from))
	r.expectOK(t)
	if d := time.Since(start); d >= 3*time.Second {
		t.Errorf("poll with cursor on a shut down hub took %v", d)
	}
	if string(r.Messages) != "[]" || r.Cursor != f.cursor(from) {
		t.Errorf("poll with cursor on a shut down hub: %s", r.body)
	}
}

// A poll whose topics the Authorizer refuses is 403.
func TestAuthorizerForbids(t *testing.T) {
	forbid := transport.AuthorizerFunc(func(_ context.Context, _ transport.Principal, patterns []string) error {
		for _, p := range patterns {
			if strings.HasPrefix(p, "secret.") {
				return wire.ErrForbidden
			}
		}
		return nil
	})
	f := newFixture(t, transport.Options{Authorizer: forbid}, poll.Options{})
	f.get("?topics=public.a,secret.b").expectError(t, http.StatusForbidden, "forbidden")
	f.get("?topics=public.a&timeout=0").expectOK(t)
}

// A poll whose topics got nothing new answers with a cursor moved up to
// how far it looked, so the next poll does not look again.
func TestCursorMovesPastUnmatched(t *testing.T) {
	f := newFixture(t, transport.Options{}, poll.Options{})
	from := f.publish("mine", message.State, `{}`)
	var head uint64
	for range 3 {
		head = f.publish("theirs", message.Event, `{}`)
	}
	r := f.get("?topics=mine&timeout=0&cursor=" + f.cursor(from))
	r.expectOK(t)
	if string(r.Messages) != "[]" || r.Cursor != f.cursor(head) {
		t.Errorf("got %s, want no messages and the cursor after %d", r.body, head)
	}
}

// A cursor of another incarnation of the stream, or one beyond the end of
// the stream, gets a reset snapshot.
func TestUnservableCursorResets(t *testing.T) {
	f := newFixture(t, transport.Options{}, poll.Options{})
	head := f.publish("e.x", message.State, `{"v":1}`)
	for _, c := range []message.Cursor{
		{Epoch: f.hub.Epoch() + 1, Seq: 1},
		{Epoch: f.hub.Epoch(), Seq: head + 100},
	} {
		r := f.get("?topics=e.*&timeout=5&cursor=" + c.String())
		r.expectOK(t)
		ms := r.messages(t)
		if len(ms) != 1 || ms[0].Type != "snapshot" || !ms[0].Reset || len(ms[0].Items) != 1 || r.Cursor != f.cursor(head) {
			t.Errorf("cursor %+v: got %s, want one reset snapshot at %d", c, r.body, head)
		}
	}
}

// A poll that is waiting when the hub shuts down answers at once, and the
// shutdown does not wait for its timeout.
func TestShutdownAnswersWaitingPoll(t *testing.T) {
	f := newFixture(t, transport.Options{}, poll.Options{})
	from := f.publish("s.x", message.State, `{}`)
	done := make(chan *response, 1)
	go func() { done <- f.get("?topics=s.x&timeout=30&cursor=" + f.cursor(from)) }()
	select {
	case <-f.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the poll never reached the handler")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := f.hub.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a waiting poll: %v", err)
	}
	select {
	case r := <-done:
		r.expectOK(t)
		if string(r.Messages) != "[]" || r.Cursor != f.cursor(from) {
			t.Errorf("waiting poll on shutdown: %s", r.body)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a waiting poll did not answer on shutdown")
	}
}
