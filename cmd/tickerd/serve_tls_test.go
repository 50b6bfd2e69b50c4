package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tickerd/tickerd/internal/logbuf"
	"github.com/tickerd/tickerd/internal/tlscert/tlscerttest"
)

var (
	httpsLine = regexp.MustCompile(`serving on (https://\S+)`)
	adminLine = regexp.MustCompile(`admin .* on (http://\S+)`)
)

// serve --tls-cert --tls-key --admin-addr: HTTPS with HTTP/2 on --addr,
// /metrics and the profiles on the admin listener only, the health
// endpoints on both; SIGHUP re-reads the certificate.
func TestServeTLSAndAdmin(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, cert1 := tlscerttest.Write(t, dir, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	logs := &logbuf.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--feeds", "none",
			"--data-dir", t.TempDir(), "--publish-token", "x", "--tls-cert", certFile, "--tls-key", keyFile}, pw, logs)
		pw.Close()
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	sc := bufio.NewScanner(pr)
	var base, admin string
	for admin == "" && sc.Scan() {
		if m := httpsLine.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
		if m := adminLine.FindStringSubmatch(sc.Text()); m != nil {
			admin = m[1]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if base == "" || admin == "" {
		t.Fatalf("serve named no https URL (%q) or admin URL (%q)\n%s", base, admin, logs)
	}
	base = strings.Replace(base, "localhost", "127.0.0.1", 1)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tlscerttest.Pool(cert1)}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	get := func(c *http.Client, url string) (int, string, string) {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Proto, string(b)
	}
	if code, proto, _ := get(client, base+"/healthz"); code != 200 || proto != "HTTP/2.0" {
		t.Errorf("public /healthz: %d over %s, want 200 over HTTP/2", code, proto)
	}
	if code, _, body := get(client, base+"/metrics"); code != 404 {
		t.Errorf("public /metrics: %d %.200s, want 404", code, body)
	}
	if code, _, body := get(client, base+"/debug/pprof/"); code == 200 && strings.Contains(body, "goroutine") {
		t.Errorf("public /debug/pprof/ serves profiles")
	}
	plain := http.DefaultClient
	if code, _, body := get(plain, admin+"/metrics"); code != 200 || !strings.Contains(body, "tickerd_connections ") {
		t.Errorf("admin /metrics: %d %.200s", code, body)
	}
	if code, _, body := get(plain, admin+"/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("admin /debug/pprof/: %d %.200s", code, body)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _, body := get(plain, admin+path); code != 200 {
			t.Errorf("admin %s: %d %s", path, code, body)
		}
	}

	// SIGHUP, with no handshake in between to look at the files: the new
	// certificate is loaded and shown to the next connection.
	tlscerttest.Write(t, dir, 2)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "serial=2") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged 10s after SIGHUP:\n%s", logs)
		}
		time.Sleep(5 * time.Millisecond) // the signal is handled on serve's goroutine
	}
	c, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if s := c.ConnectionState().PeerCertificates[0].SerialNumber.Int64(); s != 2 {
		t.Fatalf("a new connection after SIGHUP is shown serial %d, want 2", s)
	}
}

func TestServeTLSUsage(t *testing.T) {
	var out strings.Builder
	if code := run([]string{"serve", "--tls-cert", "cert.pem"}, &out, &out); code != 2 || !strings.Contains(out.String(), "--tls-cert and --tls-key go together") {
		t.Errorf("--tls-cert alone: exit %d: %s", code, out.String())
	}
	out.Reset()
	dir := t.TempDir()
	if code := run([]string{"serve", "--addr", "127.0.0.1:0", "--admin-addr", "", "--tls-cert", dir + "/none.pem", "--tls-key", dir + "/none.key"}, &out, &out); code != 1 || !strings.Contains(out.String(), "none.pem") {
		t.Errorf("a missing certificate: exit %d: %s", code, out.String())
	}
}
