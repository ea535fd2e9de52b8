package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"ringback/internal/enginechild"
)

// engineEnv is the suite's environment without any variable the engine reads, plus vars:
// a developer's shell cannot redirect the run.
func engineEnv(environ []string, vars map[string]string) []string {
	return enginechild.Env(environ, []string{"ENGINE_", "DATABASE_URL=", "PUBLIC_URL=", "ADMIN_TOKEN=", "TWILIO_", "GOOGLE_", "JOBBER_", "LOG_", "MAX_INFLIGHT=", "METRICS_", "OTEL_", "CLUSTER_"}, vars)
}

// engine is the engine binary run as a child process, restarted after each kill with
// the same environment; every incarnation appends to one log file.
type engine struct {
	bin, url, logPath string
	env               []string
	client            *http.Client

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
	err   error
	log   *os.File
	start int // incarnations started
}

func (e *engine) Start() error {
	f, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(e.bin, "serve")
	cmd.Env = e.env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting %s: %w", e.bin, err)
	}
	done := make(chan struct{})
	e.mu.Lock()
	e.cmd, e.done, e.log, e.err = cmd, done, f, nil
	e.start++
	e.mu.Unlock()
	go func() {
		err := cmd.Wait()
		f.Close()
		e.mu.Lock()
		e.err = err
		e.mu.Unlock()
		close(done)
	}()
	return nil
}

// Exited reports whether the current incarnation has ended, and how.
func (e *engine) Exited() (bool, error) {
	e.mu.Lock()
	done := e.done
	e.mu.Unlock()
	select {
	case <-done:
		e.mu.Lock()
		defer e.mu.Unlock()
		return true, e.err
	default:
		return false, nil
	}
}

// WaitReady polls /readyz until 200, the process exits, or timeout passes.
func (e *engine) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if e.status("/readyz") == http.StatusOK {
			return nil
		}
		if gone, err := e.Exited(); gone {
			return fmt.Errorf("the engine exited during start-up (%v); log %s:\n%s", err, e.logPath, e.tail(20))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the engine was not ready after %s; log %s:\n%s", timeout, e.logPath, e.tail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (e *engine) Kill() {
	e.mu.Lock()
	cmd, done := e.cmd, e.done
	e.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Stop sends SIGTERM and waits up to grace; it reports a non-zero exit or a kill.
func (e *engine) Stop(grace time.Duration) error {
	e.mu.Lock()
	cmd, done := e.cmd, e.done
	e.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if gone, _ := e.Exited(); gone {
		return errors.New("the engine had already exited")
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		_, err := e.Exited()
		if err != nil {
			return fmt.Errorf("the engine exited with %v on SIGTERM", err)
		}
		return nil
	case <-time.After(grace):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return fmt.Errorf("the engine did not stop within %s of SIGTERM and was killed", grace)
	}
}

// status GETs path and returns the HTTP status, 0 when the request failed.
func (e *engine) status(path string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+path, nil)
	resp, err := e.client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// Metrics scrapes /metrics.
func (e *engine) Metrics() (metrics, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/metrics", nil)
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: HTTP %d", resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

// tail is the last n lines of the log.
func (e *engine) tail(n int) string {
	b, _ := os.ReadFile(e.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}

// panics returns the log lines mentioning a panic, at most max of them, and their count.
func (e *engine) panics(max int) ([]string, int) {
	f, err := os.Open(e.logPath)
	if err != nil {
		return nil, 0
	}
	defer f.Close()
	var out []string
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(strings.ToLower(sc.Text()), "panic") {
			n++
			if len(out) < max {
				out = append(out, sc.Text())
			}
		}
	}
	return out, n
}

// metrics are the samples of a Prometheus text exposition, summed per metric name
// (every label set together).
type metrics map[string]float64

// parseMetrics reads the text exposition format.
func parseMetrics(r io.Reader) (metrics, error) {
	m := metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if strings.HasPrefix(rest, "{") {
			j := strings.LastIndex(rest, "}")
			if j < 0 {
				return nil, fmt.Errorf("metrics: bad line %q", line)
			}
			rest = rest[j+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return nil, fmt.Errorf("metrics: no value in %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: bad value in %q: %w", line, err)
		}
		m[name] += v
	}
	return m, sc.Err()
}
