package gateway

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// authGateway serves a gateway that verifies tokens with the test secret
// and a JWKS file of an RSA key (kid rs1) and an EC key (kid es1), with
// public.> public.
func authGateway(t *testing.T) string {
	t.Helper()
	k := testKeys()
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, jwks(t, map[string]any{"rs1": k.rs1, "es1": k.es1}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, srv := testGateway(t, Config{
		JWT:          jwtOptions(testSecret, file),
		PublicTopics: []string{"public.>"},
	})
	mustPublish(t, srv.URL, `[{"topic":"public.a","kind":"state","data":1},{"topic":"private.a","kind":"state","data":2}]`)
	return srv.URL
}

// Every transport and the snapshot hold a subscription to the same rules,
// with the token in the header, the query or the cookie.
func TestAuthSubscriptions(t *testing.T) {
	base := authGateway(t)
	k := testKeys()
	expired := grant("public.>")
	expired.exp = time.Now().Add(-time.Minute)
	forged := sign(t, grant("private.>"), jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdefgh"), "")
	cases := []struct {
		name, topics, token string
		want                outcome
	}{
		{"public without a token", "public.a", "", outcome{200, ""}},
		{"private without a token", "private.a", "", outcome{401, "unauthorized"}},
		{"public and private without a token", "public.a,private.a", "", outcome{401, "unauthorized"}},
		{"granted by a pattern", "private.a", hs(t, grant("private.*")), outcome{200, ""}},
		{"granted exactly", "private.a,public.>", hs(t, grant("private.a")), outcome{200, ""}},
		{"RS256 from the JWKS", "private.a", sign(t, grant("private.>"), jwt.SigningMethodRS256, k.rs1, "rs1"), outcome{200, ""}},
		{"ES256 from the JWKS", "private.a", sign(t, grant("private.>"), jwt.SigningMethodES256, k.es1, "es1"), outcome{200, ""}},
		{"a token without the grant", "private.a", hs(t, grant("other.>")), outcome{403, "forbidden"}},
		{"a token without topics", "private.a", hs(t, claims{sub: "bob", exp: time.Now().Add(time.Hour)}), outcome{403, "forbidden"}},
		{"a pattern wider than the grant", "private.>", hs(t, grant("private.a")), outcome{403, "forbidden"}},
		{"a wildcard wider than the grant", "private.*", hs(t, grant("private.a", "private.b")), outcome{403, "forbidden"}},
		{"an expired token, public topic", "public.a", hs(t, expired), outcome{401, "token_expired"}},
		{"a forged signature", "public.a", forged, outcome{401, "unauthorized"}},
		{"alg none", "public.a", algNone(grant("private.>")), outcome{401, "unauthorized"}},
		{"HS256 keyed with the RS public key, its kid", "public.a",
			sign(t, grant("private.>"), jwt.SigningMethodHS256, rsPublicPEM(t, k.rs1), "rs1"), outcome{401, "unauthorized"}},
		{"HS256 keyed with the RS public key, no kid", "public.a",
			sign(t, grant("private.>"), jwt.SigningMethodHS256, rsPublicPEM(t, k.rs1), ""), outcome{401, "unauthorized"}},
		{"ES256 under the RSA key's kid", "public.a", sign(t, grant("private.>"), jwt.SigningMethodES256, k.es1, "rs1"), outcome{401, "unauthorized"}},
		{"RS256 by a key not in the JWKS", "public.a", sign(t, grant("private.>"), jwt.SigningMethodRS256, k.rs2, "rs1"), outcome{401, "unauthorized"}},
		{"an unknown kid", "public.a", sign(t, grant("private.>"), jwt.SigningMethodRS256, k.rs2, "nope"), outcome{401, "unauthorized"}},
		{"not a JWT", "public.a", "garbage", outcome{401, "unauthorized"}},
		{"a bad pattern in topics", "public.a", hs(t, grant("private..a")), outcome{401, "unauthorized"}},
	}
	for _, via := range []string{"ws", "ws-command", "sse", "poll", "snapshot"} {
		for _, tt := range cases {
			carriers := []carry{byHeader}
			if tt.want.status == 200 && tt.token != "" {
				carriers = []carry{byHeader, byQuery, byCookie}
			}
			for _, c := range carriers {
				t.Run(via+"/"+tt.name+"/"+string(c), func(t *testing.T) {
					if got := subscribeVia(t, base, via, tt.topics, tt.token, c); got != tt.want {
						t.Errorf("got %d %q, want %d %q", got.status, got.code, tt.want.status, tt.want.code)
					}
				})
			}
		}
	}
}

// The first carrier present wins: a good header over a bad query
// parameter, and a bad escape in the token parameter is refused.
func TestAuthCarriers(t *testing.T) {
	base := authGateway(t)
	good := hs(t, grant("private.>"))
	req := mustRequest(t, http.MethodGet, base+"/v1/snapshot?topics=private.a&token=garbage")
	req.Header.Set("Authorization", "Bearer "+good)
	req.Header.Set("Cookie", "tickerd_token=garbage")
	if code, body := do(t, req); code != 200 {
		t.Errorf("header over query and cookie: %d %s", code, body)
	}
	req = mustRequest(t, http.MethodGet, base+"/v1/snapshot?topics=private.a&token="+good)
	req.Header.Set("Cookie", "tickerd_token=garbage")
	if code, body := do(t, req); code != 200 {
		t.Errorf("query over cookie: %d %s", code, body)
	}
	code, body := do(t, mustRequest(t, http.MethodGet, base+"/v1/snapshot?topics=public.a&token=%zz"))
	if code != 400 || !strings.Contains(body, "bad_request") {
		t.Errorf("bad escape in token: %d %s", code, body)
	}
	// The topic list reads tokens too.
	code, body = do(t, mustRequest(t, http.MethodGet, base+"/v1/topics?token=garbage"))
	if code != 401 || !strings.Contains(body, "unauthorized") {
		t.Errorf("topics with a bad token: %d %s", code, body)
	}
	req = mustRequest(t, http.MethodGet, base+"/v1/topics")
	req.Header.Set("Authorization", "Bearer garbage")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 with WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
	}
}

// A publisher may use the static token, or a JWT whose publish claim
// covers every topic of the body; outside it nothing is published.
func TestAuthPublish(t *testing.T) {
	base := authGateway(t)
	pub := hs(t, claims{sub: "feeder", publish: []string{"public.jwt.*"}, exp: time.Now().Add(time.Hour)})
	if code, body := publish(t, base, pub, "application/json", `{"topic":"public.jwt.a","kind":"state","data":1}`); code != 200 {
		t.Fatalf("inside the claim: %d %s", code, body)
	}
	code, body := publish(t, base, pub, "application/json",
		`[{"topic":"public.jwt.b","kind":"state","data":1},{"topic":"public.other","kind":"state","data":1}]`)
	if code != 403 || !strings.Contains(body, "forbidden") {
		t.Errorf("outside the claim: %d %s", code, body)
	}
	var snap struct{ Items []struct{ Topic string } }
	getJSON(t, base+"/v1/snapshot?topics=public.>", &snap)
	for _, it := range snap.Items {
		if it.Topic == "public.jwt.b" || it.Topic == "public.other" {
			t.Errorf("a refused body published %s", it.Topic)
		}
	}
	if code, body := publish(t, base, hs(t, grant("public.>")), "application/json", `{"topic":"public.x","kind":"state","data":1}`); code != 403 {
		t.Errorf("a JWT without a publish claim: %d %s", code, body)
	}
	if code, body := publish(t, base, "garbage", "application/json", `{"topic":"public.x","kind":"state","data":1}`); code != 401 {
		t.Errorf("a bad bearer: %d %s", code, body)
	}
	if code, body := publish(t, base, testToken, "application/json", `{"topic":"anything.x","kind":"state","data":1}`); code != 200 {
		t.Errorf("the static token: %d %s", code, body)
	}
}

// An anonymous WebSocket presents a token with the auth command, then
// subscribes to what it grants; a bad token answers the command.
func TestAuthCommand(t *testing.T) {
	base := authGateway(t)
	w := dialWS(t, base, "?topics=public.a")
	if h := w.expect("hello"); h.Expires != 0 {
		t.Errorf("hello of an anonymous connection has expires %d", h.Expires)
	}
	w.expect("snapshot")
	w.send(`{"type":"subscribe","id":1,"topics":["private.a"]}`)
	if m := w.expect("error"); m.Code != "unauthorized" || string(m.ID) != "1" {
		t.Errorf("private before auth: %+v", m)
	}
	expired := grant("private.>")
	expired.exp = time.Now().Add(-time.Second)
	for _, tt := range []struct{ token, code string }{
		{"garbage", "unauthorized"},
		{algNone(grant("private.>")), "unauthorized"},
		{hs(t, expired), "token_expired"},
		{hs(t, grant("private.a")), ""},
		{hs(t, grant("other.>")), ""}, // public.a is public: nothing held needs a grant
	} {
		b, _ := json.Marshal(map[string]any{"type": "auth", "id": "a", "token": tt.token})
		w.send(string(b))
		m := w.next()
		if string(m.ID) != `"a"` || tt.code == "" && m.Type != "ack" || tt.code != "" && m.Code != tt.code {
			t.Errorf("auth %.20s...: %+v, want %q", tt.token, m, tt.code)
		}
	}
	w.send(`{"type":"auth","id":2,"token":"` + hs(t, grant("private.a")) + `"}`)
	w.expect("ack")
	w.send(`{"type":"subscribe","id":3,"topics":["private.a"]}`)
	if m := w.expect("ack"); string(m.ID) != "3" {
		t.Errorf("ack %+v", m)
	}
	w.expect("snapshot")
	// A token that does not cover what the connection holds is refused.
	w.send(`{"type":"auth","id":4,"token":"` + hs(t, grant("other.>")) + `"}`)
	if m := w.expect("error"); m.Code != "forbidden" || string(m.ID) != "4" {
		t.Errorf("narrower token: %+v", m)
	}
	// The old token still rules.
	mustPublish(t, base, `{"topic":"private.a","kind":"state","data":3}`)
	if m := w.expect("update"); m.Topic != "private.a" {
		t.Errorf("update %+v", m)
	}
}

// /v1/topics lists only what its caller could subscribe to: public topics
// without a token, and the granted ones besides with one.
func TestAuthTopicsListing(t *testing.T) {
	base := authGateway(t)
	list := func(token string) []string {
		t.Helper()
		req := mustRequest(t, http.MethodGet, base+"/v1/topics")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		code, body := do(t, req)
		var got struct{ Topics []string }
		if err := json.Unmarshal([]byte(body), &got); code != http.StatusOK || err != nil {
			t.Fatalf("/v1/topics: %d %s", code, body)
		}
		return got.Topics
	}
	if got := list(""); strings.Join(got, ",") != "public.a" {
		t.Errorf("without a token: %q, want only public.a", got)
	}
	if got := list(hs(t, grant("private.*"))); strings.Join(got, ",") != "private.a,public.a" {
		t.Errorf("granted private.*: %q, want private.a and public.a", got)
	}
	if got := list(hs(t, grant("other.>"))); strings.Join(got, ",") != "public.a" {
		t.Errorf("granted other.>: %q, want only public.a", got)
	}
}
