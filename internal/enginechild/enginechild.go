// Package enginechild is what the load harness and the fault suite share to run the
// engine as a child process: building its binary, a free loopback address, its
// environment — the caller's without the variables they set themselves (so a developer's
// shell cannot redirect the run), plus theirs — and an etcd for a cluster of engines.
package enginechild

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Build compiles ./cmd/engine into out with the go tool (the package path works from
// anywhere inside the module).
func Build(ctx context.Context, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "ringback/cmd/engine")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ringback/cmd/engine: %w\n%s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// FreeAddr finds a free loopback port for the engine to listen on. Another process could
// take it before the engine does; the engine then fails to start and says so.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Env returns environ without the entries starting with any of strip, plus vars.
func Env(environ, strip []string, vars map[string]string) []string {
	var out []string
	for _, kv := range environ {
		keep := true
		for _, p := range strip {
			if strings.HasPrefix(kv, p) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out
}

// Etcd is a project-local etcd (scripts/etcd.sh) on a free port, for engines started as
// a cluster.
type Etcd struct {
	URL  string
	dir  string
	port int
}

// StartEtcd starts etcd with its data in dir (run from the repository root).
func StartEtcd(ctx context.Context, dir string) (*Etcd, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	var port int
	if _, err := fmt.Sscanf(addr[strings.LastIndex(addr, ":")+1:], "%d", &port); err != nil {
		return nil, err
	}
	e := &Etcd{URL: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir, port: port}
	return e, e.run(ctx, "start")
}

// Stop stops it.
func (e *Etcd) Stop() { _ = e.run(context.Background(), "stop") }

func (e *Etcd) run(ctx context.Context, verb string) error {
	cmd := exec.CommandContext(ctx, "scripts/etcd.sh", verb, e.dir)
	cmd.Env = append(os.Environ(), fmt.Sprintf("ETCD_PORT=%d", e.port))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/etcd.sh %s: %w\n%s", verb, err, out)
	}
	return nil
}
