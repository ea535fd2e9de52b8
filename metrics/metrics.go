// Package metrics defines Ringback's Prometheus metrics. Their names and labels are part
// of the external contract (contract.md, "Metrics"; docs/OBSERVABILITY.md lists them all);
// everything registers on a registry the engine owns, never on the global one.
package metrics

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// AllTenants is the tenant label value of every series when per-tenant labels are off.
// The underscore keeps it apart from every real tenant id ([a-z0-9-]).
const AllTenants = "_all"

// Metrics are the engine's instruments. A nil *Metrics is not valid; tests use New with a
// fresh registry.
type Metrics struct {
	// perTenant false replaces every tenant label value with AllTenants, bounding cardinality.
	perTenant bool

	AutoSMSLatency *prometheus.HistogramVec // tenant
	Webhooks       *prometheus.CounterVec   // source, kind, result
	Bookings       *prometheus.CounterVec   // tenant, outcome
	HoldsActive    prometheus.Gauge
	SMSDeliveries  *prometheus.CounterVec // status
	SyncJobs       *prometheus.CounterVec // provider, outcome
	SyncBacklog    *prometheus.GaugeVec   // provider
	// RequestsShed counts requests answered 503 because the engine was at capacity.
	RequestsShed *prometheus.CounterVec // class: webhooks, booking
	// SyncBacklogAge is how long the oldest pending sync job of a provider has waited.
	SyncBacklogAge *prometheus.GaugeVec   // provider
	ActorRestarts  *prometheus.CounterVec // kind
	// Replies counts customers' SMS by what the engine read in them.
	Replies *prometheus.CounterVec // intent
	// Reminders counts reminders by outcome: sent, skipped, confirmed, rescheduled,
	// cancelled (the customer's answer), unconfirmed (the deadline passed unanswered).
	Reminders *prometheus.CounterVec // outcome
	// RemindersOverdue and RemindersOldestOverdue watch reminders due for minutes and not
	// yet handed over: the silent failure the alert fires on.
	RemindersOverdue       prometheus.Gauge
	RemindersOldestOverdue prometheus.Gauge
	ClaimConflictsInDB     *prometheus.CounterVec // operation: a live-claim overlap refused by Postgres, not by the actor
	// SyncConnections counts vendor connections by provider and state (active, parked,
	// reconnect_needed); set from Postgres by whoever refreshes ringback_sync_backlog.
	SyncConnections *prometheus.GaugeVec // provider, state

	// ActorMessages and ActorMessageSeconds are fed by the actors' receive middleware
	// through Actor(kind), never directly.
	ActorMessages       *prometheus.CounterVec   // kind
	ActorMessageSeconds *prometheus.HistogramVec // kind
	actors              map[string]*ActorKind
}

// Options tune the instruments.
type Options struct {
	// TenantLabels keeps per-tenant label values. Off (the zero value), every tenant label
	// is AllTenants; the engine turns it on unless METRICS_TENANT_LABELS says false.
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
		RequestsShed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_requests_shed_total",
			Help: "Requests answered 503 with nothing stored because the engine was at capacity (MAX_INFLIGHT), by class: webhooks, booking.",
		}, []string{"class"}),
		SyncBacklogAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ringback_sync_backlog_oldest_seconds",
			Help: "Age of the oldest pending sync job, by provider (0 when none is pending).",
		}, []string{"provider"}),
		Replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_replies_total",
			Help: "Customers' SMS replies by intent read: pick, confirm, more, window, reschedule, cancel, opt_out, help, unknown (unknown ones wait for a person).",
		}, []string{"intent"}),
		Reminders: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_reminders_total",
			Help: "Visit reminders by outcome: sent (handed to the outbox), skipped (passed at booking, opted out, stale), confirmed, rescheduled, cancelled (the customer's answer), unconfirmed (no answer by the deadline).",
		}, []string{"outcome"}),
		RemindersOverdue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ringback_reminders_overdue",
			Help: "Reminders due for more than 5 minutes and not yet handed to the outbox.",
		}),
		RemindersOldestOverdue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ringback_reminders_oldest_overdue_seconds",
			Help: "How long the oldest overdue reminder has been due (0 when none).",
		}),
		ActorRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_actor_restarts_total",
			Help: "Actor restarts by supervisors, by actor kind.",
		}, []string{"kind"}),
		ClaimConflictsInDB: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_claim_conflicts_in_db_total",
			Help: "Claims refused by Postgres's overlap constraint after the actor accepted them (two activations of one resource). Each is a bug caught, never a double booking.",
		}, []string{"operation"}),
		SyncConnections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ringback_sync_connections",
			Help: "Vendor connections by provider and state (active, parked, reconnect_needed). Parked and reconnect_needed ones wait for a person.",
		}, []string{"provider", "state"}),
		ActorMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ringback_actor_messages_total",
			Help: "Messages actors finished receiving (lifecycle messages included), by actor kind.",
		}, []string{"kind"}),
		ActorMessageSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ringback_actor_message_seconds",
			Help: "Time an actor spent in Receive for one message, by actor kind.",
			Buckets: []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
				0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"kind"}),
		actors: map[string]*ActorKind{},
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.AutoSMSLatency, m.Webhooks, m.Bookings, m.HoldsActive, m.SMSDeliveries,
		m.SyncJobs, m.SyncBacklog, m.SyncBacklogAge, m.RequestsShed, m.ActorRestarts, m.Replies, m.ClaimConflictsInDB, m.SyncConnections,
		m.Reminders, m.RemindersOverdue, m.RemindersOldestOverdue,
		m.ActorMessages, m.ActorMessageSeconds,
	)
	for _, intent := range []string{"pick", "confirm", "more", "window", "reschedule", "cancel", "opt_out", "help", "unknown"} {
		m.Replies.WithLabelValues(intent)
	}
	for _, outcome := range []string{"sent", "skipped", "confirmed", "rescheduled", "cancelled", "unconfirmed"} {
		m.Reminders.WithLabelValues(outcome)
	}
	for _, k := range []string{"conversation", "resource", "sync"} { // every actor kind
		m.ActorRestarts.WithLabelValues(k)
		ak := &ActorKind{
			Messages: m.ActorMessages.WithLabelValues(k),
			Seconds:  m.ActorMessageSeconds.WithLabelValues(k),
		}
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "ringback_actor_mailbox_messages",
			Help:        "User messages waiting in the mailboxes of live actors, summed by actor kind (read at scrape time).",
			ConstLabels: prometheus.Labels{"kind": k},
		}, func() float64 { return float64(ak.mailboxes.sum()) }))
		m.actors[k] = ak
	}
	for _, s := range []string{"queued", "sent", "delivered", "undelivered", "failed", "sandbox"} {
		m.SMSDeliveries.WithLabelValues(s)
	}
	for _, c := range []string{"webhooks", "booking"} {
		m.RequestsShed.WithLabelValues(c)
	}
	return m
}

// Actor returns the instruments of an actor kind (conversation, resource or sync); any
// other kind is a wiring mistake and panics, like a duplicate registration does.
func (m *Metrics) Actor(kind string) *ActorKind {
	k, ok := m.actors[kind]
	if !ok {
		panic(fmt.Sprintf("metrics: unknown actor kind %q (want conversation, resource or sync)", kind))
	}
	return k
}

// Tenant is the label value to use for tenant id.
func (m *Metrics) Tenant(id string) string {
	if !m.perTenant {
		return AllTenants
	}
	return id
}
