package gateway

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tickerd/tickerd/api"
)

// testSecret is the HS256 secret of the auth tests: 32 bytes.
const testSecret = "tickerd-test-secret-0123456789ab"

// The tests' signing keys, made once: RSA key generation is slow.
var testKeys = sync.OnceValue(func() (k struct {
	rs1, rs2 *rsa.PrivateKey
	es1      *ecdsa.PrivateKey
}) {
	var err error
	if k.rs1, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.rs2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.es1, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	return k
})

// jwks encodes the public halves of keys (by kid) as a JWKS.
func jwks(t *testing.T, keys map[string]any) []byte {
	t.Helper()
	var set jose.JSONWebKeySet
	for kid, k := range keys {
		switch k := k.(type) {
		case *rsa.PrivateKey:
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Use: "sig"})
		case *ecdsa.PrivateKey:
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Use: "sig"})
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// claims are a token's claims as the tests write them.
type claims struct {
	sub     string
	topics  []string
	publish []string
	exp     time.Time
	extra   jwt.MapClaims
}

func (c claims) mapClaims() jwt.MapClaims {
	m := jwt.MapClaims{"sub": c.sub, "exp": c.exp.Unix(), "iat": time.Now().Unix()}
	if c.topics != nil {
		m["topics"] = c.topics
	}
	if c.publish != nil {
		m["publish"] = c.publish
	}
	for k, v := range c.extra {
		m[k] = v
	}
	return m
}

// grant is a token for topics, valid for an hour.
func grant(topics ...string) claims {
	return claims{sub: "alice", topics: topics, exp: time.Now().Add(time.Hour)}
}

// sign mints c with method and key, naming kid when not empty.
func sign(t *testing.T, c claims, method jwt.SigningMethod, key any, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c.mapClaims())
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// hs mints c with the gateway's secret.
func hs(t *testing.T, c claims) string {
	return sign(t, c, jwt.SigningMethodHS256, []byte(testSecret), "")
}

// algNone is c as an unsigned token ("alg": "none").
func algNone(c claims) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	body, _ := json.Marshal(c.mapClaims())
	return head + "." + enc.EncodeToString(body) + "."
}

// rsPublicPEM is the RSA key's public half as PEM: what an attacker
// signs an HS256 token with, hoping it is taken as the HMAC secret.
func rsPublicPEM(t *testing.T, k *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// carry is how a request carries its token.
type carry string

const (
	byHeader carry = "header"
	byQuery  carry = "query"
	byCookie carry = "cookie"
)

// withToken returns query extended, and headers, to carry token by c.
func withToken(query, token string, c carry) (string, http.Header) {
	hdr := http.Header{}
	if token == "" {
		return query, hdr
	}
	switch c {
	case byHeader:
		hdr.Set("Authorization", "Bearer "+token)
	case byQuery:
		query += "&token=" + url.QueryEscape(token)
	case byCookie:
		hdr.Set("Cookie", "tickerd_token="+token)
	}
	return query, hdr
}

// outcome is how a subscription attempt ended: 200 when served, else the
// error's status and code.
type outcome struct {
	status int
	code   string
}

// subscribeVia subscribes to topics over via ("ws", "ws-command", "sse",
// "poll" or "snapshot") with token carried by c, and reports whether it
// was served. A served stream is closed again.
func subscribeVia(t *testing.T, base, via, topics, token string, c carry) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch via {
	case "ws", "ws-command":
		q := "?topics=" + url.QueryEscape(topics)
		if via == "ws-command" {
			q = "?"
		}
		q, hdr := withToken(q, token, c)
		ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/ws"+q, &websocket.DialOptions{HTTPHeader: hdr})
		if err != nil {
			if resp == nil {
				t.Fatalf("ws: %v", err)
			}
			return httpOutcome(t, resp)
		}
		defer ws.CloseNow()
		ws.SetReadLimit(1 << 20)
		w := &wsClient{t: t, c: ws}
		w.expect("hello")
		if via == "ws" {
			if m := w.next(); m.Type != "snapshot" {
				return errOutcome(m)
			}
			return outcome{status: 200}
		}
		b, _ := json.Marshal(map[string]any{"type": "subscribe", "id": 7, "topics": strings.Split(topics, ",")})
		w.send(string(b))
		m := w.next()
		if string(m.ID) != "7" {
			t.Fatalf("answer %+v does not name the command", m)
		}
		if m.Type == "ack" {
			return outcome{status: 200}
		}
		return errOutcome(m)
	}
	path := map[string]string{"sse": "/v1/sse", "poll": "/v1/poll", "snapshot": "/v1/snapshot"}[via]
	q, hdr := withToken("?topics="+url.QueryEscape(topics), token, c)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path+q, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", via, err)
	}
	defer resp.Body.Close()
	if via == "sse" && resp.StatusCode == 200 {
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("sse: %v", err)
			}
			if strings.HasPrefix(line, "event: snapshot") {
				return outcome{status: 200}
			}
			if strings.HasPrefix(line, "event: error") {
				return outcome{status: 200, code: "error event"}
			}
		}
	}
	return httpOutcome(t, resp)
}

func httpOutcome(t *testing.T, resp *http.Response) outcome {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return outcome{status: 200}
	}
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%d %q: not an error body", resp.StatusCode, b)
	}
	t.Logf("%d %s", resp.StatusCode, b)
	return outcome{status: resp.StatusCode, code: e.Error.Code}
}

// errOutcome is an error message as the status its code has over HTTP.
func errOutcome(m msg) outcome {
	status := map[string]int{"unauthorized": 401, "token_expired": 401, "forbidden": 403}[m.Code]
	if status == 0 {
		status = 400
	}
	return outcome{status: status, code: m.Code}
}

// closeCode is the close code a WebSocket read ended with, or -1.
func closeCode(err error) int {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return int(ce.Code)
	}
	return -1
}

// jwtOptions configures verification with secret and a JWKS source,
// refreshing on every unknown kid.
func jwtOptions(secret, jwksSource string) api.VerifierOptions {
	return api.VerifierOptions{Secret: secret, JWKS: jwksSource, MinRefresh: time.Nanosecond}
}
