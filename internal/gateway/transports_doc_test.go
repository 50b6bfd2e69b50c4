package gateway

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
)

// Every transport in the table is described in the protocol and named in
// the README, so the table, the router and the docs cannot drift apart.
func TestTransportsDocumented(t *testing.T) {
	protocol, err := os.ReadFile("../../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range Transports {
		if !strings.Contains(string(protocol), "`GET "+tr.Path) {
			t.Errorf("docs/protocol.md has no section for GET %s (transport %q)", tr.Path, tr.Name)
		}
		if !strings.Contains(string(readme), tr.Path) {
			t.Errorf("README.md does not mention %s (transport %q)", tr.Path, tr.Name)
		}
	}
}

// A gateway serves only the transports it is configured with; the others
// are unknown paths, so a client falls back past them.
func TestTransportsConfigured(t *testing.T) {
	_, srv := testGateway(t, Config{Transports: []string{"sse", "poll"}})
	for path, want := range map[string]int{
		"/v1/ws?topics=a":             http.StatusNotFound,
		"/v1/poll?topics=a&timeout=0": http.StatusOK,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	if _, err := Start(context.Background(), Config{Transports: []string{"carrier-pigeon"}}); err == nil ||
		!strings.Contains(err.Error(), `unknown transport "carrier-pigeon"`) {
		t.Fatalf("an unknown transport started: %v", err)
	}
}
