package persistence

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ringback/actors/resource"
	vsync "ringback/actors/sync"
	"ringback/tenant"
)

// Sync is the store of the sync actors: connections, the durable sync job queue, vendor
// ids, imported busy time and vendor webhooks. All of it lives in the fulfillment schema.
type Sync struct {
	*Fulfillment
}

var _ vsync.Store = (*Sync)(nil)

// NewSync returns the sync store.
func NewSync(pool *pgxpool.Pool) *Sync { return &Sync{Fulfillment: NewFulfillment(pool)} }

// Connections lists every connection to provider ("" for all).
func (s *Sync) Connections(ctx context.Context, provider string) ([]vsync.Connection, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, id, provider, state, COALESCE(state_reason, '')
		FROM fulfillment.connections WHERE $1 = '' OR provider = $1 ORDER BY tenant_id, id`, provider)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[vsync.Connection])
}

// SetConnectionState records a connection's health.
func (s *Sync) SetConnectionState(ctx context.Context, tenantID, connID string, state vsync.ConnState, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE fulfillment.connections SET state = $3, state_reason = NULLIF($4, ''), updated_at = now()
		WHERE tenant_id = $1 AND id = $2`, tenantID, connID, string(state), reason)
	return err
}

// ClaimJobs claims the due heads of the connection's appointment queues, oldest first,
// until `until`, except those of the appointments in skip. A later job of an appointment never runs before an earlier one that is
// waiting to retry or is claimed. Two engines claiming at once never get the same job:
// the UPDATE re-checks each row under its lock, and a job becomes a head only once every
// earlier job of its appointment is done or failed, which never changes back.
func (s *Sync) ClaimJobs(ctx context.Context, tenantID, connID string, skip []uuid.UUID, now, until time.Time, limit int) ([]vsync.Job, error) {
	until = until.Truncate(time.Microsecond) // Postgres's precision: the claim must compare equal
	if skip == nil {
		skip = []uuid.UUID{} // not NULL, which <> ALL would make unknown for every row
	}
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT seq FROM (
				SELECT DISTINCT ON (appointment_id) seq, appointment_id, state, run_after, claimed_until FROM fulfillment.sync_jobs
				WHERE tenant_id = $1 AND connection_id = $2 AND state IN ('pending', 'running')
				ORDER BY appointment_id, seq) head
			WHERE ((state = 'pending' AND run_after <= $3) OR (state = 'running' AND claimed_until <= $3))
				AND appointment_id <> ALL($6::uuid[])
			ORDER BY seq LIMIT $5)
		UPDATE fulfillment.sync_jobs j SET state = 'running', claimed_until = $4, updated_at = $3
		FROM due WHERE j.seq = due.seq
			AND ((j.state = 'pending' AND j.run_after <= $3) OR (j.state = 'running' AND j.claimed_until <= $3))
		RETURNING j.seq, j.tenant_id, j.connection_id, j.provider, j.appointment_id, j.action, j.attempts, j.claimed_until`,
		tenantID, connID, now, until, limit, skip)
	if err != nil {
		return nil, err
	}
	jobs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[vsync.Job])
	slices.SortFunc(jobs, func(a, b vsync.Job) int { return cmp.Compare(a.Seq, b.Seq) })
	return jobs, err
}

// NextDue is when the connection's earliest job may be claimed: a pending head's next
// attempt, or when a claimed one's claim runs out (a job behind its appointment's head
// waits for the head, however due it is).
func (s *Sync) NextDue(ctx context.Context, tenantID, connID string) (time.Time, bool, error) {
	var at *time.Time
	err := s.pool.QueryRow(ctx, `SELECT min(CASE WHEN state = 'pending' THEN run_after ELSE claimed_until END) FROM (
			SELECT DISTINCT ON (appointment_id) state, run_after, claimed_until FROM fulfillment.sync_jobs
			WHERE tenant_id = $1 AND connection_id = $2 AND state IN ('pending', 'running')
			ORDER BY appointment_id, seq) head`, tenantID, connID).Scan(&at)
	if err != nil || at == nil {
		return time.Time{}, false, err
	}
	return *at, true, nil
}

// JobDone marks a claimed job done.
func (s *Sync) JobDone(ctx context.Context, j vsync.Job, at time.Time) error {
	return s.finish(ctx, j, "done", "", at, at, false)
}

// JobRetry counts a failed attempt and makes the job pending until its next one.
func (s *Sync) JobRetry(ctx context.Context, j vsync.Job, reason string, runAfter, at time.Time) error {
	return s.finish(ctx, j, "pending", reason, runAfter, at, true)
}

// JobFailed gives a claimed job up, keeping why.
func (s *Sync) JobFailed(ctx context.Context, j vsync.Job, reason string, at time.Time) error {
	return s.finish(ctx, j, "failed", reason, at, at, true)
}

func (s *Sync) finish(ctx context.Context, j vsync.Job, state, reason string, runAfter, at time.Time, failed bool) error {
	tag, err := s.pool.Exec(ctx, `UPDATE fulfillment.sync_jobs SET state = $3, last_error = COALESCE(NULLIF($4, ''), last_error),
			run_after = $5, updated_at = $6, attempts = attempts + CASE WHEN $7 THEN 1 ELSE 0 END, claimed_until = NULL
		WHERE seq = $1 AND state = 'running' AND claimed_until = $2`, j.Seq, j.ClaimedUntil, state, reason, runAfter, at, failed)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("job %d: %w", j.Seq, vsync.ErrClaimLost)
	}
	return err
}

// Stalled lists the active connections with a job that could have been claimed before
// `before` and was not: a pending head due then, or a claim run out then. Their worker
// missed the kick that would have woken it (sent to an engine as it died).
func (s *Sync) Stalled(ctx context.Context, before time.Time) ([]vsync.Connection, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT c.tenant_id, c.id, c.provider, c.state, COALESCE(c.state_reason, '')
		FROM fulfillment.sync_jobs j JOIN fulfillment.connections c ON c.tenant_id = j.tenant_id AND c.id = j.connection_id
		WHERE c.state = 'active' AND ((j.state = 'pending' AND j.run_after < $1) OR (j.state = 'running' AND j.claimed_until < $1))`, before)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[vsync.Connection])
}

