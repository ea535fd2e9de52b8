package persistence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"ringback/actors/conversation"
	"ringback/comms"
	"ringback/secrets"
)

// Conversations is the store of the conversation schema: business numbers, conversations,
// messages, the SMS outbox, webhook envelopes and opt-outs.
type Conversations struct {
	pool *pgxpool.Pool
	box  *secrets.Box
	// owners caches number → owner for webhook intake (every webhook looks one up);
	// ForgetEndpoints drops it after a config apply.
	owners sync.Map

	// Grouped calls of the hot path: webhook envelopes, conversation loads and steps,
	// delivery receipts, and the outbox's claims and acceptances (together).
	envelopes *group[Envelope, bool]
	loads     *group[conversationKey, *conversation.State]
	saves     *group[conversation.Commit, error]
	receipts  *group[ReceiptEnvelope, receiptOutcome]
	outbox    *group[outboxOp, outboxResult]
}

type owner struct{ tenantID, pbxSecret string }

// ForgetEndpoints drops the cached owners of business numbers (a config was applied).
func (s *Conversations) ForgetEndpoints() { s.owners.Clear() }

var (
	_ conversation.Store = (*Conversations)(nil)
	_ comms.Store        = (*Conversations)(nil)
)

// hotPathLanes is how many calls of each group of the hot path run at once. One: while
// it runs, everything arriving waits and rides the next call, so the calls grow with the
// load instead of multiplying (the missed-call benchmark's knee moved from ~500 to ~700
// calls/s against two lanes, docs/PERFORMANCE.md). The price: a call that waits on a
// lock holds up its kind of request until it ends (the 10 s bound of each call).
const hotPathLanes = 1

// NewConversations returns the conversation store; box opens PBX secrets.
func NewConversations(pool *pgxpool.Pool, box *secrets.Box) *Conversations {
	s := &Conversations{pool: pool, box: box}
	s.envelopes = &group[Envelope, bool]{lanes: hotPathLanes, max: 256, run: s.insertEnvelopes}
	s.loads = &group[conversationKey, *conversation.State]{lanes: hotPathLanes, max: 128, run: s.loadConversations}
	s.saves = &group[conversation.Commit, error]{lanes: hotPathLanes, max: 64, run: s.saveSteps}
	s.receipts = &group[ReceiptEnvelope, receiptOutcome]{lanes: hotPathLanes, max: 128, run: s.storeReceipts}
	s.outbox = &group[outboxOp, outboxResult]{lanes: hotPathLanes, max: 256, run: s.outboxWrites}
	return s
}

// ErrUnknownNumber is returned for a business number no tenant owns.
var ErrUnknownNumber = errors.New("no tenant owns this number")

// EndpointOwner returns the tenant that owns a business number and its PBX secret ("" if none).
func (s *Conversations) EndpointOwner(ctx context.Context, number string) (tenantID, pbxSecret string, err error) {
	if o, ok := s.owners.Load(number); ok {
		return o.(owner).tenantID, o.(owner).pbxSecret, nil
	}
	var sealed []byte
	err = s.pool.QueryRow(ctx, `SELECT tenant_id, pbx_secret FROM conversation.endpoints WHERE number = $1`, number).Scan(&tenantID, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", ErrUnknownNumber
	}
	if err != nil {
		return "", "", err
	}
	if sealed != nil {
		plain, err := s.box.Open(sealed, endpointContext(number))
		if err != nil {
			return "", "", err
		}
		pbxSecret = string(plain)
	}
	s.owners.Store(number, owner{tenantID, pbxSecret})
	return tenantID, pbxSecret, nil
}

// Envelope is an accepted webhook, stored under its unique key before it is answered.
type Envelope struct {
	Source, Key, Kind string
	TenantID          string
	CorrelationID     string
	Payload           json.RawMessage
	ReceivedAt        time.Time
}

// StoreEnvelope stores env and returns once it is committed; false means a webhook with
// this key was stored before (a redelivery), and nothing was written. Envelopes arriving
// together share one INSERT and one commit (every webhook waits for the commit before its
// 200, so a burst of missed calls would otherwise be a burst of commits).
func (s *Conversations) StoreEnvelope(ctx context.Context, env Envelope) (bool, error) {
	return s.envelopes.do(ctx, env)
}

