package persistence

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ringback/analytics"
)

// Analytics is the store of the analytics event log (schema analytics, docs/EVENTS.md):
// appended in batches by analytics.Writer, read in seq order by the admin export. It names
// no other schema, and no other store names it.
type Analytics struct{ pool *pgxpool.Pool }

var _ analytics.Store = (*Analytics)(nil)

// NewAnalytics returns the event log's store.
func NewAnalytics(pool *pgxpool.Pool) *Analytics { return &Analytics{pool: pool} }

// appendLock is the advisory lock every append holds until it commits: appends from any
// number of processes commit one at a time, in the order their seqs were drawn, so an
// export that has read up to seq N will never later find a row below N. A batch is one
// short COPY every flush interval, so the lock costs next to nothing.
const appendLock int64 = 0x72696e67_65767473 // "ringevts"

var eventColumns = []string{"tenant_id", "kind", "occurred_at", "subject", "data"}

// InsertBatch appends events in order, in one transaction (COPY), all or none.
func (s *Analytics) InsertBatch(ctx context.Context, events []analytics.Event) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([][]any, len(events))
	for i, e := range events {
		if err := e.Check(); err != nil {
			return err
		}
		data, err := analytics.EncodeData(e.Data)
		if err != nil {
			return err
		}
		rows[i] = []any{e.TenantID, string(e.Kind), e.OccurredAt, e.Subject, []byte(data)}
	}
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_catalog.pg_advisory_xact_lock($1)`, appendLock); err != nil {
			return fmt.Errorf("append events: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"analytics", "events"}, eventColumns, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("append events: %w", err)
		}
		return nil
	})
}

// Export returns up to limit events of tenantID with seq > since, in seq order; Data is
// the stored JSON object (json.RawMessage) and OccurredAt is in UTC.
func (s *Analytics) Export(ctx context.Context, tenantID string, since int64, limit int) ([]analytics.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, tenant_id, kind, occurred_at, subject, data FROM analytics.events
		WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, tenantID, since, limit)
	if err != nil {
		return nil, fmt.Errorf("export events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (analytics.Event, error) {
		var e analytics.Event
		var data []byte
		err := row.Scan(&e.Seq, &e.TenantID, &e.Kind, &e.OccurredAt, &e.Subject, &data)
		e.OccurredAt = e.OccurredAt.UTC()
		e.Data = json.RawMessage(data)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("export events: %w", err)
	}
	return out, nil
}
