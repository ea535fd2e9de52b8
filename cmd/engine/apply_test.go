package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
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

// TestInviteCommand: `engine invite` prints a sign-in link that opens the invite page
// once; an unknown tenant fails with the server's reason and nothing is created.
func TestInviteCommand(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)
	getenv := env(map[string]string{"ADMIN_TOKEN": adminToken})
	invite := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"invite", "--server", e.srv.URL}, args...), getenv, &out, &out)
		return out.String(), err
	}
	out, err := invite("--tenant", "acme", "--email", "owner@acme.example")
	require.NoError(t, err)
	path := regexp.MustCompile(`/console/invite/\S+`).FindString(out)
	require.NotEmpty(t, path, out)
	require.Contains(t, out, "http://ringback.test/console/invite/", "under the engine's PUBLIC_URL")
	resp, err := http.Get(e.srv.URL + path)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the printed link opens the invite")

	_, err = invite("--tenant", "nope", "--email", "owner@acme.example")
	require.Error(t, err)
	require.Contains(t, err.Error(), "404")
	var ue usageError
	_, err = invite("--tenant", "acme")
	require.ErrorAs(t, err, &ue, "invite without --email is a usage error")
}
