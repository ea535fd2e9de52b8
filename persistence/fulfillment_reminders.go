package persistence

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"ringback/actors/resource"
	"ringback/reminders"
)

// Reminders is the scheduler's view of fulfillment.reminders: the rows the appointment
// changes wrote (see insertReminders), claimed when due and finished once handed over.
type Reminders struct{ f *Fulfillment }

var _ reminders.Store = Reminders{}

// Reminders returns the reminder store on the same pool.
func (f *Fulfillment) Reminders() Reminders { return Reminders{f: f} }

// ClaimDue claims the oldest due reminders, and those whose claim lapsed, with the
// appointment as it is now. SKIP LOCKED lets schedulers on several nodes claim side by
// side without waiting on, or taking, each other's rows.
func (r Reminders) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]reminders.Claimed, error) {
	rows, err := r.f.pool.Query(ctx, `
		WITH due AS (
			SELECT appointment_id, version, kind, offset_seconds FROM fulfillment.reminders
			WHERE state IN ('pending', 'claimed') AND due_at <= $1 AND (state = 'pending' OR claimed_until <= $1)
			ORDER BY due_at
			LIMIT $3
			FOR UPDATE SKIP LOCKED
		), r AS (
			UPDATE fulfillment.reminders r SET state = 'claimed', claimed_until = $2, attempts = r.attempts + 1, updated_at = $1
			FROM due
			WHERE (r.appointment_id, r.version, r.kind, r.offset_seconds) = (due.appointment_id, due.version, due.kind, due.offset_seconds)
			RETURNING r.*
		)
		SELECT r.appointment_id, r.version, r.kind, r.offset_seconds, r.tenant_id, r.resource_id, r.endpoint, r.customer_phone, r.due_at,
			a.status = 'booked' AND a.version = r.version, c.service_id, c.starts_at, c.ends_at, c.quote, a.confirmed_at,
			EXISTS (SELECT 1 FROM fulfillment.reminders s
				WHERE s.appointment_id = r.appointment_id AND s.version = r.version AND s.kind = 'reminder'
					AND s.state = 'sent' AND s.due_at < r.due_at)
		FROM r JOIN fulfillment.appointments a ON a.id = r.appointment_id JOIN fulfillment.claims c ON c.id = a.claim_id
		ORDER BY r.due_at`, now, now.Add(lease), limit)
	if err != nil {
		return nil, err
	}
	var out []reminders.Claimed
	var c reminders.Claimed
	var offset int64
	var quote resource.Quote
	var confirmed *time.Time
	_, err = pgx.ForEachRow(rows, []any{&c.AppointmentID, &c.Version, &c.Kind, &offset, &c.TenantID, &c.ResourceID, &c.Endpoint, &c.Phone,
		&c.Due, &c.Current, &c.ServiceID, &c.Start, &c.End, &quote, &confirmed, &c.Asked}, func() error {
		c.Offset = time.Duration(offset) * time.Second
		c.QuoteMinor, c.Currency = quote.AmountMinor, quote.Currency
		c.ConfirmedAt = utcOrZero(confirmed)
		c.Due, c.Start, c.End = c.Due.UTC(), c.Start.UTC(), c.End.UTC()
		out = append(out, c)
		c, confirmed = reminders.Claimed{}, nil
		return nil
	})
	return out, err
}

// Finish records a claimed reminder's outcome. A row a reschedule replaced or a cancel
// cancelled meanwhile keeps that state.
func (r Reminders) Finish(ctx context.Context, k reminders.Key, o reminders.Outcome, at time.Time) error {
	state := "skipped"
	if o.Sent {
		state = "sent"
	}
	_, err := r.f.pool.Exec(ctx, `UPDATE fulfillment.reminders SET state = $5, reason = NULLIF($6, ''), claimed_until = NULL, updated_at = $7
		WHERE appointment_id = $1 AND version = $2 AND kind = $3 AND offset_seconds = $4 AND state = 'claimed'`,
		k.AppointmentID, k.Version, k.Kind, int64(k.Offset/time.Second), state, o.Reason, at)
	return err
}

// Overdue counts reminders due before `before` and not finished.
func (r Reminders) Overdue(ctx context.Context, before time.Time) (int, time.Time, error) {
	var n int
	var oldest *time.Time
	err := r.f.pool.QueryRow(ctx, `SELECT count(*), min(due_at) FROM fulfillment.reminders
		WHERE state IN ('pending', 'claimed') AND due_at < $1`, before).Scan(&n, &oldest)
	return n, utcOrZero(oldest), err
}
