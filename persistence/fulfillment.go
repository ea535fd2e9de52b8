package persistence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"ringback/actors/resource"
)

// Fulfillment is the store of the fulfillment schema: claims (holds and the slots of
// appointments), appointments, busy time and sync jobs. Only resource actors write it,
// each for its own resource, through the batching resource.Writer.
type Fulfillment struct {
	pool *pgxpool.Pool
}

var _ resource.Store = (*Fulfillment)(nil)

// NewFulfillment returns the fulfillment store.
func NewFulfillment(pool *pgxpool.Pool) *Fulfillment { return &Fulfillment{pool: pool} }

// resourceKey finds the overlap guard's key of resource ($1 tenant, $2 resource).
const resourceKey = `(SELECT key FROM fulfillment.resources WHERE tenant_id = $1 AND id = $2)`

const claimColumns = `c.id, c.tenant_id, c.resource_id, c.service_id, c.starts_at, c.ends_at, c.status,
	c.expires_at, c.customer_phone, c.customer_name, c.customer_endpoint, c.quote`

func scanClaim(row pgx.Row, extra ...any) (resource.Claim, error) {
	var cl resource.Claim
	var expires *time.Time
	dest := append([]any{&cl.ID, &cl.TenantID, &cl.ResourceID, &cl.ServiceID, &cl.Start, &cl.End, &cl.Status,
		&expires, &cl.Customer.Phone, &cl.Customer.Name, &cl.Customer.Endpoint, &cl.Quote}, extra...)
	if err := row.Scan(dest...); err != nil {
		return cl, err
	}
	if expires != nil {
		cl.ExpiresAt = *expires
	}
	cl.Start, cl.End, cl.ExpiresAt = cl.Start.UTC(), cl.End.UTC(), cl.ExpiresAt.UTC()
	return cl, nil
}

// Load expires the resource's run-out holds and reads its live claims and busy time, in
// one round trip.
func (f *Fulfillment) Load(ctx context.Context, tenantID, resourceID string, now time.Time) (resource.Snapshot, error) {
	var snap resource.Snapshot
	err := pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`UPDATE fulfillment.claims SET status = 'expired', updated_at = $3
			WHERE resource_key = `+resourceKey+` AND status = 'held' AND expires_at <= $3`, tenantID, resourceID, now)
		b.Queue(`SELECT `+claimColumns+`, a.id FROM fulfillment.claims c
			LEFT JOIN fulfillment.appointments a ON a.claim_id = c.id
			WHERE c.resource_key = `+resourceKey+` AND c.status IN ('held', 'booked') AND c.ends_at > $3`,
			tenantID, resourceID, now)
		b.Queue(`SELECT starts_at, ends_at FROM fulfillment.busy_blocks
			WHERE tenant_id = $1 AND resource_id = $2 AND ends_at > $3`, tenantID, resourceID, now)
		b.Queue(`SELECT last_ok_at FROM fulfillment.calendar_reads WHERE tenant_id = $1 AND resource_id = $2`, tenantID, resourceID)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			var appt *uuid.UUID
			cl, err := scanClaim(rows, &appt)
			if err != nil {
				return err
			}
			if appt != nil {
				cl.AppointmentID = *appt
			}
			snap.Claims = append(snap.Claims, cl)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = br.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			var iv resource.Interval
			if err := rows.Scan(&iv.Start, &iv.End); err != nil {
				return err
			}
			snap.Busy = append(snap.Busy, iv)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		var readAt *time.Time
		if err := br.QueryRow().Scan(&readAt); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if readAt != nil {
			snap.CalendarReadAt = *readAt
		}
		return br.Close()
	})
	if err != nil {
		return resource.Snapshot{}, fmt.Errorf("load %s/%s: %w", tenantID, resourceID, err)
	}
	return snap, nil
}

// Commit runs writes in order in one transaction. If that transaction fails (a reschedule
// refused by the overlap guard aborts it, say), each write is retried in a transaction of
// its own, so one bad write never fails the others.
func (f *Fulfillment) Commit(ctx context.Context, writes []resource.Write) []resource.WriteResult {
	results := make([]resource.WriteResult, len(writes))
	err := f.commit(ctx, writes, results)
	if err == nil {
		return results
	}
	if len(writes) == 1 {
		results[0] = failed(err)
		return results
	}
	for i := range writes {
		if err := f.commit(ctx, writes[i:i+1], results[i:i+1]); err != nil {
			results[i] = failed(err)
		}
	}
	return results
}

