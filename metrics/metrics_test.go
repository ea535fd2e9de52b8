package metrics_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"ringback/metrics"
	"ringback/persistence/pgtest"
)

func TestTenantLabelSwitch(t *testing.T) {
	t.Parallel()
	on := metrics.New(prometheus.NewRegistry(), metrics.Options{TenantLabels: true})
	require.Equal(t, "acme", on.Tenant("acme"))
	off := metrics.New(prometheus.NewRegistry(), metrics.Options{TenantLabels: false})
	require.Equal(t, metrics.AllTenants, off.Tenant("acme"))
	require.Equal(t, "_all", off.Tenant("other"))
}

// TestMetricsPassTheLinter runs promlint (what `promtool check metrics` runs) on every
// instrument, the pool's included, with a series in each vector.
func TestMetricsPassTheLinter(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	m := metrics.New(reg, metrics.Options{TenantLabels: true})
	reg.MustRegister(metrics.NewDBPoolCollector(pgtest.Pool(t)))
	m.AutoSMSLatency.WithLabelValues("acme").Observe(0.2)
	m.Webhooks.WithLabelValues("twilio", "missed-call", "accepted").Inc()
	m.Bookings.WithLabelValues("acme", "confirmed").Inc()
	m.SyncJobs.WithLabelValues("google", "ok").Inc()
	m.SyncBacklog.WithLabelValues("google").Set(1)
	m.SyncConnections.WithLabelValues("google", "parked").Set(1)
	m.ClaimConflictsInDB.WithLabelValues("hold").Inc()
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestActorKinds(t *testing.T) {
	t.Parallel()
	m := metrics.New(prometheus.NewRegistry(), metrics.Options{})
	for _, k := range []string{"conversation", "resource", "sync"} {
		require.NotNil(t, m.Actor(k))
	}
	require.Same(t, m.Actor("sync"), m.Actor("sync"))
	require.Panics(t, func() { m.Actor("resources") })
}

func TestDBPoolCollectorReadsThePool(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewDBPoolCollector(pool))

	conn, err := pool.Acquire(context.Background())
	require.NoError(t, err)
	got := gather(t, reg)
	require.Equal(t, 1.0, got["ringback_db_pool_acquired_connections"])
	require.Equal(t, float64(pool.Config().MaxConns), got["ringback_db_pool_max_connections"])
	require.GreaterOrEqual(t, got["ringback_db_pool_total_connections"], 1.0)
	acquires := got["ringback_db_pool_acquires_total"]
	require.GreaterOrEqual(t, acquires, 1.0)
	require.GreaterOrEqual(t, got["ringback_db_pool_new_connections_total"], 1.0)
	conn.Release()

	got = gather(t, reg)
	require.Zero(t, got["ringback_db_pool_acquired_connections"])
	require.GreaterOrEqual(t, got["ringback_db_pool_idle_connections"], 1.0)
	require.Equal(t, acquires, got["ringback_db_pool_acquires_total"], "a release is not an acquire")
	for _, name := range []string{"acquire_seconds_total", "canceled_acquires_total", "empty_acquires_total",
		"empty_acquire_wait_seconds_total", "constructing_connections", "destroyed_connections_total"} {
		require.Contains(t, got, "ringback_db_pool_"+name)
	}
}

// gather sums each family's samples by name (the pool's families have one series each,
// destroyed_connections_total two).
func gather(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[mf.GetName()] += value(m)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	}
	return 0
}