func (s *Conversations) insertEnvelopes(batch []Envelope) ([]bool, error) {
	n := len(batch)
	sources, keys, kinds, tenants, correlations, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	received := make([]time.Time, n)
	for i, e := range batch {
		sources[i], keys[i], kinds[i], tenants[i], correlations[i], payloads[i], received[i] = e.Source, e.Key, e.Kind, e.TenantID, e.CorrelationID, string(e.Payload), e.ReceivedAt
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := s.pool.Query(ctx, `INSERT INTO conversation.webhook_envelopes (source, key, kind, tenant_id, correlation_id, payload, received_at)
		SELECT source, key, kind, NULLIF(tenant_id, ''), correlation_id, payload::jsonb, received_at
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
			AS t(source, key, kind, tenant_id, correlation_id, payload, received_at)
		ON CONFLICT DO NOTHING
		RETURNING key`, sources, keys, kinds, tenants, correlations, payloads, received)
	if err != nil {
		return make([]bool, n), fmt.Errorf("store webhooks: %w", err)
	}
	stored := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return make([]bool, n), fmt.Errorf("store webhooks: %w", err)
		}
		stored[k] = true
	}
	if err := rows.Err(); err != nil {
		return make([]bool, n), fmt.Errorf("store webhooks: %w", err)
	}
	// The same webhook twice in one batch is inserted once: the first request gets it.
	inserted := make([]bool, n)
	for i := range batch {
		inserted[i] = stored[keys[i]]
		delete(stored, keys[i])
	}
	return inserted, nil
}

// MarkEnvelopeProcessed records that an envelope needs no more work.
func (s *Conversations) MarkEnvelopeProcessed(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `UPDATE conversation.webhook_envelopes SET processed_at = now() WHERE key = $1`, key)
	return err
}

// Unprocessed lists envelopes not processed (the process died first, or their dispatch
// was lost) received before `before` (zero: all of them), oldest first.
func (s *Conversations) Unprocessed(ctx context.Context, before time.Time, limit int) ([]Envelope, error) {
	rows, err := s.pool.Query(ctx, `SELECT source, key, kind, COALESCE(tenant_id, ''), correlation_id, payload, received_at
		FROM conversation.webhook_envelopes WHERE processed_at IS NULL AND ($1::timestamptz IS NULL OR received_at < $1)
		ORDER BY received_at LIMIT $2`, nullTime(before), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Envelope, error) {
		var e Envelope
		err := r.Scan(&e.Source, &e.Key, &e.Kind, &e.TenantID, &e.CorrelationID, &e.Payload, &e.ReceivedAt)
		return e, err
	})
}

// Load returns the conversation of (endpoint, phone). Loads that arrive together (many
// conversations activating at once) share one query.
func (s *Conversations) Load(ctx context.Context, endpoint, phone string) (conversation.State, error) {
	got, err := s.loads.do(ctx, conversationKey{endpoint, phone})
	if err != nil {
		return conversation.State{}, err
	}
	if got == nil {
		return conversation.State{}, conversation.ErrNoConversation
	}
	return *got, nil
}

type conversationKey struct{ endpoint, phone string }

// loadConversations reads the conversations of keys in one query; nil for none.
func (s *Conversations) loadConversations(keys []conversationKey) ([]*conversation.State, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	endpoints, phones := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		endpoints[i], phones[i] = k.endpoint, k.phone
	}
	// One unique-index lookup per key: a plain join let the planner, guessing 100 keys,
	// hash the whole table (1.7 ms a call at 11,000 conversations); LIMIT 1 keeps the
	// LATERAL subquery from being flattened back into that join.
	out := make([]*conversation.State, len(keys))
	b := &pgx.Batch{}
	keyedPlans(b)
	b.Queue(`SELECT u.i, c.data FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(endpoint, phone, i)
		CROSS JOIN LATERAL (SELECT data FROM conversation.conversations
			WHERE endpoint = u.endpoint AND customer_phone = u.phone LIMIT 1) c`, endpoints, phones).
		Query(func(rows pgx.Rows) error {
			var i int64
			var st conversation.State
			_, err := pgx.ForEachRow(rows, []any{&i, &st}, func() error {
				if i < 1 || int(i) > len(keys) {
					return fmt.Errorf("row %d of %d", i, len(keys))
				}
				loaded := st
				out[i-1] = &loaded
				st = conversation.State{}
				return nil
			})
			return err
		})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("load conversations: %w", err)
	}
	return out, nil
}

// Save writes one conversation step in one transaction: the state (checked against the
// stored version), the inbound message, the outgoing messages with their outbox rows, the
// opt-out list the outbox consults, and the processed mark of the envelope behind it. A
// step whose envelope was processed before (the same webhook handed over twice) writes
// nothing and fails with conversation.ErrRepeated.
//
// Steps of different conversations saved at the same time share one transaction (group
// commit, see group): under load Postgres commits once for many steps instead of once
// per step. Each step's outcome is still its own: when the shared transaction fails on
// one step (a stale version, a repeated webhook), it wrote nothing, and each step of it
// is saved again alone.
func (s *Conversations) Save(ctx context.Context, c conversation.Commit) error {
	res, err := s.saves.do(ctx, c)
	if err != nil {
		return err // ctx ended first; the step may still commit
	}
	return res
}

