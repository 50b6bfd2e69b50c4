// Package proxytest starts real proxies (nginx, HAProxy) in front of test
// servers, on loopback ports, with their files in the test's temp dir.
package proxytest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// Require returns the path of the program, or ends the test: outside CI it
// skips, naming the make target that installs it; under CI=true a missing
// program is a failure.
func Require(t testing.TB, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin"} {
		if p := filepath.Join(dir, program); isExec(p) {
			return p
		}
	}
	msg := fmt.Sprintf("%s is not installed: run `make deps` (as root) to install it", program)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&0o111 != 0
}

// FreePort returns a loopback port nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Nginx options: Upstreams are host:port addresses; Location is the body
// of `location / { ... }` after proxy_pass (empty: nginx's defaults).
type Nginx struct {
	Upstreams []string
	Location  string
}

const nginxConf = `daemon off;
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path {{.Dir}}/body;
  proxy_temp_path {{.Dir}}/proxy;
  fastcgi_temp_path {{.Dir}}/fastcgi;
  uwsgi_temp_path {{.Dir}}/uwsgi;
  scgi_temp_path {{.Dir}}/scgi;
  upstream gateways {
{{- range .Upstreams}}
    server {{.}};
{{- end}}
  }
  server {
    listen 127.0.0.1:{{.Port}};
    location / {
      proxy_pass http://gateways;
      {{.Location}}
    }
  }
}
`

// Start runs nginx in front of the upstreams and returns its base URL.
// It stops when the test ends.
func (n Nginx) Start(t testing.TB) string {
	t.Helper()
	bin := Require(t, "nginx")
	dir := t.TempDir()
	port := FreePort(t)
	path := writeConf(t, filepath.Join(dir, "nginx.conf"), nginxConf, map[string]any{
		"Dir": dir, "Port": port, "Upstreams": n.Upstreams, "Location": n.Location,
	})
	out := run(t, exec.Command(bin, "-p", dir, "-c", path))
	awaitListening(t, port, func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return out.String() + string(log)
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// writeConf renders a proxy's configuration template with data to path.
func writeConf(t testing.TB, path, tmpl string, data map[string]any) string {
	t.Helper()
	var conf bytes.Buffer
	if err := template.Must(template.New(filepath.Base(path)).Parse(tmpl)).Execute(&conf, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, conf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// run starts cmd in a process group of its own and kills the group when the
// test ends: a proxy's workers outlive a killed master otherwise.
func run(t testing.TB, cmd *exec.Cmd) *bytes.Buffer {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return &out
}

// awaitListening waits until something accepts connections on port.
func awaitListening(t testing.TB, port int, logs func() string) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("proxy did not listen on %s: %v\n%s", addr, err, strings.TrimSpace(logs()))
		}
		time.Sleep(20 * time.Millisecond) // polling a port: no event to await
	}
}

// HAProxy balances round-robin across Upstreams (host:port), with no
// stickiness: each new connection goes to the next gateway.
type HAProxy struct {
	Upstreams []string
	// Check, when set, is the path HAProxy checks every 250 ms on each
	// upstream (a gateway's /readyz), taking it out at the first failure
	// and back at the first success, and a request refused by a server
	// that went down goes to another: as a load balancer in front of
	// gateways that may die is configured.
	Check string
}

const haproxyConf = `global
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout tunnel 1h
  option http-server-close
frontend web
  bind 127.0.0.1:{{.Port}}
  default_backend gateways
backend gateways
  balance roundrobin
{{- if .Check}}
  option httpchk GET {{.Check}}
  option redispatch
  retries 2
  default-server inter 250ms fall 1 rise 1
{{- end}}
{{- range $i, $u := .Upstreams}}
  server g{{$i}} {{$u}}{{if $.Check}} check{{end}}
{{- end}}
`

// Start runs HAProxy and returns its base URL. It stops when the test ends.
func (h HAProxy) Start(t testing.TB) string {
	t.Helper()
	bin := Require(t, "haproxy")
	dir := t.TempDir()
	port := FreePort(t)
	path := writeConf(t, filepath.Join(dir, "haproxy.cfg"), haproxyConf, map[string]any{
		"Port": port, "Upstreams": h.Upstreams, "Check": h.Check,
	})
	out := run(t, exec.Command(bin, "-db", "-f", path))
	awaitListening(t, port, out.String)
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
