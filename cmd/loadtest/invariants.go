package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"ringback/tenant"
)

// Invariant is one correctness check of the run, read from Postgres after the load (or
// observed by the harness at its fakes).
type Invariant struct {
	Name       string           `json:"name"`
	OK         bool             `json:"ok"`
	Checked    int64            `json:"checked"`    // rows (or events) examined
	Violations int64            `json:"violations"` // how many broke it
	Examples   []string         `json:"examples,omitempty"`
	Outcomes   map[string]int64 `json:"outcomes,omitempty"` // what the checked rows came to, by kind
}

// maxExamples bounds the violations an invariant lists.
const maxExamples = 5

func (inv *Invariant) violate(example string) {
	inv.Violations++
	if len(inv.Examples) < maxExamples {
		inv.Examples = append(inv.Examples, example)
	}
}

func (inv *Invariant) count(kind string) {
	if inv.Outcomes == nil {
		inv.Outcomes = map[string]int64{}
	}
	inv.Outcomes[kind]++
}

func (inv *Invariant) done() Invariant {
	inv.OK = inv.Violations == 0
	return *inv
}

// invariantScope limits the per-webhook checks to this run.
type invariantScope struct {
	since    time.Time // webhooks received at or after
	tenants  []string  // of these tenants
	cooldown time.Duration
}

// checkInvariants runs the checks read from Postgres.
func checkInvariants(ctx context.Context, pool *pgxpool.Pool, scope invariantScope) ([]Invariant, error) {
	var out []Invariant
	for _, check := range []func(context.Context, *pgxpool.Pool, invariantScope) (Invariant, error){
		checkNoOverlaps, checkMissedCallReplies, checkNoSMSAfterOptOut,
	} {
		inv, err := check(ctx, pool, scope)
		if err != nil {
			return out, err
		}
		out = append(out, inv)
	}
	return out, nil
}

const liveStatuses = `('held', 'booked')`