// saveSteps saves a group of steps of distinct conversations in one implicit transaction
// (one pipelined round trip), or, when a statement of it failed, each step alone. An
// unknown outcome (the database could not be reached) is settled by the version check
// when the actor reloads.
func (s *Conversations) saveSteps(batch []conversation.Commit) ([]error, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := s.togetherOrAlone(ctx, len(batch), func(b *pgx.Batch, i int) { queueStep(b, batch[i]) })
	for i, err := range out {
		out[i] = saveError(err)
	}
	return out, nil
}

// togetherOrAlone runs the statements of n items (queue(b, i) queues item i's) as one
// implicit transaction and returns its error for every item; when Postgres refused one
// of them, nothing was written and each item runs again in a transaction of its own, with
// its own error. queue must reset what its item's callbacks fill in, as it may be called
// again for the second try.
func (s *Conversations) togetherOrAlone(ctx context.Context, n int, queue func(b *pgx.Batch, i int)) []error {
	out := make([]error, n)
	if n > 1 {
		b := &pgx.Batch{}
		for i := range n {
			queue(b, i)
		}
		err := s.pool.SendBatch(ctx, b).Close()
		if err == nil || !nothingWritten(err) {
			for i := range out {
				out[i] = err
			}
			return out
		}
	}
	for i := range n {
		b := &pgx.Batch{}
		queue(b, i)
		out[i] = s.pool.SendBatch(ctx, b).Close()
	}
	return out
}

// nothingWritten reports whether err, from a batch run as one implicit transaction, means
// that transaction wrote nothing: Postgres refused one of its statements (the transaction
// rolled back), or pgx refused the batch before sending it (an argument it cannot encode).
func nothingWritten(err error) bool {
	var pgErr *pgconn.PgError
	var refused pgx.ErrPreprocessingBatch
	return errors.As(err, &pgErr) || errors.As(err, &refused)
}

// saveError maps the error of a step's transaction to the conversation store's errors.
func saveError(err error) error {
	switch {
	case err == nil:
		return nil
	case IsCode(err, repeatedStep):
		return conversation.ErrRepeated
	case IsCode(err, pgerrcode.SerializationFailure):
		return conversation.ErrStale
	default:
		return fmt.Errorf("save conversation: %w", err)
	}
}

// newID is a new time-ordered row id in the form pgx encodes directly.
func newID() pgtype.UUID { return pgtype.UUID{Bytes: uuid.Must(uuid.NewV7()), Valid: true} }

// repeatedStep is the SQLSTATE conversation.repeated_step() raises (migration 005).
const repeatedStep = "RB001"

