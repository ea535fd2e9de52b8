package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReportFailedAndRendering(t *testing.T) {
	t.Parallel()
	r := &report{Title: "Chaos", Preamble: []string{"seed 1"}}
	s := r.add("1. kill", "SIGKILL | 3 times")
	s.num("kills survived", "%d of %d", 3, 3)
	s.check("ready after every kill", true, "")
	f := r.add("Final", "")
	f.check("exactly one <SMS>", false, "%d duplicates", 2)
	require.Equal(t, 1, r.Failed())

	var text strings.Builder
	r.Text(&text)
	require.Contains(t, text.String(), "[PASS] ready after every kill\n")
	require.Contains(t, text.String(), "[FAIL] exactly one <SMS>: 2 duplicates")
	require.Contains(t, text.String(), "2 checks, 1 failed: FAIL")

	var md strings.Builder
	r.Markdown(&md)
	require.Contains(t, md.String(), "## 1. kill")
	require.Contains(t, md.String(), `Injected: SIGKILL | 3 times`)
	require.Contains(t, md.String(), "| kills survived | 3 of 3 |")
	require.Contains(t, md.String(), "| exactly one &lt;SMS&gt; | **FAIL** | 2 duplicates |")
	require.Contains(t, md.String(), "**2 checks, 1 failed: FAIL**")
}

func TestFormatCounts(t *testing.T) {
	t.Parallel()
	require.Equal(t, "none", formatCounts(nil))
	require.Equal(t, "200=3 503=1 no answer=2", formatCounts(map[string]int{"503": 1, "no answer": 2, "200": 3}))
}

func TestParseMetricsSumsLabelSets(t *testing.T) {
	t.Parallel()
	m, err := parseMetrics(strings.NewReader(`# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
process_resident_memory_bytes 1.2345e+08
ringback_requests_shed_total{class="webhook"} 5
ringback_requests_shed_total{class="booking"} 2
ringback_actor_mailbox_messages{kind="conversation"} 3
ringback_webhooks_total{kind="a b",source="twilio"} 7 1700000000000
`))
	require.NoError(t, err)
	require.Equal(t, 42.0, m["go_goroutines"])
	require.Equal(t, 1.2345e+08, m["process_resident_memory_bytes"])
	require.Equal(t, 7.0, m["ringback_requests_shed_total"])
	require.Equal(t, 3.0, m["ringback_actor_mailbox_messages"])
	require.Equal(t, 7.0, m["ringback_webhooks_total"])
	_, err = parseMetrics(strings.NewReader("broken{x=\"1\" 3\n"))
	require.Error(t, err)
}

func TestEngineEnvDropsTheCallersEngineVariables(t *testing.T) {
	t.Parallel()
	got := engineEnv([]string{"PATH=/bin", "DATABASE_URL=postgres://elsewhere", "TWILIO_AUTH_TOKEN=x", "MAX_INFLIGHT=9", "HOME=/root"},
		map[string]string{"DATABASE_URL": "postgres://proxy"})
	require.ElementsMatch(t, []string{"PATH=/bin", "HOME=/root", "DATABASE_URL=postgres://proxy"}, got)
}

func TestTenantConfigNamesEveryResourceCalendar(t *testing.T) {
	t.Parallel()
	y := tenantYAML()
	require.Equal(t, resourceCount, strings.Count(y, "connection: chaos-google"))
	require.Equal(t, businessNumbers, strings.Count(y, "send_rate: 100"))
	require.Contains(t, y, "hold_ttl: 1m0s")
}