// checkNoOverlaps: no two live claims (held or booked) of one resource overlap, across the
// whole database. The exclusion constraint should make this impossible; the check is what
// says so after a run rather than assuming it (and catches a dropped constraint). The
// join is written so the constraint's GiST index serves it.
func checkNoOverlaps(ctx context.Context, pool *pgxpool.Pool, _ invariantScope) (Invariant, error) {
	inv := Invariant{Name: "no overlapping live claims"}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM fulfillment.claims WHERE status IN `+liveStatuses).Scan(&inv.Checked); err != nil {
		return inv, fmt.Errorf("invariant %q: %w", inv.Name, err)
	}
	rows, err := pool.Query(ctx, `
		SELECT a.tenant_id, a.resource_id, a.id::text, a.starts_at, a.ends_at, a.status, b.id::text, b.starts_at, b.ends_at, b.status
		FROM fulfillment.claims a
		JOIN fulfillment.claims b ON b.resource_key = a.resource_key
			AND tstzrange(b.starts_at, b.ends_at, '[)') && tstzrange(a.starts_at, a.ends_at, '[)')
			AND b.status IN `+liveStatuses+` AND a.id < b.id
		WHERE a.status IN `+liveStatuses+`
		ORDER BY a.tenant_id, a.resource_id, a.starts_at
		LIMIT 10000`)
	if err != nil {
		return inv, fmt.Errorf("invariant %q: %w", inv.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var tenantID, resourceID, aID, aStatus, bID, bStatus string
		var aStart, aEnd, bStart, bEnd time.Time
		if err := rows.Scan(&tenantID, &resourceID, &aID, &aStart, &aEnd, &aStatus, &bID, &bStart, &bEnd, &bStatus); err != nil {
			return inv, err
		}
		inv.violate(fmt.Sprintf("%s/%s: claim %s (%s, %s–%s) overlaps claim %s (%s, %s–%s)", tenantID, resourceID,
			aID, aStatus, aStart.UTC().Format(time.RFC3339), aEnd.UTC().Format("15:04"),
			bID, bStatus, bStart.UTC().Format(time.RFC3339), bEnd.UTC().Format("15:04")))
	}
	if err := rows.Err(); err != nil {
		return inv, err
	}
	return inv.done(), nil
}

// checkMissedCallReplies: every accepted missed-call webhook of the run was processed and
// produced exactly one auto-reply (the outbox row the conversation wrote for it, keyed by
// the webhook's envelope, or by its quiet-hours deferral), handed to the provider (not
// left pending), or has a reason recorded in
// Postgres for having none: the caller had opted out, got an auto-reply inside the
// cooldown, is deferred to the end of quiet hours, or cannot be texted. The engine logs
// the reason of a suppression but does not store it, so the reason is read back from the
// state that caused it.
func checkMissedCallReplies(ctx context.Context, pool *pgxpool.Pool, scope invariantScope) (Invariant, error) {
	inv := Invariant{Name: "every accepted missed call got exactly one auto-reply or a recorded reason"}
	rows, err := pool.Query(ctx, `
		WITH e AS (
			SELECT e.key, e.received_at, e.processed_at, e.payload->>'from' AS caller, e.payload->>'to' AS business,
				(SELECT count(*) FROM conversation.deliveries d
					WHERE d.client_message_id IN (e.key || '#0', 'quiet:' || e.key || '#0') AND d.kind = 'auto_reply') AS replies,
				(SELECT min(d.status) FROM conversation.deliveries d
					WHERE d.client_message_id IN (e.key || '#0', 'quiet:' || e.key || '#0') AND d.kind = 'auto_reply') AS status
			FROM conversation.webhook_envelopes e
			WHERE e.kind = 'missed-call' AND e.received_at >= $1 AND e.tenant_id = ANY($2))
		SELECT key, received_at, processed_at IS NOT NULL, caller, business, replies, COALESCE(status, ''),
			CASE WHEN replies = 0 THEN EXISTS (SELECT 1 FROM conversation.opt_outs o
				WHERE o.endpoint = business AND o.customer_phone = caller AND o.opted_out_at <= COALESCE(processed_at, now())) END,
			CASE WHEN replies = 0 THEN EXISTS (SELECT 1 FROM conversation.deliveries d
				WHERE d.kind = 'auto_reply' AND d.from_number = business AND d.to_number = caller
				  AND d.created_at <= COALESCE(processed_at, now()) AND d.created_at > received_at - $3::float8 * interval '1 second') END,
			CASE WHEN replies = 0 THEN EXISTS (SELECT 1 FROM conversation.conversations c
				WHERE c.endpoint = business AND c.customer_phone = caller AND c.data->'deferred'->>'envelope_key' = key) END
		FROM e`, scope.since, scope.tenants, scope.cooldown.Seconds())
	if err != nil {
		return inv, fmt.Errorf("invariant %q: %w", inv.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, caller, business, status string
		var received time.Time
		var processed bool
		var replies int64
		var optedOut, cooldown, deferred *bool
		if err := rows.Scan(&key, &received, &processed, &caller, &business, &replies, &status, &optedOut, &cooldown, &deferred); err != nil {
			return inv, err
		}
		inv.Checked++
		what := fmt.Sprintf("%s (%s → %s, received %s)", key, tenant.MaskPhone(caller), business, received.UTC().Format(time.RFC3339Nano))
		switch {
		case !processed:
			inv.violate(what + ": never processed")
		case replies > 1:
			inv.violate(fmt.Sprintf("%s: %d auto-replies", what, replies))
		case replies == 1 && (status == "pending" || status == "sending"):
			// Checked after the drain (and, for an engine the harness started, after it
			// stopped): an auto-reply decided but never handed to the provider did not reach
			// the caller.
			inv.violate(fmt.Sprintf("%s: auto-reply still %s after the run: never sent", what, status))
		case replies == 1:
			inv.count("auto-reply " + status)
		case tenant.PhoneProblem(caller) != "":
			inv.count("no reply: caller cannot be texted")
		case isTrue(optedOut):
			inv.count("no reply: opted out")
		case isTrue(cooldown):
			inv.count("no reply: inside the cooldown")
		case isTrue(deferred):
			inv.count("no reply yet: deferred to the end of quiet hours")
		default:
			inv.violate(what + ": no auto-reply and no reason")
		}
	}
	if err := rows.Err(); err != nil {
		return inv, err
	}
	return inv.done(), nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// checkNoSMSAfterOptOut: nothing but the opt-out confirmation went to a number from a
// business number it had opted out of, after the opt-out: no outbox row written after it
// was handed to the provider (queued, sent, delivered, failed… anything but pending or
// suppressed). A message decided before the opt-out is suppressed by the outbox when it
// is claimed; the harness also checks at its fake that none arrives (conversations).
func checkNoSMSAfterOptOut(ctx context.Context, pool *pgxpool.Pool, _ invariantScope) (Invariant, error) {
	inv := Invariant{Name: "no SMS to an opted-out number"}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM conversation.opt_outs`).Scan(&inv.Checked); err != nil {
		return inv, fmt.Errorf("invariant %q: %w", inv.Name, err)
	}
	rows, err := pool.Query(ctx, `
		SELECT d.client_message_id, d.from_number, d.to_number, d.kind, d.status, d.created_at, o.opted_out_at
		FROM conversation.opt_outs o
		JOIN conversation.deliveries d ON d.from_number = o.endpoint AND d.to_number = o.customer_phone
		WHERE d.kind <> 'compliance' AND d.status NOT IN ('pending', 'suppressed') AND d.created_at > o.opted_out_at
		ORDER BY d.created_at
		LIMIT 10000`)
	if err != nil {
		return inv, fmt.Errorf("invariant %q: %w", inv.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, from, to, kind, status string
		var created, optedOut time.Time
		if err := rows.Scan(&id, &from, &to, &kind, &status, &created, &optedOut); err != nil {
			return inv, err
		}
		inv.violate(fmt.Sprintf("%s %s → %s (%s, %s) written %s, opted out %s", kind, from, tenant.MaskPhone(to), id, status,
			created.UTC().Format(time.RFC3339Nano), optedOut.UTC().Format(time.RFC3339Nano)))
	}
	if err := rows.Err(); err != nil {
		return inv, err
	}
	return inv.done(), nil
}