// queueStep queues the statements of one conversation step. Run as (part of) one
// implicit transaction, a stale version raises (conversation.stale_write) and so does an
// envelope processed before (conversation.repeated_step), either aborting the whole
// transaction. Only this conversation's actor marks its envelopes, one step at a time,
// so the check is exact.
func queueStep(b *pgx.Batch, c conversation.Commit) {
	st := c.State
	// uuid.UUID is a driver.Valuer, which pgx encodes through a string after trying
	// other plans; pgtype.UUID goes straight to the binary form.
	id := pgtype.UUID{Bytes: st.ID, Valid: true}
	var lastAuto *time.Time
	if !st.Caller.LastAutoReply.IsZero() {
		lastAuto = &st.Caller.LastAutoReply
	}
	if c.EnvelopeKey != "" {
		// First, so a repeat is told as such before anything else can fail: marks the
		// envelope processed, or raises when it was before (the statement's snapshot
		// still sees the row its own UPDATE skipped).
		b.Queue(`WITH marked AS (UPDATE conversation.webhook_envelopes SET processed_at = now() WHERE key = $1 AND processed_at IS NULL RETURNING 1)
			SELECT conversation.repeated_step() FROM conversation.webhook_envelopes
			WHERE key = $1 AND processed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM marked)`, c.EnvelopeKey)
	}
	b.Queue(`
		INSERT INTO conversation.conversations (id, tenant_id, endpoint, customer_phone, state, data, opted_out, last_auto_reply_at, version, needs_attention, taken_over)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (endpoint, customer_phone) DO UPDATE SET state = excluded.state, data = excluded.data,
			opted_out = excluded.opted_out, last_auto_reply_at = excluded.last_auto_reply_at, updated_at = now(),
			needs_attention = excluded.needs_attention, taken_over = excluded.taken_over,
			version = CASE WHEN conversation.conversations.version = excluded.version - 1 THEN excluded.version
				ELSE conversation.stale_write() END`,
		id, st.TenantID, st.Endpoint, st.Phone, string(st.Stage), st, st.Caller.OptedOut, lastAuto, st.Version, st.NeedsAttention, st.TakenOver)
	switch {
	case c.OptOutUnchanged:
	case st.Caller.OptedOut:
		b.Queue(`INSERT INTO conversation.opt_outs (endpoint, customer_phone) VALUES ($1, $2) ON CONFLICT DO NOTHING`, st.Endpoint, st.Phone)
	default:
		b.Queue(`DELETE FROM conversation.opt_outs WHERE endpoint = $1 AND customer_phone = $2`, st.Endpoint, st.Phone)
	}
	if r := c.Received; r != nil {
		b.Queue(`INSERT INTO conversation.messages (id, conversation_id, tenant_id, direction, body, provider_sid)
			VALUES ($1, $2, $3, 'in', $4, $5) ON CONFLICT DO NOTHING`, newID(), id, st.TenantID, r.Body, r.MessageSid)
	}
	for _, o := range c.Outgoing {
		msgID := newID()
		var trigger *time.Time
		if !o.TriggerAt.IsZero() {
			trigger = &o.TriggerAt
		}
		to := st.Phone
		if o.To != "" {
			to = o.To // an alert to the business's owner_phone
		}
		b.Queue(`INSERT INTO conversation.messages (id, conversation_id, tenant_id, direction, body, client_message_id)
			VALUES ($1, $2, $3, 'out', $4, $5)`, msgID, id, st.TenantID, o.Body, o.ClientMessageID)
		b.Queue(`INSERT INTO conversation.deliveries (client_message_id, message_id, tenant_id, from_number, to_number, body, kind, status,
				trigger_received_at, correlation_id, trace_parent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, NULLIF($9, ''), NULLIF($10, ''))`,
			o.ClientMessageID, msgID, st.TenantID, st.Endpoint, to, o.Body, o.Kind, trigger, c.CorrelationID, c.TraceParent)
	}
}

// ClaimDelivery moves a pending delivery to 'sending' and returns it, unless its recipient
// opted out of its sender meanwhile (then it becomes 'suppressed'; the one opt-out
// confirmation itself is exempt). ok is false when there is nothing to send: the delivery
// is already past pending (sent by another worker, or suppressed).
func (s *Conversations) ClaimDelivery(ctx context.Context, id string) (comms.Delivery, bool, error) {
	r, err := s.outbox.do(ctx, outboxOp{claim: id})
	if err == nil {
		err = r.err
	}
	return r.claimed.d, r.claimed.ok, err
}

// ReclaimDelivery claims a delivery that is pending or already sending (see
// comms.Store): the retry of a claim whose outcome was unknown.
func (s *Conversations) ReclaimDelivery(ctx context.Context, id string) (comms.Delivery, bool, error) {
	got, err := s.claimWhere(ctx, []string{id}, `('pending', 'sending')`)
	if err != nil {
		return comms.Delivery{}, false, err
	}
	return got[0].d, got[0].ok, nil
}

type claimed struct {
	d  comms.Delivery
	ok bool
}

// outboxOp is one write of the outbox's: the claim of a delivery (claim, its id) or the
// record of the provider's acceptance of one (acc).
type outboxOp struct {
	claim string
	acc   *acceptance
}

type outboxResult struct {
	claimed claimed // of a claim
	status  string  // of an acceptance: the status stored
	err     error   // this one's own failure (the call as a whole succeeded)
}

