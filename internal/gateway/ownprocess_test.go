package gateway

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// ownProcessEnv names the test a process of this test binary runs alone.
const ownProcessEnv = "GATEWAY_TEST_OWN_PROCESS"

// ownProcess runs the calling test alone in a new process of this test
// binary, so that a figure of the whole process, such as its RSS, is the
// test's own and not what earlier tests left behind. It returns true in
// that process, where the test goes on; in the first it waits for that
// process, passes its verdict and output on, and returns false.
func ownProcess(t *testing.T) bool {
	t.Helper()
	if os.Getenv(ownProcessEnv) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), ownProcessEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("%s in its own process:\n%s", t.Name(), out)
	if err != nil {
		t.Fatalf("%s failed in its own process: %v", t.Name(), err)
	}
	return false
}
