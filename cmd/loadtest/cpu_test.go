package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProcCPUReadsStat(t *testing.T) {
	t.Parallel()
	// A command name with a space and a parenthesis, as /proc allows.
	line := "4242 (post gres)) S 1 4242 4242 0 -1 4194560 2001 0 0 0 250 50 0 0 20 0 1 0 123 45678 901 18446744073709551615\n"
	path := filepath.Join(t.TempDir(), "stat")
	require.NoError(t, os.WriteFile(path, []byte(line), 0o644))
	d, name, ok := procCPU(path)
	require.True(t, ok)
	require.Equal(t, "post gres)", name)
	require.Equal(t, 3*time.Second, d, "utime 250 + stime 50 ticks of 10 ms")

	_, _, ok = procCPU(filepath.Join(t.TempDir(), "missing"))
	require.False(t, ok)
}

func TestCPUShare(t *testing.T) {
	t.Parallel()
	at := time.Now()
	// Postgres: backend 10 used 0.3 s; 11 ended (its time is lost); 12 started and used 0.2 s.
	before := cpuSample{at: at, engine: time.Second, postgres: map[int]time.Duration{10: 2 * time.Second, 11: 5 * time.Second},
		harness: 0, machine: 10 * time.Second}
	after := cpuSample{at: at.Add(2 * time.Second), engine: 2 * time.Second, postgres: map[int]time.Duration{10: 2300 * time.Millisecond, 12: 200 * time.Millisecond},
		harness: 200 * time.Millisecond, machine: 13 * time.Second}
	require.Equal(t, CPUShare{Engine: 50, Postgres: 25, Harness: 10, Other: 65}, after.share(before))

	unknown := after
	unknown.engine, unknown.machine, unknown.postgres = -1, -1, nil
	require.Equal(t, CPUShare{Engine: -1, Postgres: -1, Harness: 10, Other: -1}, unknown.share(before))
}

// On Linux the harness reads its own CPU, every postgres process and the machine's total.
func TestSampleCPU(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc")
	}
	s := sampleCPU(os.Getpid())
	require.GreaterOrEqual(t, s.engine, time.Duration(0), "this process stands in for the engine")
	require.NotNil(t, s.postgres)
	require.Positive(t, s.machine)
}
