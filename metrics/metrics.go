// Package metrics defines Ringback's Prometheus metrics. Their names and labels are part
// of the external contract (contract.md, "Metrics"); everything registers on a registry the
// engine owns, never on the global one.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the engine's instruments. A nil *Metrics is not valid; tests use New with a
// fresh registry.
type Metrics struct {
	// perTenant false replaces every tenant label value with "_all", bounding cardinality.
	perTenant bool

	AutoSMSLatency     *prometheus.HistogramVec // tenant
	Webhooks           *prometheus.CounterVec   // source, kind, result
	Bookings           *prometheus.CounterVec   // tenant, outcome
	HoldsActive        prometheus.Gauge
	SMSDeliveries      *prometheus.CounterVec // status
	SyncJobs           *prometheus.CounterVec // provider, outcome
	SyncBacklog        *prometheus.GaugeVec   // provider
	ActorRestarts      *prometheus.CounterVec // kind
	ClaimConflictsInDB *prometheus.CounterVec // kind: a live-claim overlap refused by Postgres, not by the actor
}

// Options tune the instruments.
type Options struct {
	// TenantLabels keeps per-tenant label values (default true). Off, every tenant is "_all".
	TenantLabels bool
}

// New creates the instruments and registers them, with the Go runtime and process
// collectors, on reg.
func New(reg prometheus.Registerer, opts Options) *Metrics {
	m := &Metrics{
		perTenant: opts.TenantLabels,
		AutoSMSLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ringback_auto_sms_latency_seconds",
			Help:    "Time from a missed-call webhook being received to the auto-reply SMS being accepted by the provider.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"tenant"}),
		Webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_webhooks_total",
			Help: "Webhooks received, by source, kind and result.",
		}, []string{"source", "kind", "result"}),
		Bookings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_bookings_total",
			Help: "Booking outcomes: confirmed, conflict, expired, cancelled, rescheduled.",
		}, []string{"tenant", "outcome"}),
		HoldsActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ringback_holds_active",
			Help: "Live holds (reservations) held by resource actors in this process.",
		}),
		SMSDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_sms_deliveries_total",
			Help: "Outbound SMS delivery status changes.",
		}, []string{"status"}),
		SyncJobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_sync_jobs_total",
			Help: "Vendor sync job attempts by provider and outcome (ok, retry, failed).",
		}, []string{"provider", "outcome"}),
		SyncBacklog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ringback_sync_backlog",
			Help: "Sync jobs waiting to be worked, by provider.",
		}, []string{"provider"}),
		ActorRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_actor_restarts_total",
			Help: "Actor restarts by supervisors, by actor kind.",
		}, []string{"kind"}),
		ClaimConflictsInDB: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_claim_conflicts_in_db_total",
			Help: "Claims refused by Postgres's overlap constraint after the actor accepted them (two activations of one resource). Each is a bug caught, never a double booking.",
		}, []string{"operation"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.AutoSMSLatency, m.Webhooks, m.Bookings, m.HoldsActive, m.SMSDeliveries,
		m.SyncJobs, m.SyncBacklog, m.ActorRestarts, m.ClaimConflictsInDB,
	)
	for _, k := range []string{"conversation", "resource", "sync"} {
		m.ActorRestarts.WithLabelValues(k)
	}
	return m
}

// Tenant is the label value to use for tenant id.
func (m *Metrics) Tenant(id string) string {
	if !m.perTenant {
		return "_all"
	}
	return id
}
