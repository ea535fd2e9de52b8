package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sampleReport is a report as a run of booking-api with --baseline makes it.
func sampleReport() *Report {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	timeline := []Point{{T: 0, Count: 90, P50MS: 3, P95MS: 8, P99MS: 12, MaxMS: 20}, {T: 1, Count: 0}, {T: 2, Count: 110, P50MS: 4, P95MS: 9, P99MS: 15, MaxMS: 40}}
	op := func(name string, n int64, p99 float64) OpReport {
		return OpReport{Name: name, Count: n, Rate: float64(n) / 2, P50MS: 3.5, P90MS: 7, P95MS: 8.5, P99MS: p99, P999MS: p99 + 1, MaxMS: 40, Timeline: timeline}
	}
	engine := ScenarioReport{Name: scBookingAPI, System: sysRingback, OfferedRate: 100, DurationS: 2, Planned: 200, Started: 200, AchievedRate: 99.9,
		WallS: 2.1, Ops: []OpReport{op("reserve", 200, 12.5), op("confirm", 190, 9)},
		Outcomes: map[string]int64{"reserve 201 held": 190, "reserve 409 taken": 10}, Errors: map[string]int64{}, CPU: &CPUShare{Engine: 55, Postgres: 40, Harness: 10, Other: 5}}
	base := engine
	base.System, base.Ops = sysBaseline, []OpReport{op("reserve", 200, 48), op("confirm", 190, 30)}
	base.Errors, base.ErrorCount = map[string]int64{"reserve: timeout": 2}, 2
	base.CPU = &CPUShare{Engine: -1, Postgres: 90, Harness: 20, Other: -1}
	rep := &Report{Started: start, Finished: start.Add(time.Minute), Machine: Machine{CPUs: 2, GoVersion: "go1.26", OS: "linux/amd64"},
		Mode: "subprocess", EngineURL: "http://127.0.0.1:1234", EnginePID: 42, Database: "postgres://x/y",
		Config:    RunConfig{Tenants: 100, Resources: 1000, BusinessNumbers: 1000, DurationS: 2, Concurrency: 64, Service: "svc"},
		Scenarios: []ScenarioReport{engine, base},
		Engine: &EngineReport{AutoSMS: EngineHist{Metric: metricAutoSMS, Count: 1234, P50MS: 4, P95MS: 6, P99MS: 9.5},
			Webhooks: map[string]float64{"accepted": 1234, "duplicate": 0}, Bookings: map[string]float64{"confirmed": 190}},
		Invariants: []Invariant{
			{Name: "no overlapping live claims", OK: true, Checked: 380},
			{Name: "no SMS to an opted-out number", OK: false, Checked: 3, Violations: 1, Examples: []string{"reply +1512 → +1737***0001"}},
		},
	}
	rep.Comparisons = compare(rep.Scenarios)
	return rep
}

func TestComparePairsEngineWithBaseline(t *testing.T) {
	t.Parallel()
	rep := sampleReport()
	require.Len(t, rep.Comparisons, 2)
	c := rep.Comparisons[0]
	require.Equal(t, scBookingAPI, c.Scenario)
	require.Equal(t, "reserve", c.Op)
	require.Equal(t, 12.5, c.Ringback.P99MS)
	require.Equal(t, 48.0, c.Baseline.P99MS)
	require.EqualValues(t, 190, c.Ringback.Held)
	require.EqualValues(t, 2, c.Baseline.Errors)
	require.Empty(t, compare(rep.Scenarios[:1]), "no baseline run, nothing to compare")
}

func TestTextReport(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	writeText(&b, sampleReport())
	out := b.String()
	for _, want := range []string{
		"FAILED: see the invariants",
		"child process 42 on http://127.0.0.1:1234",
		"100 tenants, 1,000 resources, 1,000 business numbers",
		"== booking-api (ringback) ==",
		"== booking-api (postgres-baseline) ==",
		"CPU, % of one core: engine 55%, postgres 40%, harness 10%, everything else on the machine 5%",
		"CPU, % of one core: engine n/a, postgres 90%, harness 20%, everything else on the machine n/a",
		"outcomes: reserve 201 held 190, reserve 409 taken 10",
		"errors: reserve: timeout 2",
		"== the engine against the Postgres baseline",
		"ringback_auto_sms_latency_seconds: 1,234 observations",
		"webhooks by result: accepted 1,234\n",
		"ok   no overlapping live claims: 380 checked, 0 violations",
		"FAIL no SMS to an opted-out number: 3 checked, 1 violations",
		"       reply +1512 → +1737***0001",
	} {
		require.Contains(t, out, want)
	}
	// The operations table: one row per operation, percentiles in columns.
	require.Regexp(t, `reserve\s+200\s+100\.0\s+3\.50\s+7\.00\s+8\.50\s+12\.5\s+13\.5\s+40\.0`, out)
}

func TestJSONReportRoundTrips(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	require.NoError(t, writeJSON(&b, sampleReport()))
	var got Report
	require.NoError(t, json.Unmarshal(b.Bytes(), &got))
	require.Equal(t, *sampleReport(), got)
	require.Contains(t, b.String(), `"p99_ms": 12.5`)
}

func TestHTMLReportHasChartsAndTables(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	require.NoError(t, writeHTML(&b, sampleReport()))
	out := b.String()
	require.True(t, strings.HasPrefix(out, "<!doctype html>"))
	// Per scenario: a latency chart per operation and a throughput chart.
	require.Equal(t, 6, strings.Count(out, "<svg"))
	require.NotContains(t, out, "<?xml", "inline SVG carries no XML prolog")
	require.Contains(t, out, "booking-api (ringback): reserve, latency per second")
	require.Contains(t, out, `<span class="fail">FAIL</span> no SMS to an opted-out number`)
	require.Contains(t, out, "postgres baseline")
	require.NotContains(t, out, "<script", "the page runs no script")
	require.NotContains(t, out, "<link", "the page loads no stylesheet")
}

func TestWriteReportsToDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "out")
	var stdout bytes.Buffer
	require.NoError(t, writeReports(sampleReport(), options{Out: dir, JSON: true}, &stdout))
	require.True(t, json.Valid(stdout.Bytes()), "--json prints JSON on stdout")
	for _, name := range []string{"report.txt", "report.json", "report.html"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.NotEmpty(t, b, name)
	}
}

func TestNumberFormatting(t *testing.T) {
	t.Parallel()
	require.Equal(t, "0", thousands(0))
	require.Equal(t, "999", thousands(999))
	require.Equal(t, "1,000", thousands(1000))
	require.Equal(t, "-1,234,567", thousands(-1234567))
	require.Equal(t, "0.25", msText(0.25))
	require.Equal(t, "12.3", msText(12.34))
	require.Equal(t, "123", msText(123.4))
	require.Equal(t, "n/a", pctText(-1))
	require.Equal(t, "b 3, a 1, c 1", countsText(map[string]float64{"a": 1, "b": 3, "c": 1, "z": 0}))
	require.Equal(t, "none", countsText(nil))
}
