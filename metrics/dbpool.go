package metrics

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolStats is what the pool collector reads; *pgxpool.Pool satisfies it.
type PoolStats interface{ Stat() *pgxpool.Stat }

var _ PoolStats = (*pgxpool.Pool)(nil)

// DBPoolCollector exposes a pgx pool's statistics as ringback_db_pool_*, read from
// pool.Stat() at each scrape (pgx keeps the counters; nothing is counted per query).
type DBPoolCollector struct {
	pool PoolStats

	acquired, idle, constructing, total, max *prometheus.Desc
	acquires, acquireSeconds, canceled       *prometheus.Desc
	emptyAcquires, emptyWaitSeconds          *prometheus.Desc
	created, destroyed                       *prometheus.Desc
}

var _ prometheus.Collector = (*DBPoolCollector)(nil)

// NewDBPoolCollector returns the collector of pool; register it on the engine's registry.
func NewDBPoolCollector(pool PoolStats) *DBPoolCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("ringback_db_pool_"+name, help, labels, nil)
	}
	return &DBPoolCollector{
		pool:         pool,
		acquired:     d("acquired_connections", "Connections currently checked out of the Postgres pool."),
		idle:         d("idle_connections", "Idle connections in the Postgres pool."),
		constructing: d("constructing_connections", "Connections being opened by the Postgres pool."),
		total:        d("total_connections", "Connections in the Postgres pool (acquired + idle + constructing)."),
		max:          d("max_connections", "The Postgres pool's size limit."),
		acquires:     d("acquires_total", "Successful connection acquisitions from the Postgres pool."),
		acquireSeconds: d("acquire_seconds_total",
			"Total time spent acquiring connections (successful acquisitions); divide its rate by acquires_total's for the mean."),
		canceled: d("canceled_acquires_total", "Acquisitions cancelled by their context (a caller gave up waiting for a connection)."),
		emptyAcquires: d("empty_acquires_total",
			"Successful acquisitions that had to wait because no connection was idle: the pool is the bottleneck when this grows."),
		emptyWaitSeconds: d("empty_acquire_wait_seconds_total", "Total time acquisitions spent waiting for a connection when none was idle."),
		created:          d("new_connections_total", "Connections the Postgres pool opened."),
		destroyed: d("destroyed_connections_total",
			"Connections the Postgres pool closed for age, by reason (max_lifetime, max_idle).", "reason"),
	}
}

// Describe implements prometheus.Collector.
func (c *DBPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.constructing, c.total, c.max,
		c.acquires, c.acquireSeconds, c.canceled, c.emptyAcquires, c.emptyWaitSeconds, c.created, c.destroyed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *DBPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	gauge := func(d *prometheus.Desc, v int32) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(c.acquired, s.AcquiredConns())
	gauge(c.idle, s.IdleConns())
	gauge(c.constructing, s.ConstructingConns())
	gauge(c.total, s.TotalConns())
	gauge(c.max, s.MaxConns())
	counter(c.acquires, float64(s.AcquireCount()))
	counter(c.acquireSeconds, s.AcquireDuration().Seconds())
	counter(c.canceled, float64(s.CanceledAcquireCount()))
	counter(c.emptyAcquires, float64(s.EmptyAcquireCount()))
	counter(c.emptyWaitSeconds, s.EmptyAcquireWaitTime().Seconds())
	counter(c.created, float64(s.NewConnsCount()))
	counter(c.destroyed, float64(s.MaxLifetimeDestroyCount()), "max_lifetime")
	counter(c.destroyed, float64(s.MaxIdleDestroyCount()), "max_idle")
}
