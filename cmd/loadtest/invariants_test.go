package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"ringback/persistence/pgtest"
)

// plant writes rows straight into a fresh database, as the engine would have.
type plant struct {
	t    *testing.T
	pool *pgxpool.Pool
	now  time.Time
}

func (p plant) exec(sql string, args ...any) {
	p.t.Helper()
	_, err := p.pool.Exec(context.Background(), sql, args...)
	require.NoError(p.t, err)
}

// missedCall stores a processed missed-call envelope from caller to business.
func (p plant) missedCall(key, caller, business string, at time.Time) {
	p.exec(`INSERT INTO conversation.webhook_envelopes (key, source, kind, tenant_id, correlation_id, payload, received_at, processed_at)
		VALUES ($1, 'twilio', 'missed-call', 'lt-000', $1, $2, $3, $3)`, key, fmt.Sprintf(`{"from": %q, "to": %q}`, caller, business), at)
}

// sms writes an outbound message with its delivery (status, written at `at`).
func (p plant) sms(id, kind, status, from, to string, at time.Time) {
	conv := uuid.New()
	p.exec(`INSERT INTO conversation.conversations (id, tenant_id, endpoint, customer_phone, state) VALUES ($1, 'lt-000', $2, $3, 'idle')
		ON CONFLICT (endpoint, customer_phone) DO NOTHING`, conv, from, to)
	msg := uuid.New()
	p.exec(`INSERT INTO conversation.messages (id, conversation_id, tenant_id, direction, body, client_message_id)
		SELECT $1, id, 'lt-000', 'out', 'hello', $2 FROM conversation.conversations WHERE endpoint = $3 AND customer_phone = $4`, msg, id, from, to)
	p.exec(`INSERT INTO conversation.deliveries (client_message_id, message_id, tenant_id, from_number, to_number, body, kind, status, created_at)
		VALUES ($1, $2, 'lt-000', $3, $4, 'hello', $5, $6, $7)`, id, msg, from, to, kind, status, at)
}

func (p plant) optOut(business, caller string, at time.Time) {
	p.exec(`INSERT INTO conversation.opt_outs (endpoint, customer_phone, opted_out_at) VALUES ($1, $2, $3)`, business, caller, at)
}

func (p plant) claim(resourceKey int64, start time.Time, status string) {
	p.exec(`INSERT INTO fulfillment.claims (id, tenant_id, resource_id, resource_key, service_id, starts_at, ends_at, status, expires_at, customer_phone, quote)
		VALUES ($1, 'lt-000', 'r000', $2, 'visit', $3, $4, $5, $6, '+15125550100', '{}')`, uuid.New(), resourceKey, start, start.Add(time.Hour), status, p.now.Add(time.Hour))
}

func invariant(t *testing.T, invs []Invariant, name string) Invariant {
	t.Helper()
	for _, inv := range invs {
		if inv.Name == name {
			return inv
		}
	}
	t.Fatalf("no invariant %q in %+v", name, invs)
	return Invariant{}
}

const (
	invOverlap = "no overlapping live claims"
	invReplies = "every accepted missed call got exactly one auto-reply or a recorded reason"
	invOptOut  = "no SMS to an opted-out number"
)

// A clean run passes; every legitimate reason for a missing auto-reply is recognised.
func TestInvariantsPassOnACleanRun(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	now := time.Now().UTC()
	p := plant{t: t, pool: pool, now: now}
	const biz, a, b, c = "+15126000001", "+17372000001", "+17372000002", "+17372000003"
	scope := invariantScope{since: now.Add(-time.Hour), tenants: []string{"lt-000"}, cooldown: 24 * time.Hour}

	// a: replied to. b: opted out before calling. c: replied to once, then called again
	// inside the cooldown. Claims: back to back, and a released one under a live one.
	p.missedCall("voice:CA1:no-answer", a, biz, now.Add(-10*time.Minute))
	p.sms("voice:CA1:no-answer#0", "auto_reply", "delivered", biz, a, now.Add(-10*time.Minute))
	p.optOut(biz, b, now.Add(-20*time.Minute))
	p.missedCall("voice:CA2:no-answer", b, biz, now.Add(-5*time.Minute))
	p.sms("sms:SM1#0", "compliance", "delivered", biz, b, now.Add(-19*time.Minute))
	p.missedCall("voice:CA3:busy", c, biz, now.Add(-9*time.Minute))
	p.sms("voice:CA3:busy#0", "auto_reply", "sent", biz, c, now.Add(-9*time.Minute))
	p.missedCall("voice:CA4:no-answer", c, biz, now.Add(-2*time.Minute))
	slot := now.Truncate(time.Hour).Add(48 * time.Hour)
	p.claim(1, slot, "booked")
	p.claim(1, slot.Add(time.Hour), "held")
	p.claim(1, slot.Add(30*time.Minute), "released")

	invs, err := checkInvariants(context.Background(), pool, scope)
	require.NoError(t, err)
	require.Len(t, invs, 3)
	for _, inv := range invs {
		require.True(t, inv.OK, "%+v", inv)
	}
	replies := invariant(t, invs, invReplies)
	require.EqualValues(t, 4, replies.Checked)
	require.Equal(t, map[string]int64{"auto-reply delivered": 1, "auto-reply sent": 1, "no reply: opted out": 1, "no reply: inside the cooldown": 1}, replies.Outcomes)
	require.EqualValues(t, 2, invariant(t, invs, invOverlap).Checked)
	require.EqualValues(t, 1, invariant(t, invs, invOptOut).Checked)
}

