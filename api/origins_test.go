package api_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tickerd/tickerd/api"
	"github.com/tickerd/tickerd/transport"
)

// cookieEcho serves a cross-origin endpoint and a WebSocket-like one that
// answer with the cookies they were sent, and returns the base URL.
func cookieEcho(t *testing.T, origins []string) string {
	t.Helper()
	g := newGateway(t, transport.Options{})
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var names []string
		for _, c := range r.Cookies() {
			names = append(names, c.Name+"="+c.Value)
		}
		_, _ = io.WriteString(w, strings.Join(names, ";"))
	})
	return g.serve(api.Options{AllowedOrigins: origins, Transports: []api.Endpoint{
		{Path: "/v1/sse", CrossOrigin: true, Handler: echo},
		{Path: "/v1/ws", Handler: echo},
	}})
}

var withCookie = "tickerd_token=jwt; theme=dark"

func TestCORSAnyOriginHasNoCredentials(t *testing.T) {
	base := cookieEcho(t, nil)
	page := "https://news.example"
	r := do(t, "GET", base+"/v1/sse", http.Header{"Origin": {page}, "Cookie": {withCookie}}, nil)
	h := r.header
	if h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("simple request: %v, want * without credentials", h)
	}
	// Another site's page loses the cookie (a browser sends it whatever
	// the answer says), keeps its others; the same goes for the WebSocket.
	for _, path := range []string{"/v1/sse", "/v1/ws"} {
		if r := do(t, "GET", base+path, http.Header{"Origin": {page}, "Cookie": {withCookie}}, nil); string(r.body) != "theme=dark" {
			t.Errorf("%s from %s got cookies %q, want theme=dark only", path, page, r.body)
		}
	}
	// Not from a page, or from a page of the gateway's own host: kept.
	for _, hdr := range []http.Header{{"Cookie": {withCookie}}, {"Origin": {base}, "Cookie": {withCookie}}} {
		if r := do(t, "GET", base+"/v1/ws", hdr, nil); string(r.body) != "tickerd_token=jwt;theme=dark" {
			t.Errorf("%v: cookies %q, want both", hdr, r.body)
		}
	}
	pre := do(t, "OPTIONS", base+"/v1/sse", http.Header{"Origin": {page}, "Access-Control-Request-Method": {"GET"},
		"Access-Control-Request-Headers": {"Authorization"}}, nil)
	h = pre.header
	if pre.status != 200 || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" ||
		!strings.EqualFold(h.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v, want * with Authorization, no credentials", pre.status, h)
	}
}

func TestCORSListedOriginsGetCredentials(t *testing.T) {
	// "*" among others would allow any origin: it turns credentials off.
	if r := do(t, "GET", cookieEcho(t, []string{"https://example.com", "*"})+"/v1/sse",
		http.Header{"Origin": {"https://example.com"}, "Cookie": {withCookie}}, nil); r.header.Get("Access-Control-Allow-Origin") != "*" ||
		r.header.Get("Access-Control-Allow-Credentials") != "" || string(r.body) != "theme=dark" {
		t.Errorf("with * listed: %v %q, want * and no credentials", r.header, r.body)
	}

	base := cookieEcho(t, []string{"https://example.com", "https://*.example.org"})
	for origin, listed := range map[string]bool{
		"https://example.com":   true,
		"https://a.example.org": true,
		"http://a.example.org":  false,
		"https://evil.example":  false,
		"null":                  false,
	} {
		for _, path := range []string{"/v1/sse", "/v1/ws"} {
			r := do(t, "GET", base+path, http.Header{"Origin": {origin}, "Cookie": {withCookie}}, nil)
			want := "theme=dark"
			if listed {
				want = "tickerd_token=jwt;theme=dark"
			}
			if string(r.body) != want {
				t.Errorf("%s from %s: cookies %q, want %q", path, origin, r.body, want)
			}
		}
		r := do(t, "GET", base+"/v1/sse", http.Header{"Origin": {origin}, "Cookie": {withCookie}}, nil)
		acao, acac := r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Access-Control-Allow-Credentials")
		if listed && (acao != origin || acac != "true") || !listed && (acao != "" || acac != "") {
			t.Errorf("simple request from %s: Allow-Origin %q, Allow-Credentials %q, want listed %v", origin, acao, acac, listed)
		}
		pre := do(t, "OPTIONS", base+"/v1/sse", http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"GET"},
			"Access-Control-Request-Headers": {"Authorization, Last-Event-ID"}}, nil)
		h := pre.header
		if listed && (h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Credentials") != "true" ||
			!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization")) ||
			!listed && (h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Credentials") != "") {
			t.Errorf("preflight from %s: %d %v, want listed %v", origin, pre.status, h, listed)
		}
	}
	// The gateway's own pages keep their cookie without being listed.
	u, _ := url.Parse(base)
	if r := do(t, "GET", base+"/v1/ws", http.Header{"Origin": {"http://" + u.Host}, "Cookie": {withCookie}}, nil); string(r.body) != "tickerd_token=jwt;theme=dark" {
		t.Errorf("same host: cookies %q", r.body)
	}
}
