// Package clustertest runs a real Tickerd deployment on loopback for tests:
// a JetStream cluster of nats-server processes built from the module the
// project requires, tickerd gateway processes following it, and HAProxy in
// front. Nodes and gateways can be killed (SIGKILL), stopped with a signal
// and started again on the same ports, so that tests can put faults to the
// system as a whole.
package clustertest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// Build compiles the nats-server and tickerd binaries into the test's temp
// dir and returns their paths. Both come from this module's go.mod and the
// Go build cache, so after the first build it costs a link each.
func Build(t testing.TB) (natsServer, tickerd string) {
	t.Helper()
	dir := t.TempDir()
	natsServer, tickerd = filepath.Join(dir, "nats-server"), filepath.Join(dir, "tickerd")
	for bin, pkg := range map[string]string{
		natsServer: "github.com/nats-io/nats-server/v2",
		tickerd:    "github.com/tickerd/tickerd/cmd/tickerd",
	} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return natsServer, tickerd
}