// failed turns a transaction error into the write's outcome: an exclusion violation is a
// conflict (an overlapping live claim exists), anything else a failure.
func failed(err error) resource.WriteResult {
	if IsCode(err, pgerrcode.ExclusionViolation) {
		return resource.WriteResult{Outcome: resource.Conflict}
	}
	return resource.WriteResult{Outcome: resource.Failed, Err: err}
}

// commit runs writes in one transaction: one pipelined batch, which Postgres runs as one
// implicit transaction (all or nothing, one round trip, no BEGIN/COMMIT of its own).
// Consecutive holds become one multi-row INSERT (the common case under load); other writes
// keep their place in order. The rare outcomes the batch cannot decide alone (a hold id
// that already existed, a cancel repeated) are read afterwards.
func (f *Fulfillment) commit(ctx context.Context, writes []resource.Write, results []resource.WriteResult) error {
	b := &pgx.Batch{}
	var readers []func(pgx.BatchResults) error
	for i := 0; i < len(writes); {
		j := i
		for j < len(writes) && isInsertHold(writes[j]) {
			j++
		}
		if j-i > 1 {
			readers = append(readers, queueHolds(b, writes[i:j], results[i:j]))
			i = j
			continue
		}
		readers = append(readers, queue(b, writes[i], &results[i]))
		i++
	}
	br := f.pool.SendBatch(ctx, b)
	for _, read := range readers {
		if err := read(br); err != nil {
			br.Close()
			return err
		}
	}
	if err := br.Close(); err != nil {
		return err
	}
	for i, w := range writes {
		if err := followUp(ctx, f.pool, w, &results[i]); err != nil {
			return err
		}
	}
	return nil
}

func isInsertHold(w resource.Write) bool {
	_, ok := w.(*resource.InsertHold)
	return ok
}

// queueHolds inserts several holds with one statement. ON CONFLICT DO NOTHING skips a row
// whose id exists (a replay) or that overlaps a live claim; followUp tells which.
func queueHolds(b *pgx.Batch, writes []resource.Write, results []resource.WriteResult) func(pgx.BatchResults) error {
	n := len(writes)
	ids := make([]uuid.UUID, n)
	tenants, resources, services, phones, names, quotes := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	endpoints := make([]string, n)
	starts, ends, expires := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	for i, w := range writes {
		c := w.(*resource.InsertHold).Claim
		q, _ := json.Marshal(c.Quote) // two plain fields: cannot fail
		ids[i], tenants[i], resources[i], services[i] = c.ID, c.TenantID, c.ResourceID, c.ServiceID
		starts[i], ends[i], expires[i] = c.Start, c.End, c.ExpiresAt
		phones[i], names[i], quotes[i], endpoints[i] = c.Customer.Phone, c.Customer.Name, string(q), c.Customer.Endpoint
	}
	b.Queue(`INSERT INTO fulfillment.claims (id, tenant_id, resource_id, resource_key, service_id, starts_at, ends_at, status,
			expires_at, customer_phone, customer_name, customer_endpoint, quote, created_at, updated_at)
		SELECT t.id, t.tenant_id, t.resource_id, r.key, t.service_id, t.starts_at, t.ends_at, 'held', t.expires_at, t.phone, t.name, t.endpoint, t.quote::jsonb, now(), now()
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[],
			$8::text[], $9::text[], $10::text[], $11::text[]) AS t(id, tenant_id, resource_id, service_id, starts_at, ends_at, expires_at, phone, name, quote, endpoint)
		JOIN fulfillment.resources r ON r.tenant_id = t.tenant_id AND r.id = t.resource_id
		ON CONFLICT DO NOTHING
		RETURNING id`, ids, tenants, resources, services, starts, ends, expires, phones, names, quotes, endpoints)
	return func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		inserted, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		done := make(map[uuid.UUID]bool, len(inserted))
		for _, id := range inserted {
			done[id] = true
		}
		for i, id := range ids {
			if done[id] {
				results[i] = resource.WriteResult{Outcome: resource.Done}
			} else {
				results[i] = resource.WriteResult{Outcome: resource.Conflict} // or Duplicate: see followUp
			}
		}
		return nil
	}
}

