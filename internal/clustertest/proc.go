package clustertest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a child process that can be killed and started again with the
// same command line. Its output goes to a log file, appended to across
// restarts, and the last of it is shown when the test fails.
type proc struct {
	name string
	bin  string
	args []string
	env  []string
	log  string // path of the log file

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	err  error         // cmd's exit, once done is closed
}

func newProc(t testing.TB, name, dir, bin string, args, env []string) *proc {
	t.Helper()
	p := &proc{name: name, bin: bin, args: args, env: env, log: filepath.Join(dir, name+".log")}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("last of %s's log:\n%s", name, tail(p.log, 40))
		}
		// CLUSTERTEST_LOGS=dir keeps every process's whole log, for
		// looking into a figure after a run that passed.
		if keep := os.Getenv("CLUSTERTEST_LOGS"); keep != "" {
			if b, err := os.ReadFile(p.log); err == nil {
				_ = os.MkdirAll(keep, 0o755)
				_ = os.WriteFile(filepath.Join(keep, name+".log"), b, 0o644)
			}
		}
	})
	return p
}

// start runs the process.
func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !p.exited() {
		return fmt.Errorf("%s is running", p.name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "---- %s start %s\n", time.Now().Format(time.RFC3339Nano), p.name)
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(cleanEnv(), p.env...)
	cmd.Stdout, cmd.Stderr = f, f
	// A group of its own, so that the kill in Cleanup reaches anything it
	// started and a Ctrl-C on the test does not reach it twice.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *proc) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Stop sends sig and waits up to timeout for the process to exit; then it
// kills it. It returns how the process ended.
func (p *proc) Stop(sig syscall.Signal, timeout time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return errors.New("not started")
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s did not exit within %v of %v", p.name, timeout, sig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Running reports whether the process is up.
func (p *proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !p.exited()
}

// tail is the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// cleanEnv is this process's environment without TICKERD_ variables:
// every serve flag reads one, and the shell the tests run in must not
// change what the children do.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TICKERD_") {
			env = append(env, kv)
		}
	}
	return env
}