// outboxWrites runs the outbox's claims and acceptances that arrive together as one
// transaction: under load, one commit carries the acceptances of the SMS just sent and
// the claims of the next ones. An id claimed twice in one batch is claimed by its first
// request only.
func (s *Conversations) outboxWrites(batch []outboxOp) ([]outboxResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ids []string
	var accs []acceptance
	for _, op := range batch {
		if op.acc != nil {
			accs = append(accs, *op.acc)
		} else {
			ids = append(ids, op.claim)
		}
	}
	b := &pgx.Batch{} // one implicit transaction: the sid locks hold until its end
	keyedPlans(b)
	stored := map[string]string{}
	if len(accs) > 0 {
		queueAcceptances(b, accs, stored)
	}
	got := map[string]comms.Delivery{}
	if len(ids) > 0 {
		queueClaims(b, ids, `('pending')`, got)
	}
	err := s.pool.SendBatch(ctx, b).Close()
	out := make([]outboxResult, len(batch))
	if err != nil && nothingWritten(err) && len(batch) > 1 {
		// One of them was refused and the call wrote nothing: each goes again alone, so
		// a claim's failure never costs an acceptance (a lost acceptance is a resend).
		for i, op := range batch {
			r, err := s.outboxWrites([]outboxOp{op})
			if err != nil {
				out[i].err = err
				continue
			}
			out[i] = r[0]
		}
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	for i, op := range batch {
		if op.acc != nil {
			out[i].status = stored[op.acc.id]
			continue
		}
		if d, ok := got[op.claim]; ok {
			out[i].claimed = claimed{d: d, ok: d.Status == "sending"}
			delete(got, op.claim)
		}
	}
	return out, nil
}

// claimWhere claims the deliveries among ids whose status is in statuses (an SQL list).
func (s *Conversations) claimWhere(ctx context.Context, ids []string, statuses string) ([]claimed, error) {
	b := &pgx.Batch{}
	keyedPlans(b)
	got := map[string]comms.Delivery{}
	queueClaims(b, ids, statuses, got)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	out := make([]claimed, len(ids))
	for i, id := range ids {
		if d, ok := got[id]; ok {
			out[i] = claimed{d: d, ok: d.Status == "sending"}
			delete(got, id)
		}
	}
	return out, nil
}

// heldBack is when a claimed delivery d is suppressed instead of sent: its recipient
// opted out of its sender (the one opt-out confirmation itself is exempt), or it is the
// bot's and a person has taken the conversation over since it was queued.
const heldBack = `(d.kind <> 'compliance' AND EXISTS (SELECT 1 FROM conversation.opt_outs o
		WHERE o.endpoint = d.from_number AND o.customer_phone = d.to_number)
	OR d.kind IN ('auto_reply', 'reply') AND EXISTS (SELECT 1 FROM conversation.conversations c
		WHERE c.endpoint = d.from_number AND c.customer_phone = d.to_number AND c.taken_over))`

// queueClaims queues the claim of the deliveries among ids whose status is in statuses;
// got receives each claimed delivery by id (suppressed ones with that status).
// Queue it after keyedPlans.
func queueClaims(b *pgx.Batch, ids []string, statuses string, got map[string]comms.Delivery) {
	b.Queue(`
		UPDATE conversation.deliveries d SET
			status = CASE WHEN `+heldBack+` THEN 'suppressed' ELSE 'sending' END,
			-- unchanged (a HOT update) unless suppressed: then out of the unsent range
			next_attempt_at = CASE WHEN `+heldBack+` THEN 'infinity' ELSE d.next_attempt_at END,
			attempts = d.attempts + 1, updated_at = now()
		WHERE d.client_message_id = ANY($1) AND d.status IN `+statuses+`
		RETURNING d.client_message_id, d.tenant_id, d.from_number, d.to_number, d.body, d.kind, d.status, d.attempts, d.trigger_received_at,
			COALESCE(d.correlation_id, ''), COALESCE(d.trace_parent, ''),
			(SELECT m.conversation_id::text FROM conversation.messages m WHERE m.id = d.message_id)`, ids).
		Query(func(rows pgx.Rows) error {
			var d comms.Delivery
			var trigger *time.Time
			_, err := pgx.ForEachRow(rows, []any{&d.ClientMessageID, &d.TenantID, &d.From, &d.To, &d.Body, &d.Kind, &d.Status,
				&d.Attempts, &trigger, &d.CorrelationID, &d.TraceParent, &d.ConversationID}, func() error {
				if trigger != nil {
					d.TriggerAt = *trigger
				}
				got[d.ClientMessageID] = d
				d, trigger = comms.Delivery{}, nil
				return nil
			})
			return err
		})
}

// DeliveryAccepted records the provider's acceptance (sid, status) of a delivery and
// returns the status stored. Receipts can arrive before the acceptance is recorded (Twilio
// may call back before its answer reaches us); the best status among those already stored
// for the sid wins, and is the one returned. A lock on the sid, shared with ApplyReceipt,
// makes the two see each other: whichever runs second finds what the first wrote.
func (s *Conversations) DeliveryAccepted(ctx context.Context, id, sid, status string) (string, error) {
	r, err := s.outbox.do(ctx, outboxOp{acc: &acceptance{id: id, sid: sid, status: status}})
	if err == nil {
		err = r.err
	}
	return r.status, err
}

type acceptance struct{ id, sid, status string }

// keyedPlans queues what makes the rest of the batch's transaction plan its statements by
// index, and once per connection. The statements after it find their rows by key, a few
// at a time from an array; left to itself Postgres (a) re-plans such a statement on every
// run, since its one-size-fits-all plan assumes ten or a hundred keys and so looks dearer
// than one made for the actual two (0.2–0.4 ms of planning per outbox call, more than
// the call itself), and (b) when it does keep a plan, keeps the one made while the
// table was a few pages — a sequential scan — until the next ANALYZE, however large the
// table has grown since: from a fresh database at 400 calls/s each outbox claim scanned
// thousands of rows, 0.8 ms of Postgres per call and up to 9 ms per claim on the
// outbox's one lane. Both settings end with the transaction.
func keyedPlans(b *pgx.Batch) {
	b.Queue(`SELECT pg_catalog.set_config('enable_seqscan', 'off', true),
		pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', true)`)
}

// queueAcceptances queues the record of provider acceptances; stored receives the status
// each delivery was left with. Each provider sid's advisory lock is taken first, in
// byte order (receipts take theirs in the same order, sorted in Go, so no cycle), so a
// receipt for one of them waits and then sees the sid.
func queueAcceptances(b *pgx.Batch, batch []acceptance, stored map[string]string) {
	ids, sids, statuses := make([]string, len(batch)), make([]string, len(batch)), make([]string, len(batch))
	for i, a := range batch {
		ids[i], sids[i], statuses[i] = a.id, a.sid, a.status
	}
	b.Queue(`SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(sid, 7215002))
		FROM (SELECT DISTINCT sid COLLATE "C" AS sid FROM unnest($1::text[]) AS t(sid) WHERE sid <> '' ORDER BY 1) s`, sids)
	// Accepted without a sid (the sandbox): done, so out of the unsent range.
	b.Queue(`UPDATE conversation.deliveries d SET provider_sid = NULLIF(u.sid, ''), updated_at = now(),
			next_attempt_at = CASE WHEN u.sid = '' THEN 'infinity' ELSE d.next_attempt_at END,
			status = COALESCE((SELECT e.payload->>'status' FROM conversation.webhook_envelopes e
				WHERE u.sid <> '' AND e.kind = 'sms-status' AND e.payload->>'message_sid' = u.sid
				  AND conversation.status_rank(e.payload->>'status') > conversation.status_rank(u.status)
				ORDER BY conversation.status_rank(e.payload->>'status') DESC LIMIT 1), u.status)
		FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, sid, status)
		WHERE d.client_message_id = u.id
		RETURNING d.client_message_id, d.status`, ids, sids, statuses).
		Query(func(rows pgx.Rows) error {
			var id, status string
			_, err := pgx.ForEachRow(rows, []any{&id, &status}, func() error {
				stored[id] = status
				return nil
			})
			return err
		})
}

// lockSid queues a transaction-scoped lock on a provider sid; every later statement of
// the batch takes its snapshot after the lock is held.
func lockSid(b *pgx.Batch, sid string) {
	if sid != "" {
		b.Queue(`SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended($1, 7215002))`, sid)
	}
}

// DeliveryFailed records a permanent failure.
func (s *Conversations) DeliveryFailed(ctx context.Context, id string, code int) error {
	_, err := s.pool.Exec(ctx, `UPDATE conversation.deliveries SET status = 'failed', error_code = NULLIF($2, 0), updated_at = now(),
		next_attempt_at = 'infinity' WHERE client_message_id = $1`, id, code)
	return err
}

// DeliveryRetry puts a delivery back in the queue for another attempt at `at`.
func (s *Conversations) DeliveryRetry(ctx context.Context, id string, at time.Time, code int) error {
	_, err := s.pool.Exec(ctx, `UPDATE conversation.deliveries SET status = 'pending', next_attempt_at = $2,
		error_code = NULLIF($3, 0), updated_at = now() WHERE client_message_id = $1 AND status = 'sending'`, id, at, code)
	return err
}

// DeliveryDeferred puts a claimed delivery back to pending for `at` without counting the
// claim as an attempt: it waited for its sender's rate, it was not tried.
func (s *Conversations) DeliveryDeferred(ctx context.Context, id string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE conversation.deliveries SET status = 'pending', next_attempt_at = $2,
		attempts = attempts - 1, updated_at = now() WHERE client_message_id = $1 AND status = 'sending'`, id, at)
	return err
}

// DeliverySuppressed marks a claimed delivery suppressed (a reminder whose visit changed
// since it was queued); like a suppressed claim it leaves the unsent range.
func (s *Conversations) DeliverySuppressed(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `UPDATE conversation.deliveries SET status = 'suppressed', next_attempt_at = 'infinity',
		updated_at = now() WHERE client_message_id = $1 AND status = 'sending'`, id)
	return err
}

// RecoverDeliveries returns the deliveries a dead process left pending or sending, making
// the sending ones pending again. A delivery that was 'sending' may have reached the
// provider before the process died: resending it is the documented duplicate window.
func (s *Conversations) RecoverDeliveries(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `UPDATE conversation.deliveries SET status = 'pending', updated_at = now()
		WHERE provider_sid IS NULL AND next_attempt_at <> 'infinity' AND status IN ('pending', 'sending')
		RETURNING client_message_id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Receipt is a delivery as a receipt that moved it forward left it.
type Receipt struct {
	TenantID        string
	ClientMessageID string
	Kind            string // auto_reply | reply | compliance
	ConversationID  string
	Status          string // the receipt's status, now stored
	ErrorCode       int    // the stored error code; 0 when none
}

// ApplyReceipt records a provider status callback for sid, monotonically: a status ranked
// below the stored one (a late 'sent' after 'delivered') changes nothing. It reports whether
// a delivery with that sid exists and, when the receipt moved it forward, the delivery as
// it now stands (nil otherwise: the same receipt applied again advances nothing).
func (s *Conversations) ApplyReceipt(ctx context.Context, sid, status string, errorCode int) (bool, *Receipt, error) {
	b := &pgx.Batch{} // one implicit transaction: the lock holds until its end
	lockSid(b, sid)
	var r StoredReceipt
	queueReceiptUpdate(b, sid, status, errorCode, &r)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return false, nil, err
	}
	return r.Exists, r.Advanced, nil
}

// queueReceiptUpdate queues the monotonic update of sid's delivery (after the sid's
// lock); r gets whether a delivery has the sid and, if the receipt moved it, how it
// stands.
func queueReceiptUpdate(b *pgx.Batch, sid, status string, errorCode int, r *StoredReceipt) {
	b.Queue(`
	WITH u AS (
		UPDATE conversation.deliveries d SET status = $1, error_code = COALESCE(NULLIF($3, 0), error_code), updated_at = now()
		WHERE provider_sid = $2 AND conversation.status_rank($1) > conversation.status_rank(status)
		RETURNING d.tenant_id, d.client_message_id, d.kind, d.status, COALESCE(d.error_code, 0) AS error_code,
			(SELECT m.conversation_id::text FROM conversation.messages m WHERE m.id = d.message_id) AS conversation_id)
	SELECT EXISTS (SELECT 1 FROM conversation.deliveries WHERE provider_sid = $2),
		u.tenant_id, u.client_message_id, u.kind, u.status, u.error_code, u.conversation_id
	FROM (VALUES (1)) AS one (x) LEFT JOIN u ON true`, status, sid, errorCode).QueryRow(func(row pgx.Row) error {
		var tenantID, id, kind, stored, conv *string
		var code *int
		if err := row.Scan(&r.Exists, &tenantID, &id, &kind, &stored, &code, &conv); err != nil {
			return err
		}
		if id != nil {
			r.Advanced = &Receipt{TenantID: *tenantID, ClientMessageID: *id, Kind: *kind, Status: *stored, ErrorCode: *code}
			if conv != nil {
				r.Advanced.ConversationID = *conv
			}
		}
		return nil
	})
}

// StoredReceipt is the outcome of StoreReceipt.
type StoredReceipt struct {
	Inserted bool     // false: the same receipt was stored before (a redelivery)
	Exists   bool     // a delivery has the receipt's sid
	Advanced *Receipt // the delivery the receipt moved forward; nil when it moved none
}

// ReceiptEnvelope is a delivery receipt webhook: its envelope and what it says.
type ReceiptEnvelope struct {
	Envelope
	SID, Status string
	ErrorCode   int
}

// StoreReceipt stores a receipt's envelope, already processed, and applies the receipt,
// in one transaction: a receipt is one commit, not three (store, apply, mark). Receipts
// arriving together share it (each sid's lock taken in sid order, as acceptances do,
// so the two never wait on each other in a cycle); when a statement of the shared
// transaction fails, each receipt is stored again alone.
func (s *Conversations) StoreReceipt(ctx context.Context, r ReceiptEnvelope) (StoredReceipt, error) {
	got, err := s.receipts.do(ctx, r)
	if err != nil {
		return StoredReceipt{}, err
	}
	return got.res, got.err
}

type receiptOutcome struct {
	res StoredReceipt
	err error
}

func (s *Conversations) storeReceipts(batch []ReceiptEnvelope) ([]receiptOutcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// In sid order, the order acceptances lock sids in.
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return strings.Compare(batch[i].SID, batch[j].SID) })
	out := make([]receiptOutcome, len(batch))
	errs := s.togetherOrAlone(ctx, len(order), func(b *pgx.Batch, k int) {
		queueStoreReceipt(b, batch[order[k]], &out[order[k]].res)
	})
	for k, err := range errs {
		out[order[k]].err = storeReceiptError(err)
	}
	return out, nil
}

