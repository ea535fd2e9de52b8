package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The engine's metrics the report reads (contract.md, "Metrics").
const (
	metricAutoSMS  = "ringback_auto_sms_latency_seconds"
	metricWebhooks = "ringback_webhooks_total"
	metricBookings = "ringback_bookings_total"
	metricSMS      = "ringback_sms_deliveries_total"
	metricRestarts = "ringback_actor_restarts_total"
	metricShed     = "ringback_requests_shed_total"
)

// promSnapshot is one scrape of the engine's /metrics.
type promSnapshot map[string]*dto.MetricFamily

func scrapeMetrics(ctx context.Context, client *http.Client, base string) (promSnapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	// The text format: the parser below reads it whatever the engine's default is.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping /metrics: HTTP %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parsing /metrics: %w", err)
	}
	return promSnapshot(fams), nil
}

// promHist is a Prometheus histogram summed over its label sets: cumulative counts per
// upper bound, ascending, the last bound +Inf.
type promHist struct {
	Bounds []float64
	Counts []float64
	Count  float64
	Sum    float64
}

// histogram sums the series of a histogram family (all tenants together).
func (s promSnapshot) histogram(name string) promHist {
	var h promHist
	fam := s[name]
	if fam == nil {
		return h
	}
	byBound := map[float64]float64{}
	for _, m := range fam.GetMetric() {
		ph := m.GetHistogram()
		if ph == nil {
			continue
		}
		h.Count += float64(ph.GetSampleCount())
		h.Sum += ph.GetSampleSum()
		for _, b := range ph.GetBucket() {
			byBound[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		}
	}
	for b := range byBound {
		h.Bounds = append(h.Bounds, b)
	}
	slices.Sort(h.Bounds)
	for _, b := range h.Bounds {
		h.Counts = append(h.Counts, byBound[b])
	}
	if n := len(h.Bounds); n == 0 || !math.IsInf(h.Bounds[n-1], 1) {
		h.Bounds = append(h.Bounds, math.Inf(1))
		h.Counts = append(h.Counts, h.Count)
	}
	return h
}

// minus is what was observed between an earlier snapshot and this one.
func (h promHist) minus(before promHist) promHist {
	out := promHist{Bounds: h.Bounds, Counts: slices.Clone(h.Counts), Count: h.Count - before.Count, Sum: h.Sum - before.Sum}
	for i, b := range h.Bounds {
		if j := slices.Index(before.Bounds, b); j >= 0 {
			out.Counts[i] -= before.Counts[j]
		}
	}
	return out
}

// quantile estimates the q-quantile (0 < q < 1) as Prometheus's histogram_quantile does:
// linear interpolation inside the bucket that holds it (from 0 for the first bucket); the
// highest finite bound when it falls in the +Inf bucket. NaN without observations.
func (h promHist) quantile(q float64) float64 {
	if h.Count <= 0 || len(h.Bounds) == 0 {
		return math.NaN()
	}
	rank := q * h.Count
	for i, c := range h.Counts {
		if c < rank {
			continue
		}
		if math.IsInf(h.Bounds[i], 1) {
			if i == 0 {
				return math.NaN()
			}
			return h.Bounds[i-1]
		}
		lo, below := 0.0, 0.0
		if i > 0 {
			lo, below = h.Bounds[i-1], h.Counts[i-1]
		}
		if c == below {
			return h.Bounds[i]
		}
		return lo + (h.Bounds[i]-lo)*(rank-below)/(c-below)
	}
	return h.Bounds[len(h.Bounds)-1]
}

// EngineHist is a histogram of the engine's own, as reported.
type EngineHist struct {
	Metric string  `json:"metric"`
	Count  int64   `json:"count"`
	MeanMS float64 `json:"mean_ms"`
	P50MS  float64 `json:"p50_ms"` // bucket estimates (histogram_quantile)
	P95MS  float64 `json:"p95_ms"`
	P99MS  float64 `json:"p99_ms"`
}

func (h promHist) summary(metric string) EngineHist {
	e := EngineHist{Metric: metric, Count: int64(math.Round(h.Count))}
	if h.Count > 0 {
		e.MeanMS = round3(h.Sum / h.Count * 1000)
		e.P50MS, e.P95MS, e.P99MS = round3(h.quantile(0.5)*1000), round3(h.quantile(0.95)*1000), round3(h.quantile(0.99)*1000)
	}
	return e
}

// counterBy sums a counter family by the value of one label.
func (s promSnapshot) counterBy(name, label string) map[string]float64 {
	out := map[string]float64{}
	fam := s[name]
	if fam == nil {
		return out
	}
	for _, m := range fam.GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				key = l.GetValue()
			}
		}
		out[key] += m.GetCounter().GetValue()
	}
	return out
}

func round3(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}
