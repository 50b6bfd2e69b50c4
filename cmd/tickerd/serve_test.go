package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A taken address fails at once, before NATS and the feeds start, and the
// error says which address and how to choose another.
func TestServeAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, logs bytes.Buffer
	began := time.Now()
	err = serve(ctx, []string{"--addr", addr, "--data-dir", t.TempDir()}, &stdout, &logs)
	took := time.Since(began)
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("serve on a taken address: %v, want EADDRINUSE", err)
	}
	for _, want := range []string{addr, "--addr", "TICKERD_ADDR"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	// Nothing was started that would then have to be torn down.
	if s := logs.String(); strings.Contains(s, "feed:") || strings.Contains(s, "hub") || strings.Contains(s, "publish_token") {
		t.Errorf("serve started work before binding its address:\n%s", s)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
	// Generous, as the race detector is slow; starting NATS and a stream
	// and tearing them down takes far longer than failing a bind.
	if took > 5*time.Second {
		t.Errorf("serve took %v to report a taken address", took)
	}

	var out bytes.Buffer
	if code := run([]string{"serve", "--addr", addr}, &out, &out); code != 1 {
		t.Errorf("exit %d, want 1\n%s", code, out.String())
	}
	if want := "tickerd serve: listen on " + addr + ": bind: address already in use"; !strings.HasPrefix(out.String(), want) {
		t.Errorf("output %q, want it to begin %q", out.String(), want)
	}
}

var exportLine = regexp.MustCompile(`^export TICKERD_PUBLISH_TOKEN=([0-9a-f]{48})$`)

// Without --publish-token, serve prints a line to paste into a shell, and
// the token it names is the one publishing takes.
func TestServePrintsGeneratedToken(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--feeds", "none", "--data-dir", t.TempDir(), "--log-level", "error"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var token, base string
	for base == "" && sc.Scan() {
		if m := exportLine.FindStringSubmatch(sc.Text()); m != nil {
			token = m[1]
		}
		if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if token == "" || base == "" {
		t.Fatalf("no export line before the serving line (token %q, url %q)", token, base)
	}
	for _, tc := range []struct {
		token string
		want  int
	}{{token, http.StatusOK}, {token + "x", http.StatusUnauthorized}} {
		req, _ := http.NewRequest("POST", base+"/v1/publish", strings.NewReader(`{"topic":"stocks.TEST","kind":"state","data":{"price":1}}`))
		req.Header.Set("Authorization", "Bearer "+tc.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("publish with token %q: %d %s, want %d", tc.token, resp.StatusCode, body, tc.want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// A token given is not printed: it is a secret the operator already has.
func TestServeDoesNotPrintGivenToken(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	t.Setenv("TICKERD_PUBLISH_TOKEN", "s3cret")
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--feeds", "none", "--data-dir", t.TempDir(), "--log-level", "error"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if servingLine.MatchString(sc.Text()) {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if len(lines) != 1 || !servingLine.MatchString(lines[0]) {
		t.Errorf("stdout %q, want only the serving line", lines)
	}
}