func storeReceiptError(err error) error {
	if err != nil {
		return fmt.Errorf("store receipt: %w", err)
	}
	return nil
}

func queueStoreReceipt(b *pgx.Batch, r ReceiptEnvelope, out *StoredReceipt) {
	*out = StoredReceipt{}
	// The lock first: an acceptance of the sid waiting on it then finds the envelope.
	lockSid(b, r.SID)
	e := r.Envelope
	b.Queue(`INSERT INTO conversation.webhook_envelopes (source, key, kind, tenant_id, correlation_id, payload, received_at, processed_at)
		VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6::jsonb, $7, now()) ON CONFLICT DO NOTHING RETURNING true`,
		e.Source, e.Key, e.Kind, e.TenantID, e.CorrelationID, string(e.Payload), e.ReceivedAt).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				out.Inserted = true
			}
			return rows.Err()
		})
	queueReceiptUpdate(b, r.SID, r.Status, r.ErrorCode, out)
}

// MessageView is a message as the admin API shows it.
type MessageView struct {
	Direction string    `json:"direction"`
	Body      string    `json:"body"`
	Status    string    `json:"status,omitempty"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind,omitempty"` // of an outbound message: auto_reply, reply, compliance, alert
	To        string    `json:"to,omitempty"`   // an alert's recipient, the business's owner_phone
}