// queue adds w's statements to b and returns the function that reads their results.
func queue(b *pgx.Batch, w resource.Write, res *resource.WriteResult) func(pgx.BatchResults) error {
	switch w := w.(type) {
	case *resource.InsertHold:
		c := w.Claim
		// ON CONFLICT DO NOTHING absorbs both a duplicate id (a replayed idempotency key)
		// and an overlapping live claim; followUp tells them apart.
		b.Queue(`INSERT INTO fulfillment.claims (id, tenant_id, resource_id, resource_key, service_id, starts_at, ends_at, status,
				expires_at, customer_phone, customer_name, customer_endpoint, quote, created_at, updated_at)
			SELECT $1, $2, $3, r.key, $4, $5, $6, 'held', $7, $8, $9, $11, $10, now(), now()
			FROM fulfillment.resources r WHERE r.tenant_id = $2 AND r.id = $3
			ON CONFLICT DO NOTHING`,
			c.ID, c.TenantID, c.ResourceID, c.ServiceID, c.Start, c.End, c.ExpiresAt, c.Customer.Phone, c.Customer.Name, c.Quote, c.Customer.Endpoint)
		return func(br pgx.BatchResults) error {
			tag, err := br.Exec()
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				*res = resource.WriteResult{Outcome: resource.Done}
			} else {
				*res = resource.WriteResult{Outcome: resource.Conflict} // or Duplicate: see followUp
			}
			return nil
		}
	case *resource.EndHold:
		b.Queue(`UPDATE fulfillment.claims SET status = $2, updated_at = $3 WHERE id = $1 AND status = 'held'`, w.ID, string(w.Status), w.At)
		return func(br pgx.BatchResults) error {
			tag, err := br.Exec()
			if err != nil {
				return err
			}
			*res = resource.WriteResult{Outcome: resource.Done}
			if tag.RowsAffected() == 0 { // no longer held: ended before (the sweeper, another activation)
				*res = resource.WriteResult{Outcome: resource.Gone}
			}
			return nil
		}
	case *resource.Confirm:
		conns, provs := targets(w.Sync)
		rm := reminderArgs(w.Reminders)
		b.Queue(`
			WITH c AS (
				UPDATE fulfillment.claims SET status = 'booked', updated_at = $3
				WHERE id = $1 AND status = 'held' AND expires_at > $3
				RETURNING *
			), a AS (
				INSERT INTO fulfillment.appointments (id, tenant_id, resource_id, reservation_id, claim_id, status, created_at, updated_at)
				SELECT $2, tenant_id, resource_id, id, id, 'booked', $3, $3 FROM c
				RETURNING id, tenant_id, version
			), j AS (
				INSERT INTO fulfillment.sync_jobs (tenant_id, connection_id, provider, appointment_id, action)
				SELECT a.tenant_id, t.conn, t.prov, a.id, 'create' FROM a, unnest($4::text[], $5::text[]) AS t(conn, prov)
			), r AS (
				`+insertReminders+`
			)
			SELECT `+claimColumns+` FROM c`, w.HoldID, w.AppointmentID, w.At, conns, provs,
			rm.endpoint, rm.kinds, rm.offsets, rm.dues, rm.skipped)
		return func(br pgx.BatchResults) error {
			cl, err := scanClaim(br.QueryRow())
			if errors.Is(err, pgx.ErrNoRows) {
				*res = resource.WriteResult{Outcome: resource.Gone}
				return nil
			}
			if err != nil {
				return err
			}
			appt := appointmentOf(cl, w.AppointmentID, w.HoldID, "booked", 1)
			*res = resource.WriteResult{Outcome: resource.Done, Appointment: &appt}
			return nil
		}
	case *resource.Cancel:
		conns, provs := targets(w.Sync)
		b.Queue(`
			WITH a AS (
				UPDATE fulfillment.appointments SET status = 'cancelled', version = version + 1, updated_at = $4
				WHERE id = $1 AND tenant_id = $2 AND resource_id = $3 AND status = 'booked'
				RETURNING id, tenant_id, claim_id, reservation_id, version
			), c AS (
				UPDATE fulfillment.claims cl SET status = 'cancelled', updated_at = $4
				FROM a WHERE cl.id = a.claim_id
				RETURNING cl.*
			), j AS (
				INSERT INTO fulfillment.sync_jobs (tenant_id, connection_id, provider, appointment_id, action)
				SELECT a.tenant_id, t.conn, t.prov, a.id, 'delete' FROM a, unnest($5::text[], $6::text[]) AS t(conn, prov)
			), r AS (
				UPDATE fulfillment.reminders SET state = 'cancelled', updated_at = $4
				WHERE appointment_id = (SELECT id FROM a) AND state IN ('pending', 'claimed')
			)
			SELECT `+claimColumns+`, a.reservation_id, a.version FROM c, a`, w.AppointmentID, w.TenantID, w.ResourceID, w.At, conns, provs)
		return func(br pgx.BatchResults) error {
			var reservation uuid.UUID
			var version int64
			cl, err := scanClaim(br.QueryRow(), &reservation, &version)
			if errors.Is(err, pgx.ErrNoRows) {
				*res = resource.WriteResult{Outcome: resource.Gone} // or cancelled before: see followUp
				return nil
			}
			if err != nil {
				return err
			}
			appt := appointmentOf(cl, w.AppointmentID, reservation, "cancelled", version)
			*res = resource.WriteResult{Outcome: resource.Done, Appointment: &appt}
			return nil
		}
	case *resource.Reschedule:
		c := w.New
		conns, provs := targets(w.Sync)
		// Three statements in this order: free the old slot, claim the new one (a plain
		// INSERT: an overlap aborts the whole transaction, so the old slot is never freed
		// without the new one held), then point the appointment at the new claim.
		b.Queue(`UPDATE fulfillment.claims SET status = 'released', updated_at = $2
			WHERE id = (SELECT claim_id FROM fulfillment.appointments WHERE id = $1 AND status = 'booked') AND status = 'booked'`,
			w.AppointmentID, w.At)
		b.Queue(`INSERT INTO fulfillment.claims (id, tenant_id, resource_id, resource_key, service_id, starts_at, ends_at, status,
				expires_at, customer_phone, customer_name, customer_endpoint, quote, created_at, updated_at)
			SELECT $2, $3, $4, r.key, $5, $6, $7, 'booked', NULL, $8, $9, $12, $10, $11, $11
			FROM fulfillment.appointments a JOIN fulfillment.resources r ON r.tenant_id = $3 AND r.id = $4
			WHERE a.id = $1 AND a.status = 'booked'`,
			w.AppointmentID, c.ID, c.TenantID, c.ResourceID, c.ServiceID, c.Start, c.End, c.Customer.Phone, c.Customer.Name, c.Quote, w.At, c.Customer.Endpoint)
		// The new time needs its own confirmation; the old time's reminders not yet sent
		// are replaced by the new time's, in this transaction.
		rm := reminderArgs(w.Reminders)
		b.Queue(`
			WITH a AS (
				UPDATE fulfillment.appointments SET claim_id = $2, version = version + 1, updated_at = $3,
					confirmed_at = NULL, unconfirmed_at = NULL
				WHERE id = $1 AND status = 'booked'
				RETURNING id, tenant_id, reservation_id, version
			), j AS (
				INSERT INTO fulfillment.sync_jobs (tenant_id, connection_id, provider, appointment_id, action)
				SELECT a.tenant_id, t.conn, t.prov, a.id, 'update' FROM a, unnest($4::text[], $5::text[]) AS t(conn, prov)
			), old AS (
				UPDATE fulfillment.reminders SET state = 'replaced', updated_at = $3
				WHERE appointment_id = (SELECT id FROM a) AND state IN ('pending', 'claimed')
			), c AS (
				SELECT * FROM fulfillment.claims WHERE id = $2
			), r AS (
				`+insertReminders+`
			)
			SELECT reservation_id, version FROM a`, w.AppointmentID, c.ID, w.At, conns, provs,
			rm.endpoint, rm.kinds, rm.offsets, rm.dues, rm.skipped)
		return func(br pgx.BatchResults) error {
			if _, err := br.Exec(); err != nil {
				return err
			}
			if _, err := br.Exec(); err != nil {
				return err
			}
			var reservation uuid.UUID
			var version int64
			err := br.QueryRow().Scan(&reservation, &version)
			if errors.Is(err, pgx.ErrNoRows) {
				*res = resource.WriteResult{Outcome: resource.Gone}
				return nil
			}
			if err != nil {
				return err
			}
			appt := appointmentOf(c, w.AppointmentID, reservation, "booked", version)
			*res = resource.WriteResult{Outcome: resource.Done, Appointment: &appt}
			return nil
		}
	case *resource.MarkConfirmed:
		conns, provs := targets(w.Sync)
		b.Queue(`
			WITH a AS (
				UPDATE fulfillment.appointments SET confirmed_at = $4, unconfirmed_at = NULL, updated_at = $4
				WHERE id = $1 AND tenant_id = $2 AND resource_id = $3 AND status = 'booked' AND confirmed_at IS NULL
				RETURNING id, tenant_id
			), j AS (
				INSERT INTO fulfillment.sync_jobs (tenant_id, connection_id, provider, appointment_id, action)
				SELECT a.tenant_id, t.conn, t.prov, a.id, 'update' FROM a, unnest($5::text[], $6::text[]) AS t(conn, prov)
			)
			SELECT count(*) FROM a`, w.AppointmentID, w.TenantID, w.ResourceID, w.At, conns, provs)
		return markRead(res)
	case *resource.MarkUnconfirmed:
		b.Queue(`UPDATE fulfillment.appointments SET unconfirmed_at = $5, updated_at = $5
			WHERE id = $1 AND tenant_id = $2 AND resource_id = $3 AND version = $4 AND status = 'booked'
				AND confirmed_at IS NULL AND unconfirmed_at IS NULL
			RETURNING 1`, w.AppointmentID, w.TenantID, w.ResourceID, w.Version, w.At)
		return markRead(res)
	}
	panic(fmt.Sprintf("persistence: unknown write %T", w))
}

