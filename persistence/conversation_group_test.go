package persistence_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"ringback/actors/conversation"
	"ringback/persistence"
	"ringback/persistence/pgtest"
	"ringback/secrets"
)

// TestGroupedStepsCommitTogetherAndFailAlone: steps of different conversations saved
// together share one transaction; when one of them is stale or repeated, the others still
// commit, and that one writes nothing and gets its own error.
func TestGroupedStepsCommitTogetherAndFailAlone(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	box, err := secrets.NewBox("")
	require.NoError(t, err)
	s, ctx := persistence.NewConversations(pool, box), context.Background()
	step := func(phone string, version int64) conversation.State {
		return conversation.State{ID: uuid.New(), TenantID: "acme", Endpoint: "+15125550100", Phone: phone, Stage: conversation.Idle, Version: version}
	}
	out := func(id string) []conversation.Outgoing {
		return []conversation.Outgoing{{ClientMessageID: id, Body: "hello", Kind: "auto_reply"}}
	}

	// All good: one transaction for both (their rows carry one xmin).
	e, f := step("+15125550101", 1), step("+15125550102", 1)
	storeEnvelope(t, s, "env-e", "missed-call", map[string]string{"from": e.Phone})
	errs := s.SaveSteps([]conversation.Commit{{State: e, EnvelopeKey: "env-e", Outgoing: out("e#0")}, {State: f, Outgoing: out("f#0")}})
	require.Equal(t, []error{nil, nil}, errs)
	var txs int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(DISTINCT xmin::text) FROM conversation.conversations WHERE id = ANY($1)`,
		[]uuid.UUID{e.ID, f.ID}).Scan(&txs))
	require.Equal(t, 1, txs, "two steps saved together are one transaction")

	// One stale, one repeated, two good ones in one group.
	stale := step("+15125550103", 1)
	require.NoError(t, s.Save(ctx, conversation.Commit{State: stale}))
	repeat := step("+15125550104", 1)
	storeEnvelope(t, s, "env-r", "missed-call", map[string]string{"from": repeat.Phone})
	require.NoError(t, s.Save(ctx, conversation.Commit{State: repeat, EnvelopeKey: "env-r"}))
	repeat.Version = 2
	a, d := step("+15125550105", 1), step("+15125550106", 1)
	storeEnvelope(t, s, "env-a", "missed-call", map[string]string{"from": a.Phone})
	errs = s.SaveSteps([]conversation.Commit{
		{State: a, EnvelopeKey: "env-a", Outgoing: out("a#0")},
		{State: stale, Outgoing: out("stale#0")},
		{State: repeat, EnvelopeKey: "env-r", Outgoing: out("repeat#0")},
		{State: d, Outgoing: out("d#0")},
	})
	require.Len(t, errs, 4)
	require.NoError(t, errs[0])
	require.ErrorIs(t, errs[1], conversation.ErrStale)
	require.ErrorIs(t, errs[2], conversation.ErrRepeated)
	require.NoError(t, errs[3])

	for _, c := range []struct {
		st      conversation.State
		id      string
		written bool
	}{{a, "a#0", true}, {d, "d#0", true}, {stale, "stale#0", false}, {repeat, "repeat#0", false}} {
		got, err := s.Load(ctx, c.st.Endpoint, c.st.Phone)
		require.NoError(t, err)
		_, ok, err := s.ClaimDelivery(ctx, c.id)
		require.NoError(t, err)
		require.Equal(t, c.written, ok, "outbox row of %s", c.id)
		if c.written {
			require.Equal(t, c.st.Version, got.Version)
		} else {
			require.Equal(t, int64(1), got.Version, "nothing of the failed step %s was written", c.id)
		}
	}
	unprocessed, err := s.Unprocessed(ctx, time.Time{}, 10)
	require.NoError(t, err)
	require.Empty(t, unprocessed, "the good steps' envelopes are processed; the repeat's was before")
}

// TestGroupedLoadsAnswerEachKey: conversations loaded together each get their own state,
// and a pair without one gets none.
func TestGroupedLoadsAnswerEachKey(t *testing.T) {
	t.Parallel()
	s, ctx := newConversations(t)
	a := conversation.State{ID: uuid.New(), TenantID: "acme", Endpoint: "+15125550100", Phone: "+15125550111", Stage: conversation.Offered, Version: 1}
	b := conversation.State{ID: uuid.New(), TenantID: "acme", Endpoint: "+15125550200", Phone: "+15125550111", Stage: conversation.Idle, Version: 1}
	require.NoError(t, s.Save(ctx, conversation.Commit{State: a}))
	require.NoError(t, s.Save(ctx, conversation.Commit{State: b}))

	got := s.LoadMany([2]string{b.Endpoint, b.Phone}, [2]string{a.Endpoint, "+15125550999"}, [2]string{a.Endpoint, a.Phone})
	require.Len(t, got, 3)
	require.NotNil(t, got[0])
	require.Equal(t, b.ID, got[0].ID)
	require.Equal(t, conversation.Idle, got[0].Stage)
	require.Nil(t, got[1])
	require.NotNil(t, got[2])
	require.Equal(t, a.ID, got[2].ID)
	require.Equal(t, conversation.Offered, got[2].Stage)

	_, err := s.Load(ctx, a.Endpoint, "+15125550999")
	require.ErrorIs(t, err, conversation.ErrNoConversation)
}

// TestGroupedReceiptsAreStoredAndAppliedTogether: receipts stored together are applied
// in one transaction, each with its own outcome: a redelivery is not inserted again, a
// receipt for an unknown sid is kept (for the acceptance that comes later), and one that
// cannot be stored fails alone while the others land.
func TestGroupedReceiptsAreStoredAndAppliedTogether(t *testing.T) {
	t.Parallel()
	s, ctx := newConversations(t)
	st := conversation.State{ID: uuid.New(), TenantID: "acme", Endpoint: "+15125550100", Phone: "+15125550199", Stage: conversation.Idle, Version: 1}
	require.NoError(t, s.Save(ctx, conversation.Commit{State: st, Outgoing: []conversation.Outgoing{
		{ClientMessageID: "m1#0", Body: "one", Kind: "auto_reply"}, {ClientMessageID: "m2#0", Body: "two", Kind: "reply"}}}))
	for _, m := range []struct{ id, sid string }{{"m1#0", "SM1"}, {"m2#0", "SM2"}} {
		_, ok, err := s.ClaimDelivery(ctx, m.id)
		require.NoError(t, err)
		require.True(t, ok)
		_, err = s.DeliveryAccepted(ctx, m.id, m.sid, "queued")
		require.NoError(t, err)
	}
	receipt := func(sid, status, payload string) persistence.ReceiptEnvelope {
		return persistence.ReceiptEnvelope{Envelope: persistence.Envelope{Source: "twilio", Key: "status:" + sid + ":" + status, Kind: "sms-status",
			TenantID: "acme", CorrelationID: "c", Payload: []byte(payload), ReceivedAt: time.Now()}, SID: sid, Status: status}
	}
	ok := func(sid, status string) persistence.ReceiptEnvelope {
		return receipt(sid, status, `{"message_sid":"`+sid+`","status":"`+status+`"}`)
	}

	got, errs := s.StoreReceipts(ok("SM2", "delivered"), ok("SM1", "sent"), ok("SM1", "sent"), ok("SM9", "sent"))
	require.Equal(t, []error{nil, nil, nil, nil}, errs)
	require.True(t, got[0].Inserted)
	require.True(t, got[0].Exists)
	require.NotNil(t, got[0].Advanced)
	require.Equal(t, "delivered", got[0].Advanced.Status)
	require.Equal(t, st.ID.String(), got[0].Advanced.ConversationID)
	require.True(t, got[1].Inserted)
	require.Equal(t, "sent", got[1].Advanced.Status)
	require.False(t, got[2].Inserted, "the same receipt twice is stored once")
	require.Nil(t, got[2].Advanced, "and moves nothing the second time")
	require.True(t, got[3].Inserted)
	require.False(t, got[3].Exists, "a receipt before its acceptance is kept")

	// One receipt Postgres refuses (a payload that is not JSON): the others still land.
	got, errs = s.StoreReceipts(ok("SM1", "delivered"), receipt("SM2", "failed", `not json`))
	require.NoError(t, errs[0])
	require.Error(t, errs[1])
	require.Equal(t, "delivered", got[0].Advanced.Status)
	// A later, lower receipt changes nothing (monotonic).
	got, errs = s.StoreReceipts(ok("SM1", "sent"), ok("SM2", "sent"))
	require.Equal(t, []error{nil, nil}, errs)
	require.Nil(t, got[0].Advanced)
	require.Nil(t, got[1].Advanced)

	unprocessed, err := s.Unprocessed(ctx, time.Time{}, 10)
	require.NoError(t, err)
	require.Empty(t, unprocessed, "a receipt's envelope is stored processed")
}

// TestOutboxClaimsAndAcceptancesShareACall: the acceptance of one SMS and the claims of
// the next ride one transaction, each with its own outcome; an id claimed twice in it is
// claimed once, and an early receipt still wins over the acceptance's status.
func TestOutboxClaimsAndAcceptancesShareACall(t *testing.T) {
	t.Parallel()
	s, ctx := newConversations(t)
	st := conversation.State{ID: uuid.New(), TenantID: "acme", Endpoint: "+15125550100", Phone: "+15125550199", Stage: conversation.Idle, Version: 1}
	require.NoError(t, s.Save(ctx, conversation.Commit{State: st, Outgoing: []conversation.Outgoing{
		{ClientMessageID: "sent#0", Body: "one", Kind: "auto_reply"},
		{ClientMessageID: "next#0", Body: "two", Kind: "reply"},
		{ClientMessageID: "other#0", Body: "three", Kind: "reply"}}}))
	_, ok, err := s.ClaimDelivery(ctx, "sent#0")
	require.NoError(t, err)
	require.True(t, ok)
	// Twilio's 'delivered' arrived before its answer to the send.
	_, err = s.StoreReceipt(ctx, persistence.ReceiptEnvelope{Envelope: persistence.Envelope{Source: "twilio", Key: "status:SM1:delivered",
		Kind: "sms-status", TenantID: "acme", CorrelationID: "c", Payload: []byte(`{"message_sid":"SM1","status":"delivered"}`),
		ReceivedAt: time.Now()}, SID: "SM1", Status: "delivered"})
	require.NoError(t, err)

	claimed, stored, failed := s.OutboxBatch([]string{"next#0", "other#0", "next#0", "missing#0"}, map[string]string{"sent#0": "SM1"})
	require.Empty(t, failed)
	require.Equal(t, map[string]bool{"next#0": true, "other#0": true}, claimed)
	require.Equal(t, map[string]string{"sent#0": "delivered"}, stored)
	_, ok, err = s.ClaimDelivery(ctx, "next#0")
	require.NoError(t, err)
	require.False(t, ok, "claimed already")

	// One acceptance Postgres refuses (a sid another delivery has) costs nothing else of
	// the call: the other acceptance and the claim still land.
	st.Version = 2
	require.NoError(t, s.Save(ctx, conversation.Commit{State: st, Outgoing: []conversation.Outgoing{
		{ClientMessageID: "a#1", Body: "a", Kind: "reply"}, {ClientMessageID: "b#1", Body: "b", Kind: "reply"},
		{ClientMessageID: "c#1", Body: "c", Kind: "reply"}}}))
	for _, id := range []string{"a#1", "b#1"} {
		_, ok, err := s.ClaimDelivery(ctx, id)
		require.NoError(t, err)
		require.True(t, ok)
	}
	claimed, stored, failed = s.OutboxBatch([]string{"c#1"}, map[string]string{"a#1": "SM2", "b#1": "SM1"})
	require.Equal(t, map[string]bool{"c#1": true}, claimed)
	require.Equal(t, map[string]string{"a#1": "queued"}, stored)
	require.Len(t, failed, 1)
	require.Error(t, failed["b#1"])
}