// ReleaseClaims makes every claimed job pending again (at the start of a lone engine).
func (s *Sync) ReleaseClaims(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE fulfillment.sync_jobs SET state = 'pending', claimed_until = NULL, updated_at = now()
		WHERE state = 'running'`)
	return tag.RowsAffected(), err
}

// Backlog counts unfinished (pending or claimed) jobs per provider, with the oldest one's
// creation time.
func (s *Sync) Backlog(ctx context.Context) (map[string]vsync.Backlog, error) {
	rows, err := s.pool.Query(ctx, `SELECT provider, count(*), min(created_at) FROM fulfillment.sync_jobs
		WHERE state IN ('pending', 'running') GROUP BY provider`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]vsync.Backlog{}
	for rows.Next() {
		var p string
		var b vsync.Backlog
		if err := rows.Scan(&p, &b.Pending, &b.Oldest); err != nil {
			return nil, err
		}
		out[p] = b
	}
	return out, rows.Err()
}

// Refs returns the vendor ids of one appointment on one connection.
func (s *Sync) Refs(tenantID, connID string, appointmentID uuid.UUID) vsync.Refs {
	return &refs{pool: s.pool, tenantID: tenantID, connID: connID, appt: appointmentID}
}

type refs struct {
	pool     *pgxpool.Pool
	tenantID string
	connID   string
	appt     uuid.UUID
}

func (r *refs) Get(ctx context.Context, kind string) (string, bool, error) {
	var id string
	err := r.pool.QueryRow(ctx, `SELECT vendor_id FROM fulfillment.vendor_refs
		WHERE tenant_id = $1 AND connection_id = $2 AND appointment_id = $3 AND kind = $4`,
		r.tenantID, r.connID, r.appt, kind).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return id, err == nil, err
}

func (r *refs) Put(ctx context.Context, kind, id string) error {
	_, err := r.pool.Exec(ctx, `INSERT INTO fulfillment.vendor_refs (tenant_id, connection_id, appointment_id, kind, vendor_id)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, connection_id, appointment_id, kind) DO UPDATE SET vendor_id = excluded.vendor_id`,
		r.tenantID, r.connID, r.appt, kind, id)
	return err
}

// AppointmentByRef finds our appointment from a vendor's id on a connection.
func (s *Sync) AppointmentByRef(ctx context.Context, tenantID, connID, kind, vendorID string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT appointment_id FROM fulfillment.vendor_refs
		WHERE tenant_id = $1 AND connection_id = $2 AND kind = $3 AND vendor_id = $4`, tenantID, connID, kind, vendorID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, resource.ErrNotFound
	}
	return id, err
}

// CalendarRead replaces a resource's busy time with what its calendar said at at.
func (s *Sync) CalendarRead(ctx context.Context, tenantID, resourceID string, busy []vsync.Interval, at time.Time) error {
	starts, ends := make([]time.Time, len(busy)), make([]time.Time, len(busy))
	for i, b := range busy {
		starts[i], ends[i] = b.Start, b.End
	}
	return inTx(ctx, s.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM fulfillment.busy_blocks WHERE tenant_id = $1 AND resource_id = $2 AND source = 'calendar'`, tenantID, resourceID)
		b.Queue(`INSERT INTO fulfillment.busy_blocks (tenant_id, resource_id, starts_at, ends_at, source)
			SELECT $1, $2, s, e, 'calendar' FROM unnest($3::timestamptz[], $4::timestamptz[]) AS t(s, e)
			ON CONFLICT DO NOTHING`, tenantID, resourceID, starts, ends)
		b.Queue(`INSERT INTO fulfillment.calendar_reads (tenant_id, resource_id, last_ok_at, last_error) VALUES ($1, $2, $3, NULL)
			ON CONFLICT (tenant_id, resource_id) DO UPDATE SET last_ok_at = excluded.last_ok_at, last_error = NULL, last_error_at = NULL`, tenantID, resourceID, at)
		return tx.SendBatch(ctx, b).Close()
	})
}

// CalendarReadFailed records why a resource's calendar could not be read.
func (s *Sync) CalendarReadFailed(ctx context.Context, tenantID, resourceID, reason string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO fulfillment.calendar_reads (tenant_id, resource_id, last_error, last_error_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, resource_id) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at`,
		tenantID, resourceID, reason, at)
	return err
}