// followUp completes the outcome of writes the batch could not decide alone. It only
// reads rows that, once written, never change back, so reading after the commit is exact.
func followUp(ctx context.Context, q querier, w resource.Write, res *resource.WriteResult) error {
	switch w := w.(type) {
	case *resource.InsertHold:
		if res.Outcome != resource.Conflict {
			return nil
		}
		// Nothing inserted: a claim with this id already exists (a replay), or an overlapping
		// live claim refused it.
		cl, err := findClaim(ctx, q, w.Claim.TenantID, w.Claim.ID)
		if errors.Is(err, resource.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		*res = resource.WriteResult{Outcome: resource.Duplicate, Claim: &cl}
	case *resource.MarkConfirmed:
		appt, err := findAppointment(ctx, q, w.TenantID, w.AppointmentID)
		switch {
		case errors.Is(err, resource.ErrNotFound):
			*res = resource.WriteResult{Outcome: resource.Gone}
		case err != nil:
			return err
		case appt.ResourceID != w.ResourceID || appt.Status != "booked":
			*res = resource.WriteResult{Outcome: resource.Gone}
		case res.Outcome == resource.Done:
			res.Appointment = &appt
		case !appt.ConfirmedAt.IsZero():
			*res = resource.WriteResult{Outcome: resource.Done, Appointment: &appt, Replayed: true} // confirmed before
		}
	case *resource.MarkUnconfirmed:
		appt, err := findAppointment(ctx, q, w.TenantID, w.AppointmentID)
		switch {
		case errors.Is(err, resource.ErrNotFound):
			*res = resource.WriteResult{Outcome: resource.Gone}
		case err != nil:
			return err
		case res.Outcome == resource.Done:
			res.Appointment = &appt
		case appt.Status == "booked" && appt.Version == w.Version && appt.ConfirmedAt.IsZero() && !appt.UnconfirmedAt.IsZero():
			*res = resource.WriteResult{Outcome: resource.Done, Appointment: &appt, Replayed: true} // flagged before
		}
	case *resource.Cancel:
		if res.Outcome != resource.Gone {
			return nil
		}
		appt, err := findAppointment(ctx, q, w.TenantID, w.AppointmentID)
		if err == nil && appt.ResourceID == w.ResourceID && appt.Status == "cancelled" {
			// Cancelled before: answered as done again, but nothing changed now.
			*res = resource.WriteResult{Outcome: resource.Done, Appointment: &appt, Replayed: true}
			return nil
		}
		if err != nil && !errors.Is(err, resource.ErrNotFound) {
			return err
		}
	}
	return nil
}

// insertReminders writes a reminder plan (parameters $6 to $10, see reminderArgs) for the
// appointment of CTE a at the claim of CTE c; a tenant without a number ($6 ”) has none.
const insertReminders = `INSERT INTO fulfillment.reminders (appointment_id, version, kind, offset_seconds, tenant_id, resource_id,
			endpoint, customer_phone, due_at, state, reason)
		SELECT a.id, a.version, t.kind, t.off, a.tenant_id, c.resource_id, $6, c.customer_phone, t.due,
			CASE WHEN t.skipped = '' THEN 'pending' ELSE 'skipped' END, NULLIF(t.skipped, '')
		FROM a, c, unnest($7::text[], $8::bigint[], $9::timestamptz[], $10::text[]) AS t(kind, off, due, skipped)
		WHERE $6 <> ''
		ON CONFLICT DO NOTHING`

// reminderPlanArgs are a ReminderPlan as the columns of insertReminders.
type reminderPlanArgs struct {
	endpoint       string
	kinds, skipped []string
	offsets        []int64
	dues           []time.Time
}

func reminderArgs(p resource.ReminderPlan) reminderPlanArgs {
	a := reminderPlanArgs{endpoint: p.Endpoint, kinds: []string{}, skipped: []string{}, offsets: []int64{}, dues: []time.Time{}}
	for _, r := range p.Rows {
		a.kinds = append(a.kinds, r.Kind)
		a.offsets = append(a.offsets, int64(r.Offset/time.Second))
		a.dues = append(a.dues, r.Due)
		a.skipped = append(a.skipped, r.Skipped)
	}
	return a
}

// markRead reads whether a MarkConfirmed or MarkUnconfirmed changed the appointment;
// followUp completes the answer.
func markRead(res *resource.WriteResult) func(pgx.BatchResults) error {
	return func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				return err
			}
			n += int(v)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		*res = resource.WriteResult{Outcome: resource.Gone}
		if n > 0 {
			*res = resource.WriteResult{Outcome: resource.Done}
		}
		return nil
	}
}

