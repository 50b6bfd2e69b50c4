package tlscert_test

import (
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/tlscert"
	"github.com/tickerd/tickerd/internal/tlscert/tlscerttest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func serial(t *testing.T, r *tlscert.Reloader) int64 {
	t.Helper()
	c, err := r.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf.SerialNumber.Int64()
}

// Reload (SIGHUP) reads the files at once; a pair that does not load
// leaves the certificate served so far.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := tlscerttest.Write(t, dir, 1)
	r, err := tlscert.Load(certFile, keyFile, time.Hour, quiet)
	if err != nil {
		t.Fatal(err)
	}
	tlscerttest.Write(t, dir, 2)
	if s := serial(t, r); s != 1 {
		t.Fatalf("serial %d before any check or reload, want 1", s)
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if s := serial(t, r); s != 2 {
		t.Fatalf("serial %d after Reload, want 2", s)
	}
	// A certificate whose key is not (yet) the one beside it.
	keep, _ := os.ReadFile(keyFile)
	tlscerttest.Write(t, dir, 3)
	if err := os.WriteFile(keyFile, keep, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err == nil {
		t.Fatal("Reload took a certificate with another's key")
	}
	if s := serial(t, r); s != 2 {
		t.Fatalf("serial %d after a failed reload, want 2", s)
	}
	if _, err := tlscert.Load(dir+"/none.pem", keyFile, 0, quiet); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}

// A handshake after the check interval sees changed files; a half
// replaced pair is retried at the next check.
func TestReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := tlscerttest.Write(t, dir, 1)
	const every = 20 * time.Millisecond
	r, err := tlscert.Load(certFile, keyFile, every, quiet)
	if err != nil {
		t.Fatal(err)
	}
	keep, _ := os.ReadFile(keyFile)
	tlscerttest.Write(t, dir, 2)
	if err := os.WriteFile(keyFile, keep, 0o600); err != nil { // the new key is not there yet
		t.Fatal(err)
	}
	time.Sleep(2 * every) // the interval is the thing under test
	if s := serial(t, r); s != 1 {
		t.Fatalf("serial %d with a mismatched pair on disk, want 1 kept", s)
	}
	tlscerttest.Write(t, dir, 3)
	deadline := time.Now().Add(5 * time.Second)
	for serial(t, r) != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("serial %d 5s after the files changed, want 3", serial(t, r))
		}
		time.Sleep(every / 2)
	}
}
