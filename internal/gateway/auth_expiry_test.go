package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// shortLived is a token for topics whose exp is two to three seconds
// away (exp is in whole seconds), and that exp.
func shortLived(t *testing.T, topics ...string) (string, time.Time) {
	t.Helper()
	exp := time.Unix(time.Now().Add(3*time.Second).Unix(), 0)
	c := grant(topics...)
	c.exp = exp
	return hs(t, c), exp
}

// endedAtExp fails unless at is at exp: not before (a timer fires no
// earlier than asked) and well within a second after.
func endedAtExp(t *testing.T, what string, at, exp time.Time) {
	t.Helper()
	if at.Before(exp) || at.After(exp.Add(time.Second)) {
		t.Errorf("%s ended at %v, the token's exp %v", what, at.Format("15:04:05.000"), exp.Format("15:04:05.000"))
	}
}

// A WebSocket whose token runs out is closed 4003 at its exp; the hello
// said when.
func TestAuthExpiryWebSocket(t *testing.T) {
	base := authGateway(t)
	token, exp := shortLived(t, "private.>")
	w := dialWS(t, base, "?topics=private.a&token="+token)
	if h := w.expect("hello"); h.Expires != exp.Unix() {
		t.Errorf("hello expires %d, want %d", h.Expires, exp.Unix())
	}
	w.expect("snapshot")
	mustPublish(t, base, `{"topic":"private.a","kind":"event","data":"before"}`)
	if m := w.expect("update"); string(m.Data) != `"before"` {
		t.Errorf("update %+v", m)
	}
	_, err := w.read(10 * time.Second)
	endedAtExp(t, "the WebSocket", time.Now(), exp)
	if code := closeCode(err); code != 4003 {
		t.Errorf("closed with %d (%v), want 4003", code, err)
	}
}

// An SSE stream whose token runs out ends at its exp with a
// token_expired error event.
func TestAuthExpirySSE(t *testing.T) {
	base := authGateway(t)
	token, exp := shortLived(t, "private.>")
	req := mustRequest(t, http.MethodGet, base+"/v1/sse?topics=private.a")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	var events []string
	var last string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break // the stream ended
		}
		switch {
		case strings.HasPrefix(line, "event: "):
			events = append(events, strings.TrimSpace(strings.TrimPrefix(line, "event: ")))
		case strings.HasPrefix(line, "data: "):
			last = line
			if len(events) == 1 && !strings.Contains(line, fmt.Sprintf(`"expires":%d`, exp.Unix())) {
				t.Errorf("hello without expires %d: %s", exp.Unix(), line)
			}
		}
	}
	endedAtExp(t, "the SSE stream", time.Now(), exp)
	if strings.Join(events, ",") != "hello,snapshot,error" || !strings.Contains(last, `"code":"token_expired"`) {
		t.Errorf("events %q, last %s", events, last)
	}
}

// A long poll waits no longer than its token lasts: at exp it answers 401
// token_expired.
func TestAuthExpiryPoll(t *testing.T) {
	base := authGateway(t)
	var snap struct{ Cursor string }
	getJSON(t, base+"/v1/snapshot?topics=public.a", &snap)
	token, exp := shortLived(t, "private.>")
	req := mustRequest(t, http.MethodGet, base+"/v1/poll?topics=private.a&timeout=30&cursor="+snap.Cursor)
	req.Header.Set("Authorization", "Bearer "+token)
	code, body := do(t, req)
	endedAtExp(t, "the poll", time.Now(), exp)
	if code != 401 || !strings.Contains(body, "token_expired") {
		t.Errorf("poll across exp: %d %s", code, body)
	}
}

