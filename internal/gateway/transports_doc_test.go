package gateway

import (
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