func targets(ts []resource.SyncTarget) (conns, provs []string) {
	conns, provs = make([]string, len(ts)), make([]string, len(ts))
	for i, t := range ts {
		conns[i], provs[i] = t.ConnectionID, t.Provider
	}
	return conns, provs
}

func appointmentOf(cl resource.Claim, id, reservation uuid.UUID, status string, version int64) resource.Appointment {
	return resource.Appointment{
		ID: id, TenantID: cl.TenantID, ResourceID: cl.ResourceID, ServiceID: cl.ServiceID,
		ReservationID: reservation, ClaimID: cl.ID, Start: cl.Start, End: cl.End, Status: status,
		Customer: cl.Customer, Quote: cl.Quote, Version: version,
	}
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// FindClaim returns a tenant's claim with the appointment it became, if any.
func (f *Fulfillment) FindClaim(ctx context.Context, tenantID string, id uuid.UUID) (resource.Claim, error) {
	return findClaim(ctx, f.pool, tenantID, id)
}

func findClaim(ctx context.Context, q querier, tenantID string, id uuid.UUID) (resource.Claim, error) {
	var appt *uuid.UUID
	cl, err := scanClaim(q.QueryRow(ctx, `SELECT `+claimColumns+`, a.id FROM fulfillment.claims c
		LEFT JOIN fulfillment.appointments a ON a.reservation_id = c.id
		WHERE c.tenant_id = $1 AND c.id = $2`, tenantID, id), &appt)
	if errors.Is(err, pgx.ErrNoRows) {
		return cl, resource.ErrNotFound
	}
	if appt != nil {
		cl.AppointmentID = *appt
	}
	return cl, err
}

// FindAppointment returns a tenant's appointment at its current claim.
func (f *Fulfillment) FindAppointment(ctx context.Context, tenantID string, id uuid.UUID) (resource.Appointment, error) {
	return findAppointment(ctx, f.pool, tenantID, id)
}

func findAppointment(ctx context.Context, q querier, tenantID string, id uuid.UUID) (resource.Appointment, error) {
	var reservation uuid.UUID
	var status string
	var version int64
	var confirmed, unconfirmed *time.Time
	cl, err := scanClaim(q.QueryRow(ctx, `SELECT `+claimColumns+`, a.reservation_id, a.status, a.version, a.confirmed_at, a.unconfirmed_at
		FROM fulfillment.appointments a JOIN fulfillment.claims c ON c.id = a.claim_id
		WHERE a.tenant_id = $1 AND a.id = $2`, tenantID, id), &reservation, &status, &version, &confirmed, &unconfirmed)
	if errors.Is(err, pgx.ErrNoRows) {
		return resource.Appointment{}, resource.ErrNotFound
	}
	if err != nil {
		return resource.Appointment{}, err
	}
	appt := appointmentOf(cl, id, reservation, status, version)
	appt.ConfirmedAt, appt.UnconfirmedAt = utcOrZero(confirmed), utcOrZero(unconfirmed)
	return appt, nil
}

// utcOrZero reads a nullable timestamptz.
func utcOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// Appointment is FindAppointment under the name the console's interface gives it.
func (f *Fulfillment) Appointment(ctx context.Context, tenantID string, id uuid.UUID) (resource.Appointment, error) {
	return f.FindAppointment(ctx, tenantID, id)
}

// SyncState is the state of an appointment's sync to one connection (its newest job).
type SyncState struct {
	ConnectionID string `json:"connection_id"`
	Provider     string `json:"provider"`
	Action       string `json:"action"`
	State        string `json:"state"`
	Attempts     int    `json:"attempts"`
	LastError    string `json:"last_error,omitempty"`
}

// AppointmentView is an appointment with the state of its vendor syncs.
type AppointmentView struct {
	resource.Appointment
	Sync []SyncState
}

// Appointments lists a tenant's appointments starting in [from, to), with the state of
// their newest sync job per connection.
func (f *Fulfillment) Appointments(ctx context.Context, tenantID string, from, to time.Time) ([]AppointmentView, error) {
	rows, err := f.pool.Query(ctx, `SELECT `+claimColumns+`, a.id, a.reservation_id, a.status, a.version, a.confirmed_at, a.unconfirmed_at,
			COALESCE((SELECT jsonb_agg(jsonb_build_object('connection_id', j.connection_id, 'provider', j.provider,
				'action', j.action, 'state', j.state, 'attempts', j.attempts, 'last_error', COALESCE(j.last_error, '')))
				FROM (SELECT DISTINCT ON (connection_id) * FROM fulfillment.sync_jobs
					WHERE appointment_id = a.id ORDER BY connection_id, seq DESC) j), '[]'::jsonb)
		FROM fulfillment.appointments a JOIN fulfillment.claims c ON c.id = a.claim_id
		WHERE a.tenant_id = $1 AND c.starts_at >= $2 AND c.starts_at < $3
		ORDER BY c.starts_at, a.id`, tenantID, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AppointmentView
	for rows.Next() {
		var id, reservation uuid.UUID
		var status string
		var version int64
		var v AppointmentView
		var confirmed, unconfirmed *time.Time
		cl, err := scanClaim(rows, &id, &reservation, &status, &version, &confirmed, &unconfirmed, &v.Sync)
		if err != nil {
			return nil, err
		}
		v.Appointment = appointmentOf(cl, id, reservation, status, version)
		v.ConfirmedAt, v.UnconfirmedAt = utcOrZero(confirmed), utcOrZero(unconfirmed)
		out = append(out, v)
	}
	return out, rows.Err()
}

// ExpireStale marks expired every hold whose time ran out: the backstop for holds whose
// actor died with the process (a running actor expires its own on time).
func (f *Fulfillment) ExpireStale(ctx context.Context, now time.Time) (int64, error) {
	tag, err := f.pool.Exec(ctx, `UPDATE fulfillment.claims SET status = 'expired', updated_at = $1
		WHERE status = 'held' AND expires_at <= $1`, now)
	return tag.RowsAffected(), err
}

// ResourceIDs lists the active resources of a tenant offering serviceID ("" for all).
func (f *Fulfillment) ResourceIDs(ctx context.Context, tenantID, serviceID string) ([]string, error) {
	rows, err := f.pool.Query(ctx, `SELECT id FROM fulfillment.resources
		WHERE tenant_id = $1 AND active AND ($2 = '' OR $2 = ANY(services)) ORDER BY id`, tenantID, serviceID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
