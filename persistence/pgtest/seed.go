package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// InboxSeed describes a tenant's conversations as the console's scale tests and
// benchmarks want them (docs/PERFORMANCE.md, "Console").
type InboxSeed struct {
	TenantID, Endpoint string
	OwnerPhone         string    // where the attention alerts went
	Conversations      int       // customers, one conversation each
	Now                time.Time // last activity is spread over the 90 days before it
}

// The mix, by conversation number modulo 100 (so every page of any size has it too):
//
//	0, 50     needs a person (2 %): the customer asked something; the owner was alerted
//	1-20      booked (20 %): options, a pick, YES, the confirmation
//	21-23     opted out (3 %): STOP and its one confirmation
//	24-40     offered (17 %): asked for other times, got them
//	41-45     held (5 %): picked one, a hold is live
//	46        a person took over (1 %) and answered
//	47-99     idle (52 %): the auto-reply and a "thanks"
//
// Every conversation starts with the missed call's auto-reply; 2.8 messages each on
// average, every outbound one with its delivery. A third of the conversations were read
// by a person after their last message.
const inboxSeedSQL = `
WITH c AS MATERIALIZED (
	SELECT i,
		('00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid AS id,
		'+1737' || lpad(i::text, 7, '0') AS phone,
		CASE WHEN i % 50 = 0 THEN 'attention'
			WHEN i % 100 BETWEEN 1 AND 20 THEN 'booked'
			WHEN i % 100 BETWEEN 21 AND 23 THEN 'opted_out'
			WHEN i % 100 BETWEEN 24 AND 40 THEN 'offered'
			WHEN i % 100 BETWEEN 41 AND 45 THEN 'held'
			WHEN i % 100 = 46 THEN 'person'
			ELSE 'idle' END AS kind,
		-- a pseudo-random instant in the 90 days (7,776,000 s) before now
		$4::timestamptz - make_interval(secs => (hashint4(i)::bigint + 2147483648) / 4294967296.0 * 7776000) AS at
	FROM generate_series(1, $3::int) i
),
t (kind, k, direction, dkind, body) AS (VALUES
	('idle', 1, 'out', 'auto_reply', 'Sorry we missed your call! Acme Plumbing can come: 1) Tue 8:00 AM $210 2) Tue 9:30 AM $210 3) Wed 1:00 PM $210. Reply 1, 2 or 3.'),
	('idle', 2, 'in', NULL, 'ok thanks, will call back later'),
	('offered', 1, 'out', 'auto_reply', 'Sorry we missed your call! Acme Plumbing can come: 1) Tue 8:00 AM $210 2) Tue 9:30 AM $210 3) Wed 1:00 PM $210. Reply 1, 2 or 3.'),
	('offered', 2, 'in', NULL, 'can we do thursday after 3 instead?'),
	('offered', 3, 'out', 'reply', 'Thursday after 3: 1) Thu 3:00 PM $210 2) Thu 3:30 PM $210 3) Thu 4:00 PM $210. Reply 1, 2 or 3.'),
	('held', 1, 'out', 'auto_reply', 'Sorry we missed your call! Acme Plumbing can come: 1) Tue 8:00 AM $210 2) Tue 9:30 AM $210 3) Wed 1:00 PM $210. Reply 1, 2 or 3.'),
	('held', 2, 'in', NULL, 'the second one'),
	('held', 3, 'out', 'reply', 'Holding Tue 9:30 AM for you ($210). Reply YES to book it.'),
	('booked', 1, 'out', 'auto_reply', 'Sorry we missed your call! Acme Plumbing can come: 1) Tue 8:00 AM $210 2) Tue 9:30 AM $210 3) Wed 1:00 PM $210. Reply 1, 2 or 3.'),
	('booked', 2, 'in', NULL, '2'),
	('booked', 3, 'out', 'reply', 'Holding Tue 9:30 AM for you ($210). Reply YES to book it.'),
	('booked', 4, 'in', NULL, 'yep 👍'),
	('booked', 5, 'out', 'reply', 'You''re booked: Tue 9:30 AM, drain cleaning, $210. Reply MOVE or CANCEL to change it.'),
	('opted_out', 1, 'out', 'auto_reply', 'Sorry we missed your call! Acme Plumbing can come: 1) Tue 8:00 AM $210 2) Tue 9:30 AM $210 3) Wed 1:00 PM $210. Reply 1, 2 or 3.'),
	('opted_out', 2, 'in', NULL, 'stop texting me'),
	('opted_out', 3, 'out', 'compliance', 'You will get no more texts from Acme Plumbing. Reply START to undo.'),
	('attention', 1, 'out', 'auto_reply', 'Sorry we missed your call! Acme Plumbing can come: 1) Tue 8:00 AM $210 2) Tue 9:30 AM $210 3) Wed 1:00 PM $210. Reply 1, 2 or 3.'),
	('attention', 2, 'in', NULL, 'is the tech bringing a ladder? the drain is on the second floor'),
	('attention', 3, 'out', 'alert', 'Ringback: a customer needs you. "is the tech bringing a ladder? the drain is on the second floor"'),
	('person', 1, 'out', 'auto_reply', 'Sorry we missed your call! Acme Plumbing can come: 1) Tue 8:00 AM $210 2) Tue 9:30 AM $210 3) Wed 1:00 PM $210. Reply 1, 2 or 3.'),
	('person', 2, 'in', NULL, 'can you come earlier? water everywhere'),
	('person', 3, 'out', 'person', 'Hi, this is Dana at Acme. Mike can be there at 7:30, ok?')
),
n AS (SELECT kind, max(k) AS n FROM t GROUP BY kind),
conv AS (
	INSERT INTO conversation.conversations (id, tenant_id, endpoint, customer_phone, state, data, opted_out,
		last_auto_reply_at, version, created_at, updated_at, taken_over, last_read_at, needs_attention)
	SELECT c.id, $1, $2, c.phone,
		CASE c.kind WHEN 'booked' THEN 'booked' WHEN 'offered' THEN 'offered' WHEN 'attention' THEN 'offered' WHEN 'held' THEN 'held' ELSE 'idle' END,
		jsonb_build_object('id', c.id, 'tenant_id', $1::text, 'endpoint', $2::text, 'phone', c.phone, 'stage',
			CASE c.kind WHEN 'booked' THEN 'booked' WHEN 'offered' THEN 'offered' WHEN 'attention' THEN 'offered' WHEN 'held' THEN 'held' ELSE 'idle' END,
			'options', jsonb_build_array(
				jsonb_build_object('resource_id', 'mike', 'service_id', 'drain', 'start', c.at + interval '1 day', 'end', c.at + interval '1 day 90 minutes', 'quote_minor', 21000, 'currency', 'USD'),
				jsonb_build_object('resource_id', 'mike', 'service_id', 'drain', 'start', c.at + interval '1 day 90 minutes', 'end', c.at + interval '1 day 180 minutes', 'quote_minor', 21000, 'currency', 'USD'),
				jsonb_build_object('resource_id', 'mike', 'service_id', 'drain', 'start', c.at + interval '2 days', 'end', c.at + interval '2 days 90 minutes', 'quote_minor', 21000, 'currency', 'USD')),
			'caller', jsonb_build_object('OptedOut', c.kind = 'opted_out', 'OptOutConfirmed', c.kind = 'opted_out', 'LastAutoReply', c.at - (n.n - 1) * interval '2 minutes'),
			'needs_attention', c.kind = 'attention', 'taken_over', c.kind = 'person', 'version', n.n),
		c.kind = 'opted_out', c.at - (n.n - 1) * interval '2 minutes', n.n, c.at - (n.n - 1) * interval '2 minutes', c.at,
		c.kind = 'person', CASE WHEN c.i % 3 = 0 THEN c.at + interval '5 minutes' END, c.kind = 'attention'
	FROM c JOIN n USING (kind)
),
m AS MATERIALIZED (
	SELECT c.i, c.id AS conversation_id, c.phone, t.k, t.direction, t.dkind, t.body,
		('00000000-0000-7000-9' || lpad(to_hex(t.k), 3, '0') || '-' || lpad(to_hex(c.i), 12, '0'))::uuid AS id,
		c.at - (n.n - t.k) * interval '2 minutes' AS created_at
	FROM c JOIN t USING (kind) JOIN n USING (kind)
),
msgs AS (
	INSERT INTO conversation.messages (id, conversation_id, tenant_id, direction, body, provider_sid, client_message_id, created_at)
	SELECT m.id, m.conversation_id, $1, m.direction, m.body,
		CASE WHEN m.direction = 'in' THEN 'SM' || md5('in:' || m.i || ':' || m.k) END,
		CASE WHEN m.direction = 'out' THEN 'seed:' || m.i || ':' || m.k END, m.created_at
	FROM m
),
dels AS (
	INSERT INTO conversation.deliveries (client_message_id, message_id, tenant_id, from_number, to_number, body, kind, status,
		provider_sid, attempts, next_attempt_at, created_at, updated_at)
	SELECT 'seed:' || m.i || ':' || m.k, m.id, $1, $2, CASE WHEN m.dkind = 'alert' THEN $5 ELSE m.phone END, m.body, m.dkind, 'delivered',
		'SM' || md5('out:' || m.i || ':' || m.k), 1, m.created_at, m.created_at, m.created_at + interval '3 seconds'
	FROM m WHERE m.direction = 'out'
)
INSERT INTO conversation.opt_outs (endpoint, customer_phone, opted_out_at)
SELECT $2, c.phone, c.at FROM c WHERE c.kind = 'opted_out'`

// SeedInbox writes s.Conversations conversations of one tenant straight into the
// conversation schema (the tenant itself must exist: apply its config first), then
// vacuums and analyzes the tables so plans are the ones a settled database gets.
func SeedInbox(tb testing.TB, pool *pgxpool.Pool, s InboxSeed) {
	tb.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, inboxSeedSQL, s.TenantID, s.Endpoint, s.Conversations, s.Now, s.OwnerPhone)
	require.NoError(tb, err, "seed the inbox")
	for _, table := range []string{"conversation.conversations", "conversation.messages", "conversation.deliveries", "conversation.opt_outs"} {
		_, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+table)
		require.NoError(tb, err)
	}
}
