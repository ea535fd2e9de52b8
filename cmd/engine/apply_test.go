package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestApplyCommand drives `engine apply -f` against a running engine: a bad file fails
// with its field paths before anything is sent, a good one is created, then unchanged.
func TestApplyCommand(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	getenv := env(map[string]string{"ADMIN_TOKEN": adminToken})
	apply := func(file string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), []string{"apply", "-f", file, "--server", e.srv.URL}, getenv, &out, &out)
		return out.String(), err
	}

	bad := write("bad.yaml", strings.Replace(plumber, "America/Chicago", "Mars/Olympus", 1)+"---\n"+strings.Replace(plumber, "id: acme", "id: Bad_ID", 1))
	_, err := apply(bad)
	require.Error(t, err)
	require.Contains(t, err.Error(), "[0].timezone")
	require.Contains(t, err.Error(), "[1].id")
	require.Equal(t, 404, e.do("GET", "/admin/v1/tenants/acme", adminToken, nil).status, "nothing was applied")

	good := write("good.yaml", plumber)
	out, err := apply(good)
	require.NoError(t, err)
	require.Contains(t, out, "tenant acme created (version 1)")
	out, err = apply(good)
	require.NoError(t, err)
	require.Contains(t, out, "tenant acme unchanged (version 1)")

	_, err = apply(filepath.Join(dir, "missing.yaml"))
	require.Error(t, err)
	var ue usageError
	require.ErrorAs(t, run(context.Background(), []string{"apply"}, getenv, &bytes.Buffer{}, &bytes.Buffer{}), &ue, "apply without -f is a usage error")
}
