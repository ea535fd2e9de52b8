package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"ringback/internal/enginechild"
)

// engineEnvPrefixes are the variables the engine reads; the harness sets its own and
// passes none of the caller's, so a developer's shell cannot redirect the run.
var engineEnvPrefixes = []string{"ENGINE_", "DATABASE_URL=", "PUBLIC_URL=", "ADMIN_TOKEN=", "TWILIO_", "GOOGLE_", "JOBBER_", "LOG_LEVEL=", "LOG_FORMAT=", "OTEL_", "CLUSTER_"}

// engineEnv is environ without the engine's variables, plus vars.
func engineEnv(environ []string, vars map[string]string) []string {
	return enginechild.Env(environ, engineEnvPrefixes, vars)
}

// engineProc is the engine running as a child process: its own process, so its CPU is
// accounted apart from the harness's.
type engineProc struct {
	cmd  *exec.Cmd
	url  string
	tail *tailBuffer
	log  *os.File // the whole log, when kept

	done    chan struct{} // closed when the process has exited
	waitErr error
}

// startEngine starts `bin serve` with env, its output kept in a tail buffer and, when
// logPath is set, in that file.
func startEngine(bin string, env []string, url, logPath string) (*engineProc, error) {
	e := &engineProc{url: url, tail: &tailBuffer{max: 64 << 10}, done: make(chan struct{})}
	var out io.Writer = e.tail
	if logPath != "" {
		f, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		e.log = f
		out = io.MultiWriter(e.tail, f)
	}
	e.cmd = exec.Command(bin, "serve")
	e.cmd.Env = env
	e.cmd.Stdout, e.cmd.Stderr = out, out
	// Its own process group: a Ctrl-C at the terminal reaches the harness, which then stops
	// the engine in order, rather than both at once.
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		e.closeLog()
		return nil, fmt.Errorf("starting the engine %s: %w", bin, err)
	}
	go func() {
		e.waitErr = e.cmd.Wait()
		close(e.done)
	}()
	return e, nil
}

func (e *engineProc) pid() int { return e.cmd.Process.Pid }

// exited reports whether the process has ended.
func (e *engineProc) exited() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// waitReady polls /readyz until it answers 200, the process exits, or timeout passes. The
// polling sleeps are the harness's own (the engine is another process: there is nothing
// to wait on but its answers).
func (e *engineProc) waitReady(ctx context.Context, client *http.Client, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/readyz", nil)
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-e.done:
			return e.failure(fmt.Sprintf("the engine exited during start-up (%v)", e.waitErr))
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return e.failure(fmt.Sprintf("the engine was not ready after %s", timeout))
		}
	}
}

// failure is an error with the reason and the tail of the engine's log.
func (e *engineProc) failure(reason string) error {
	return fmt.Errorf("%s; the end of its log:\n%s", reason, indent(e.tail.lastLines(30), "  | "))
}

// stop asks the engine to shut down (SIGTERM: it drains its mailboxes and flushes its
// writes) and kills it if it has not exited after grace.
func (e *engineProc) stop(grace time.Duration) error {
	defer e.closeLog()
	if e.exited() {
		return nil
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-e.done:
		var ee *exec.ExitError
		if e.waitErr != nil && !errors.As(e.waitErr, &ee) {
			return e.waitErr
		}
		if ee != nil && ee.ExitCode() != 0 {
			return e.failure(fmt.Sprintf("the engine exited with status %d on SIGTERM", ee.ExitCode()))
		}
		return nil
	case <-t.C:
		_ = e.cmd.Process.Kill()
		<-e.done
		return e.failure(fmt.Sprintf("the engine did not stop within %s of SIGTERM and was killed", grace))
	}
}

func (e *engineProc) closeLog() {
	if e.log != nil {
		_ = e.log.Close()
		e.log = nil
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// lastLines returns the last n lines written.
func (b *tailBuffer) lastLines(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(b.buf), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func indent(s, prefix string) string {
	if s == "" {
		return prefix + "(no output)"
	}
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
