package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/embednats"
	"github.com/tickerd/tickerd/internal/logbuf"
	"github.com/tickerd/tickerd/internal/natstest"
	"github.com/tickerd/tickerd/internal/proxytest"
)

// Two gateways started at the same moment on a fresh NATS both start,
// though their first attempts to create the stream time out (as on a new
// cluster busy electing): the creation that timed out made the stream,
// and the retry finds it. --nats-url lists a server that is not there
// first; it is passed to nats.Connect as a list.
func TestStartTogetherOnFreshNATS(t *testing.T) {
	ns := natstest.Server(t)
	var logs logbuf.Buffer
	cfg := Config{
		NATSURL:      fmt.Sprintf("nats://127.0.0.1:%d,%s", proxytest.FreePort(t), ns.ClientURL()),
		PublishToken: testToken,
		Logger:       slog.New(slog.NewTextHandler(&logs, nil)),
		// The first attempt waits too little for the answer, though not
		// too little to ask.
		startupAttempt: 300 * time.Microsecond,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	gs, errs := make([]*Gateway, 2), make([]error, 2)
	start := make(chan struct{})
	for i := range gs {
		wg.Go(func() {
			<-start
			gs[i], errs[i] = Start(ctx, cfg)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("gateway %d: %v\n%s", i, err, logs.String())
		}
		defer gs[i].Close()
	}
	if !strings.Contains(logs.String(), "open the stream: failed; retrying") || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("no retry logged at warn:\n%s", logs.String())
	}
	// Both follow the one stream.
	srv, srv2 := httptest.NewServer(gs[0].Handler()), httptest.NewServer(gs[1].Handler())
	defer srv.Close()
	defer srv2.Close()
	for _, g := range gs {
		<-g.Hub().Loaded()
	}
	ws := dialWS(t, srv2.URL, "?topics=a")
	ws.expect("hello")
	ws.expect("snapshot")
	mustPublish(t, srv.URL, `{"topic":"a","kind":"state","data":1}`)
	if u := ws.expect("update"); u.Topic != "a" {
		t.Fatalf("update %+v", u)
	}
}

// A gateway started before NATS is up keeps trying, logging each retry,
// and starts once NATS comes up within --nats-startup-timeout.
func TestStartBeforeNATS(t *testing.T) {
	listen := fmt.Sprintf("127.0.0.1:%d", proxytest.FreePort(t))
	var logs logbuf.Buffer
	cfg := Config{
		NATSURL:            "nats://" + listen,
		NATSStartupTimeout: 20 * time.Second,
		PublishToken:       testToken,
		Logger:             slog.New(slog.NewTextHandler(&logs, nil)),
	}
	type started struct {
		g   *Gateway
		err error
	}
	done := make(chan started, 1)
	go func() {
		g, err := Start(context.Background(), cfg)
		done <- started{g, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), "connect to NATS at") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no retries logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond) // the log has no event to await
	}
	ns, err := embednats.Start(embednats.Options{DataDir: t.TempDir(), Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	s := <-done
	if s.err != nil {
		t.Fatalf("Start: %v\n%s", s.err, logs.String())
	}
	defer s.g.Close()
	if !strings.Contains(logs.String(), "level=WARN msg=\"connect to NATS at nats://"+listen+": failed; retrying\"") {
		t.Errorf("retries not logged at warn:\n%s", logs.String())
	}
	select {
	case <-s.g.Hub().Loaded():
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not load the stream")
	}
}

// Without NATS, Start gives up when --nats-startup-timeout ends, saying
// what it tried.
func TestExternalNATSUnreachable(t *testing.T) {
	began := time.Now()
	_, err := Start(context.Background(), Config{
		NATSURL:            fmt.Sprintf("nats://127.0.0.1:%d", proxytest.FreePort(t)),
		NATSStartupTimeout: time.Second,
		Logger:             slog.New(slog.DiscardHandler),
	})
	if err == nil || !strings.Contains(err.Error(), "--nats-startup-timeout") || !strings.Contains(err.Error(), "connect to NATS") {
		t.Fatalf("Start without NATS: %v", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("gave up after %v, with a 1s start-up timeout", took)
	}
}