// The checker catches what the engine must never do, planted straight into Postgres: an
// SMS to an opted-out number, overlapping live claims (with the exclusion constraint
// dropped, as nothing else lets them in), a missed call with no reply and no reason, one
// never processed, one answered twice, and one whose reply was never sent.
func TestInvariantsCatchPlantedViolations(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	now := time.Now().UTC()
	p := plant{t: t, pool: pool, now: now}
	const biz, a, b, c, d = "+15126000001", "+17372000001", "+17372000002", "+17372000003", "+17372000004"
	scope := invariantScope{since: now.Add(-time.Hour), tenants: []string{"lt-000"}, cooldown: 24 * time.Hour}

	// a opted out, then got a reply written after the opt-out and handed to the provider;
	// a reply written after it but suppressed by the outbox is fine.
	p.optOut(biz, a, now.Add(-10*time.Minute))
	p.sms("sms:SM9#0", "reply", "delivered", biz, a, now.Add(-5*time.Minute))
	p.sms("sms:SM8#0", "reply", "suppressed", biz, a, now.Add(-4*time.Minute))

	p.exec(`ALTER TABLE fulfillment.claims DROP CONSTRAINT claims_no_overlap`)
	slot := now.Truncate(time.Hour).Add(48 * time.Hour)
	p.claim(7, slot, "held")
	p.claim(7, slot.Add(30*time.Minute), "booked")

	p.missedCall("voice:CA5:no-answer", b, biz, now.Add(-3*time.Minute))
	p.missedCall("voice:CA6:no-answer", c, biz, now.Add(-3*time.Minute))
	p.exec(`UPDATE conversation.webhook_envelopes SET processed_at = NULL WHERE key = 'voice:CA6:no-answer'`)
	p.missedCall("voice:CA7:no-answer", d, biz, now.Add(-3*time.Minute))
	p.sms("voice:CA7:no-answer#0", "auto_reply", "delivered", biz, d, now.Add(-3*time.Minute))
	p.sms("quiet:voice:CA7:no-answer#0", "auto_reply", "delivered", biz, d, now.Add(-2*time.Minute))
	// e's auto-reply was committed but never sent (an outbox that was not told about it).
	const e = "+17372000005"
	p.missedCall("voice:CA8:no-answer", e, biz, now.Add(-3*time.Minute))
	p.sms("voice:CA8:no-answer#0", "auto_reply", "pending", biz, e, now.Add(-3*time.Minute))
	// Outside the run's scope: an older missed call and another tenant's are not checked.
	p.missedCall("voice:CA0:no-answer", b, biz, now.Add(-2*time.Hour))
	p.exec(`UPDATE conversation.webhook_envelopes SET tenant_id = 'other' WHERE key = 'voice:CA0:no-answer'`)

	invs, err := checkInvariants(context.Background(), pool, scope)
	require.NoError(t, err)

	optOut := invariant(t, invs, invOptOut)
	require.False(t, optOut.OK)
	require.EqualValues(t, 1, optOut.Violations)
	require.Contains(t, optOut.Examples[0], "sms:SM9#0")

	overlap := invariant(t, invs, invOverlap)
	require.False(t, overlap.OK)
	require.EqualValues(t, 1, overlap.Violations)
	require.Contains(t, overlap.Examples[0], "lt-000/r000")

	replies := invariant(t, invs, invReplies)
	require.False(t, replies.OK)
	require.EqualValues(t, 4, replies.Checked)
	require.EqualValues(t, 4, replies.Violations)
	require.Len(t, replies.Examples, 4)
	joined := fmt.Sprint(replies.Examples)
	require.Contains(t, joined, "voice:CA5:no-answer")
	require.Contains(t, joined, "no auto-reply and no reason")
	require.Contains(t, joined, "never processed")
	require.Contains(t, joined, "2 auto-replies")
	require.Contains(t, joined, "auto-reply still pending after the run: never sent")
}
