package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// servingLine is what `tickerd serve` prints on stdout once it listens.
var servingLine = regexp.MustCompile(`serving on (https?://\S+)`)

// spawn starts ServerCommand as a child process on free loopback ports,
// with its own embedded NATS and admin listener (/metrics, pprof), and
// publishes into that NATS.
func (t *target) spawn(ctx context.Context, o Options) error {
	natsPort, err := freePort()
	if err != nil {
		return err
	}
	adminPort, err := freePort()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "tickerd-bench-")
	if err != nil {
		return err
	}
	t.closers = append(t.closers, func() { os.RemoveAll(dir) })
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", natsPort)
	t.admin = fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	args := append([]string{}, o.ServerCommand[1:]...)
	if len(o.NATSCommand) > 0 {
		if err := t.spawnNATS(ctx, o, natsPort, dir); err != nil {
			return err
		}
		args = append(args, "--nats-url", natsURL)
	} else {
		args = append(args, "--nats-url", "", "--nats-listen", fmt.Sprintf("127.0.0.1:%d", natsPort))
	}
	args = append(args,
		"--addr", "127.0.0.1:0",
		"--data-dir", dir,
		"--feeds", "none",
		"--stream", o.Stream.Name,
		"--subject-prefix", o.Stream.SubjectPrefix,
		"--publish-token", randomToken(),
		"--admin-addr", fmt.Sprintf("127.0.0.1:%d", adminPort),
		// Every subscriber comes from this one address.
		"--max-conns-per-ip", "0", "--conn-rate-per-ip", "0",
		"--log-level", "warn")
	args = append(args, o.ServerArgs...)

	if err := t.startServer(ctx, o, args); err != nil {
		return err
	}
	if err := t.openStream(ctx, o, natsURL); err != nil {
		return err
	}
	t.desc = fmt.Sprintf("spawned %s (pid %d) at %s, NATS %s", o.ServerCommand[0], t.pid, t.base, natsURL)
	if t.natsPid != 0 {
		t.desc += fmt.Sprintf(" (%s, pid %d)", o.NATSCommand[0], t.natsPid)
	}
	t.desc += pinnedTo(o, t.pid)
	return nil
}

// spawnCeiling starts the ceiling server (ServeCeiling: ServerCommand
// runs it) as a child process, and publishes through its POST /v1/publish.
func (t *target) spawnCeiling(ctx context.Context, o Options) error {
	token := randomToken()
	args := append([]string{}, o.ServerCommand[1:]...)
	args = append(append(args, "--addr", "127.0.0.1:0", "--publish-token", token), o.ServerArgs...)
	if err := t.startServer(ctx, o, args); err != nil {
		return err
	}
	t.admin = t.base.String()
	t.pub = &httpPublisher{client: &http.Client{Timeout: 30 * time.Second}, url: t.admin + "/v1/publish", token: token}
	t.desc = fmt.Sprintf("spawned ceiling server %s (pid %d) at %s, publishing through POST /v1/publish", o.ServerCommand[0], t.pid, t.base)
	t.desc += pinnedTo(o, t.pid)
	return nil
}

// startServer starts ServerCommand[0] with args as a child process, which
// goes when the bench does, and waits until it says where it serves and
// is ready there.
func (t *target) startServer(ctx context.Context, o Options, args []string) error {
	// Our own pipe rather than StdoutPipe, so that Wait, which may run
	// first, does not cut the server's last lines off.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := command(o, o.ServerCommand[0], args)
	cmd.Stdout, cmd.Stderr = pw, o.Log
	// The server goes when the bench does, even killed.
	exited, err := t.start(cmd, 15*time.Second)
	pw.Close()
	if err != nil {
		pr.Close()
		return err
	}
	t.pid = cmd.Process.Pid
	found := make(chan string, 1)
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
			fmt.Fprintln(o.Log, sc.Text())
		}
		_, _ = io.Copy(o.Log, pr)
	}()
	select {
	case u := <-found:
		if t.base, err = url.Parse(u); err != nil {
			return err
		}
	case <-exited:
		return fmt.Errorf("%w: spawned %s exited before serving (%s)", ErrServer, o.ServerCommand[0], cmd.ProcessState)
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%w: spawned %s did not say where it serves within 30s", ErrServer, o.ServerCommand[0])
	}
	return waitReady(ctx, t.base)
}

// spawnNATS starts NATSCommand with JetStream on port, storing under dir,
// and waits until it accepts connections.
func (t *target) spawnNATS(ctx context.Context, o Options, port int, dir string) error {
	args := append(append([]string{}, o.NATSCommand[1:]...),
		"--jetstream", "--store_dir", filepath.Join(dir, "nats"), "--addr", "127.0.0.1", "--port", strconv.Itoa(port))
	// Not pinned: NATS is the publisher's side, and on the server's CPUs
	// it would take the gateway's cycles.
	cmd := exec.Command(o.NATSCommand[0], args...)
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	exited, err := t.start(cmd, 10*time.Second)
	if err != nil {
		return err
	}
	t.natsPid = cmd.Process.Pid
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%w: %s exited before listening (%s)", ErrServer, o.NATSCommand[0], cmd.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s does not listen on %s after 30s: %w", ErrServer, o.NATSCommand[0], addr, err)
		}
	}
}

// command is the child process name runs with args: under taskset(1)
// when the servers are pinned, which pins every thread the child makes
// (setting the affinity of a pid after it started would miss the threads
// it had already made).
func command(o Options, name string, args []string) *exec.Cmd {
	if o.ServerCPUs == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("taskset", append([]string{"--cpu-list", o.ServerCPUs, name}, args...)...)
}

// pinnedTo describes the CPUs the kernel lets pid run on, when the
// servers are pinned: what the kernel says, not what was asked.
func pinnedTo(o Options, pid int) string {
	if o.ServerCPUs == "" {
		return ""
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ", pinned to CPUs unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return ", pinned to CPUs " + strings.TrimSpace(v)
		}
	}
	return ", pinned to CPUs unknown"
}

// start starts a child process that goes when the bench does, even
// killed, and that closing the target stops: SIGTERM, then SIGKILL after
// grace. exited is closed when the child has exited.
func (t *target) start(cmd *exec.Cmd, grace time.Duration) (exited chan struct{}, err error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: spawn %s: %w", ErrServer, cmd.Path, err)
	}
	exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.closers = append(t.closers, func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return exited, nil
}
