package feed

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/logbuf"
	"github.com/tickerd/tickerd/message"
)

// recorder is a Publisher that keeps what it is given and signals every
// publish. fail makes the first calls fail.
type recorder struct {
	mu      sync.Mutex
	got     []message.Update
	calls   int
	fail    int // this many first calls fail
	block   bool
	publish chan struct{}
}

func newRecorder() *recorder { return &recorder{publish: make(chan struct{}, 1)} }

var errNATSDown = errors.New("nats: no responders available for request")

func (r *recorder) Publish(ctx context.Context, u message.Update) error {
	r.mu.Lock()
	r.calls++
	failing := r.calls <= r.fail
	if !failing && !r.block {
		r.got = append(r.got, u)
	}
	r.mu.Unlock()
	select {
	case r.publish <- struct{}{}:
	default:
	}
	if r.block {
		<-ctx.Done()
		return ctx.Err()
	}
	if failing {
		return errNATSDown
	}
	return nil
}

func (r *recorder) counts() (calls, got int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls, len(r.got)
}

// await waits, without sleeping, until cond holds after some publish.
func (r *recorder) await(t *testing.T, what string, cond func(calls, got int) bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		if cond(r.counts()) {
			return
		}
		select {
		case <-r.publish:
		case <-timeout:
			calls, got := r.counts()
			t.Fatalf("timed out waiting for %s: %d calls, %d published", what, calls, got)
		}
	}
}

// start runs run in a goroutine and returns its cancel and a channel of
// its result.
func start(run func(context.Context, Publisher) error, p Publisher) (context.CancelFunc, <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, p) }()
	return cancel, done
}

func awaitReturn(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestStocksRun(t *testing.T) {
	s := NewStocks(StocksOptions{TicksPerSecond: 50, Logger: quiet()})
	rec := newRecorder()
	cancel, done := start(s.Run, rec)
	n := len(defaultStocks)
	// The opening quotes, then ticks after them.
	rec.await(t, "quotes after the opening", func(_, got int) bool { return got > 2*n })
	cancel()
	awaitReturn(t, done)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, u := range rec.got {
		if message.ValidateTopic(u.Topic) != nil || u.Kind != message.State || u.Time.IsZero() {
			t.Fatalf("bad update %+v", u)
		}
	}
	checkIDs(t, "stocks", rec.got)
}

// checkIDs checks that every update of a feed run has a valid ID of its
// own, named for the feed.
func checkIDs(t *testing.T, feed string, us []message.Update) {
	t.Helper()
	seen := make(map[string]bool, len(us))
	for _, u := range us {
		if message.ValidateID(u.ID) != nil || !strings.HasPrefix(u.ID, feed+"-") || seen[u.ID] {
			t.Fatalf("update %+v: ID not valid, not the feed's or seen before", u)
		}
		seen[u.ID] = true
	}
}

func TestSportsRun(t *testing.T) {
	s := NewSports(SportsOptions{Logger: quiet()})
	rec := newRecorder()
	cancel, done := start(s.Run, rec)
	rec.await(t, "a scoreboard per game", func(_, got int) bool { return got >= 6 })
	cancel()
	awaitReturn(t, done)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	checkIDs(t, "sports", rec.got)

	// Another run counts again, under another prefix.
	a, b := newIDs("x").next(), newIDs("x").next()
	if a == b || !strings.HasSuffix(a, "-1") || !strings.HasSuffix(b, "-1") {
		t.Errorf("two runs' first IDs: %q %q", a, b)
	}
}

// TestRunSurvivesPublishErrors: a feed whose publishes fail keeps stepping
// and retrying at its own pace, logs the outage once rather than per
// failure, and says when publishing works again.
func TestRunSurvivesPublishErrors(t *testing.T) {
	var logs logbuf.Buffer
	s := NewStocks(StocksOptions{TicksPerSecond: 50, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	rec := newRecorder()
	rec.fail = 5
	cancel, done := start(s.Run, rec)
	// Two successes: the loop logs its recovery after the first returns
	// and before it publishes the second, while a cancel right after the
	// first could stop it before it logged.
	rec.await(t, "publishing to recover", func(_, got int) bool { return got > 1 })
	cancel()
	awaitReturn(t, done)

	out := logs.String()
	if n := strings.Count(out, "publish failed"); n != 1 {
		t.Errorf("%d publish failure lines for 5 failures in a burst, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "publishing again") || !strings.Contains(out, errNATSDown.Error()) {
		t.Errorf("log lacks the failure or the recovery:\n%s", out)
	}
}

// TestRunCancelDuringPublish: a publish blocked on an unreachable stream
// does not keep Run from returning.
func TestRunCancelDuringPublish(t *testing.T) {
	s := NewSports(SportsOptions{Logger: quiet()})
	rec := newRecorder()
	rec.block = true
	cancel, done := start(s.Run, rec)
	rec.await(t, "a publish", func(calls, _ int) bool { return calls > 0 })
	cancel()
	awaitReturn(t, done)
}

func TestRunNoPublisher(t *testing.T) {
	s := NewStocks(StocksOptions{Logger: quiet()})
	if err := s.Run(context.Background(), nil); !errors.Is(err, ErrNoPublisher) {
		t.Fatalf("Run(nil publisher) = %v, want ErrNoPublisher", err)
	}
}
