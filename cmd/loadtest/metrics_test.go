package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// What the engine's /metrics looks like: one histogram per tenant, counters by label.
const exposition = `# HELP ringback_auto_sms_latency_seconds From missed-call webhook received to the SMS send accepted by the provider.
# TYPE ringback_auto_sms_latency_seconds histogram
ringback_auto_sms_latency_seconds_bucket{tenant="a",le="0.01"} 40
ringback_auto_sms_latency_seconds_bucket{tenant="a",le="0.1"} 80
ringback_auto_sms_latency_seconds_bucket{tenant="a",le="1"} 100
ringback_auto_sms_latency_seconds_bucket{tenant="a",le="+Inf"} 100
ringback_auto_sms_latency_seconds_sum{tenant="a"} 5
ringback_auto_sms_latency_seconds_count{tenant="a"} 100
ringback_auto_sms_latency_seconds_bucket{tenant="b",le="0.01"} 60
ringback_auto_sms_latency_seconds_bucket{tenant="b",le="0.1"} 80
ringback_auto_sms_latency_seconds_bucket{tenant="b",le="1"} 90
ringback_auto_sms_latency_seconds_bucket{tenant="b",le="+Inf"} 100
ringback_auto_sms_latency_seconds_sum{tenant="b"} 15
ringback_auto_sms_latency_seconds_count{tenant="b"} 100
# HELP ringback_webhooks_total Webhooks by source, kind and result.
# TYPE ringback_webhooks_total counter
ringback_webhooks_total{kind="missed-call",result="accepted",source="twilio"} 7
ringback_webhooks_total{kind="inbound-sms",result="accepted",source="twilio"} 3
ringback_webhooks_total{kind="missed-call",result="bad_signature",source="twilio"} 1
`

func serveMetrics(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/metrics", r.URL.Path)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestScrapeSumsTenantsAndCountsByLabel(t *testing.T) {
	t.Parallel()
	snap, err := scrapeMetrics(context.Background(), http.DefaultClient, serveMetrics(t, exposition))
	require.NoError(t, err)

	h := snap.histogram(metricAutoSMS)
	require.Equal(t, []float64{0.01, 0.1, 1, math.Inf(1)}, h.Bounds)
	require.Equal(t, []float64{100, 160, 190, 200}, h.Counts)
	require.Equal(t, 200.0, h.Count)
	require.Equal(t, 20.0, h.Sum)

	// histogram_quantile: rank 100 is the end of the first bucket; rank 130 is half way
	// through the second (100..160 over 0.01..0.1); rank 198 is in +Inf: the last finite bound.
	require.InDelta(t, 0.01, h.quantile(0.5), 1e-12)
	require.InDelta(t, 0.055, h.quantile(0.65), 1e-12)
	require.InDelta(t, 1.0, h.quantile(0.99), 1e-12)
	require.InDelta(t, 0.005, h.quantile(0.25), 1e-12, "the first bucket interpolates from 0")

	s := h.summary(metricAutoSMS)
	require.EqualValues(t, 200, s.Count)
	require.InDelta(t, 100.0, s.MeanMS, 1e-9)
	require.InDelta(t, 10.0, s.P50MS, 1e-9)

	require.Equal(t, map[string]float64{"accepted": 10, "bad_signature": 1}, snap.counterBy(metricWebhooks, "result"))
	require.Empty(t, snap.counterBy("ringback_missing_total", "x"))
	require.Zero(t, snap.histogram("ringback_missing_seconds").Count)
}

func TestHistogramMinus(t *testing.T) {
	t.Parallel()
	before := promHist{Bounds: []float64{0.01, 0.1, math.Inf(1)}, Counts: []float64{10, 20, 20}, Count: 20, Sum: 1}
	after := promHist{Bounds: []float64{0.01, 0.1, math.Inf(1)}, Counts: []float64{10, 60, 70}, Count: 70, Sum: 6}
	d := after.minus(before)
	require.Equal(t, []float64{0, 40, 50}, d.Counts)
	require.Equal(t, 50.0, d.Count)
	require.Equal(t, 5.0, d.Sum)
	require.InDelta(t, 0.1, d.quantile(0.8), 1e-12)
	require.True(t, math.IsNaN(promHist{}.quantile(0.5)))
	require.Zero(t, promHist{}.summary("x").P99MS, "no observations: zeros, not NaN, in the JSON")
}

func TestScrapeFailsOnBadAnswers(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, err := scrapeMetrics(context.Background(), http.DefaultClient, srv.URL)
	require.ErrorContains(t, err, "HTTP 503")
	_, err = scrapeMetrics(context.Background(), http.DefaultClient, serveMetrics(t, "not { a metric"))
	require.ErrorContains(t, err, "parsing /metrics")
}