// ConversationView is a conversation with its messages, for the admin API.
type ConversationView struct {
	ID       uuid.UUID `json:"id"`
	Endpoint string    `json:"endpoint"`
	Phone    string    `json:"phone"`
	State    string    `json:"state"`
	OptedOut bool      `json:"opted_out"`
	// NeedsAttention says a customer's message waits for a person.
	NeedsAttention bool          `json:"needs_attention"`
	UpdatedAt      time.Time     `json:"updated_at"`
	Messages       []MessageView `json:"messages"`
}

// ConversationsOf lists a tenant's conversations (of one customer phone if phone != "",
// only those needing a person if needsAttention), newest first, with their messages and
// delivery statuses. An alert to the business shows as an outbound message with kind
// "alert" and its recipient.
func (s *Conversations) ConversationsOf(ctx context.Context, tenantID, phone string, needsAttention bool, limit int) ([]ConversationView, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.id, c.endpoint, c.customer_phone, c.state, c.opted_out, c.needs_attention, c.updated_at,
			COALESCE((SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('direction', m.direction, 'body', m.body,
				'status', COALESCE(d.status, ''), 'at', m.created_at, 'kind', d.kind,
				'to', CASE WHEN d.to_number <> c.customer_phone THEN d.to_number END)) ORDER BY m.created_at, m.id)
				FROM conversation.messages m LEFT JOIN conversation.deliveries d ON d.client_message_id = m.client_message_id
				WHERE m.conversation_id = c.id), '[]'::jsonb)
		FROM conversation.conversations c
		WHERE c.tenant_id = $1 AND ($2 = '' OR c.customer_phone = $2) AND (NOT $3 OR c.needs_attention)
		ORDER BY c.updated_at DESC LIMIT $4`, tenantID, phone, needsAttention, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConversationView, error) {
		var v ConversationView
		err := r.Scan(&v.ID, &v.Endpoint, &v.Phone, &v.State, &v.OptedOut, &v.NeedsAttention, &v.UpdatedAt, &v.Messages)
		return v, err
	})
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// StrandedDeliveries lists deliveries nobody will send unless handed over again: pending
// ones due before `before` and not touched since (their step committed although its
// caller saw an error), and ones left 'sending' since sendingBefore (a send whose outcome
// was never recorded: they go back to pending — the documented duplicate window of a
// crash between the provider's answer and its record). Handing one over twice is
// harmless: only one claim of a pending row wins.
func (s *Conversations) StrandedDeliveries(ctx context.Context, before, sendingBefore time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		WITH reset AS (
			UPDATE conversation.deliveries SET status = 'pending', updated_at = now()
			WHERE provider_sid IS NULL AND next_attempt_at <> 'infinity' AND status = 'sending' AND updated_at < $2
			RETURNING client_message_id
		)
		SELECT client_message_id FROM reset
		UNION ALL
		(SELECT client_message_id FROM conversation.deliveries
			WHERE provider_sid IS NULL AND next_attempt_at <> 'infinity' AND status = 'pending' AND next_attempt_at < $1 AND updated_at < $1
			ORDER BY next_attempt_at LIMIT $3)`, before, sendingBefore, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