// A WebSocket that renews its token with the auth command before exp
// stays open, and the events published across the renewal arrive once
// each, in order.
func TestAuthRenewWebSocket(t *testing.T) {
	base := authGateway(t)
	token, exp := shortLived(t, "private.>")
	w := dialWS(t, base, "?topics=private.a&token="+token)
	w.expect("hello")
	w.expect("snapshot")
	renewed := false
	var got []int
	n := 0
	for time.Now().Before(exp.Add(time.Second)) {
		n++
		mustPublish(t, base, fmt.Sprintf(`{"topic":"private.a","kind":"event","data":%d}`, n))
		if !renewed && time.Until(exp) < 1500*time.Millisecond {
			w.send(`{"type":"auth","id":"renew","token":"` + hs(t, grant("private.a")) + `"}`)
			renewed = true
		}
		for len(got) < n {
			m, err := w.read(5 * time.Second)
			if err != nil {
				t.Fatalf("after %d events, at %v (exp %v): %v", len(got), time.Now().Format("15:04:05.000"), exp.Format("15:04:05.000"), err)
			}
			switch m.Type {
			case "update":
				var d int
				_ = json.Unmarshal(m.Data, &d)
				got = append(got, d)
			case "ack":
				if string(m.ID) != `"renew"` {
					t.Fatalf("ack %+v", m)
				}
			default:
				t.Fatalf("message %+v", m)
			}
		}
		time.Sleep(20 * time.Millisecond) // pace the publisher, not a wait for the server
	}
	for i, d := range got {
		if d != i+1 {
			t.Fatalf("events %v: not each once in order", got)
		}
	}
	if !renewed || n < 10 {
		t.Fatalf("renewed %v, %d events", renewed, n)
	}
}

// A JWKS served over HTTP is read again on an unknown kid: a key added
// without a restart is taken at once, and one removed is dropped at the
// next periodic refresh.
func TestAuthJWKSRotationURL(t *testing.T) {
	k := testKeys()
	var body atomic.Pointer[[]byte]
	var hits atomic.Int32
	set := func(keys map[string]any) { b := jwks(t, keys); body.Store(&b) }
	set(map[string]any{"rs1": k.rs1})
	ks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write(*body.Load())
	}))
	defer ks.Close()
	opts := jwtOptions("", ks.URL)
	opts.Refresh = 200 * time.Millisecond
	_, srv := testGateway(t, Config{JWT: opts})
	rotated := sign(t, grant("x.>"), jwt.SigningMethodRS256, k.rs2, "rs2")
	old := sign(t, grant("x.>"), jwt.SigningMethodRS256, k.rs1, "rs1")
	if got := subscribeVia(t, srv.URL, "snapshot", "x.a", rotated, byHeader); got.status != 401 {
		t.Fatalf("a kid not published yet: %+v", got)
	}
	set(map[string]any{"rs1": k.rs1, "rs2": k.rs2})
	if got := subscribeVia(t, srv.URL, "snapshot", "x.a", rotated, byQuery); got.status != 200 {
		t.Fatalf("the new kid after rotation: %+v", got)
	}
	set(map[string]any{"rs2": k.rs2})
	eventually(t, 5*time.Second, "the removed key is still taken", func() bool {
		return subscribeVia(t, srv.URL, "snapshot", "x.a", old, byHeader).status == 401
	})
	if hits.Load() < 3 {
		t.Errorf("the JWKS was read %d times", hits.Load())
	}
}

// A JWKS file is read again too.
func TestAuthJWKSRotationFile(t *testing.T) {
	k := testKeys()
	file := filepath.Join(t.TempDir(), "jwks.json")
	write := func(keys map[string]any) {
		if err := os.WriteFile(file, jwks(t, keys), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(map[string]any{"es1": k.es1})
	_, srv := testGateway(t, Config{JWT: jwtOptions("", file), PublicTopics: []string{"public.>"}})
	if got := subscribeVia(t, srv.URL, "sse", "x.a", sign(t, grant("x.>"), jwt.SigningMethodES256, k.es1, "es1"), byHeader); got.status != 200 {
		t.Fatalf("es1: %+v", got)
	}
	rotated := sign(t, grant("x.>"), jwt.SigningMethodRS256, k.rs1, "rs1")
	write(map[string]any{"es1": k.es1, "rs1": k.rs1})
	if got := subscribeVia(t, srv.URL, "poll", "x.a", rotated, byCookie); got.status != 200 {
		t.Fatalf("rs1 after the file changed: %+v", got)
	}
}

// A gateway whose keys cannot be read does not start, nor does one with
// public topics and no way to verify a token.
func TestAuthConfigRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, cfg := range map[string]Config{
		"missing JWKS file":         {JWT: jwtOptions("", filepath.Join(t.TempDir(), "none.json"))},
		"short secret":              {JWT: jwtOptions("short", "")},
		"public topics without JWT": {PublicTopics: []string{"a.>"}},
	} {
		cfg.DataDir = t.TempDir()
		if g, err := Start(ctx, cfg); err == nil {
			g.Close()
			t.Errorf("%s: started", name)
		}
	}
}