// CalendarView is the freshness of one resource's calendar import.
type CalendarView struct {
	ResourceID  string     `json:"resource_id"`
	CalendarID  string     `json:"calendar_id"`
	LastReadAt  *time.Time `json:"last_read_at"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// ConnectionView is a connection as the admin API shows it: health, backlog, calendars.
type ConnectionView struct {
	ID            string         `json:"id"`
	Provider      string         `json:"provider"`
	State         string         `json:"state"`
	Reason        string         `json:"reason,omitempty"`
	Pending       int            `json:"pending_jobs"`
	Failed        int            `json:"failed_jobs"`
	OldestPending *time.Time     `json:"oldest_pending_at,omitempty"`
	Calendars     []CalendarView `json:"calendars,omitempty"`
}

// ConnectionViews lists a tenant's connections with their backlog and calendar reads.
func (s *Sync) ConnectionViews(ctx context.Context, tenantID string) ([]ConnectionView, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.id, c.provider, c.state, COALESCE(c.state_reason, ''),
			(SELECT count(*) FROM fulfillment.sync_jobs j WHERE j.tenant_id = c.tenant_id AND j.connection_id = c.id AND j.state IN ('pending', 'running')),
			(SELECT count(*) FROM fulfillment.sync_jobs j WHERE j.tenant_id = c.tenant_id AND j.connection_id = c.id AND j.state = 'failed'),
			(SELECT min(created_at) FROM fulfillment.sync_jobs j WHERE j.tenant_id = c.tenant_id AND j.connection_id = c.id AND j.state IN ('pending', 'running')),
			COALESCE((SELECT jsonb_agg(jsonb_build_object('resource_id', r.id, 'calendar_id', r.calendar_id,
					'last_read_at', cr.last_ok_at, 'last_error', COALESCE(cr.last_error, ''), 'last_error_at', cr.last_error_at) ORDER BY r.id)
				FROM fulfillment.resources r LEFT JOIN fulfillment.calendar_reads cr ON cr.tenant_id = r.tenant_id AND cr.resource_id = r.id
				WHERE r.tenant_id = c.tenant_id AND r.calendar_connection = c.id AND r.active), '[]'::jsonb)
		FROM fulfillment.connections c WHERE c.tenant_id = $1 ORDER BY c.id`, tenantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (ConnectionView, error) {
		var v ConnectionView
		err := row.Scan(&v.ID, &v.Provider, &v.State, &v.Reason, &v.Pending, &v.Failed, &v.OldestPending, &v.Calendars)
		return v, err
	})
}

// StoreVendorWebhook stores a vendor webhook under its unique key; false if it was
// stored before (a redelivery).
func (s *Sync) StoreVendorWebhook(ctx context.Context, provider, key string, payload []byte, at time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO fulfillment.vendor_webhooks (provider, key, payload, received_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, provider, key, payload, at)
	return tag.RowsAffected() == 1, err
}

// VendorWebhookDone marks a vendor webhook processed, with what came of it.
func (s *Sync) VendorWebhookDone(ctx context.Context, provider, key, outcome string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE fulfillment.vendor_webhooks SET processed_at = $3, outcome = $4
		WHERE provider = $1 AND key = $2`, provider, key, at, outcome)
	return err
}

// VendorWebhook is a stored vendor webhook.
type VendorWebhook struct {
	Provider string
	Key      string
	Payload  []byte
}

// UnprocessedVendorWebhooks lists webhooks received before `before` (zero: all) and not
// yet processed, oldest first.
func (s *Sync) UnprocessedVendorWebhooks(ctx context.Context, before time.Time, limit int) ([]VendorWebhook, error) {
	rows, err := s.pool.Query(ctx, `SELECT provider, key, payload FROM fulfillment.vendor_webhooks
		WHERE processed_at IS NULL AND ($1::timestamptz IS NULL OR received_at < $1) ORDER BY received_at LIMIT $2`,
		nullTime(before), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[VendorWebhook])
}

// RequeueUpdate queues an update job for an appointment on one connection.
func (s *Sync) RequeueUpdate(ctx context.Context, conn vsync.Connection, appointmentID uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO fulfillment.sync_jobs (tenant_id, connection_id, provider, appointment_id, action)
		VALUES ($1, $2, $3, $4, 'update')`, conn.TenantID, conn.ID, conn.Provider, appointmentID)
	return err
}

// ResumeConnection makes a parked connection active again.
func (s *Sync) ResumeConnection(ctx context.Context, tenantID, connID string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE fulfillment.connections SET state = 'active', state_reason = NULL, updated_at = now()
		WHERE tenant_id = $1 AND id = $2`, tenantID, connID)
	if err == nil && tag.RowsAffected() == 0 {
		return tenant.ErrNotFound
	}
	return err
}
