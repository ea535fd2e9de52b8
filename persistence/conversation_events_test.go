package persistence_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"ringback/actors/conversation"
	"ringback/persistence"
	"ringback/persistence/pgtest"
	"ringback/secrets"
)

func newConversations(t *testing.T) (*persistence.Conversations, context.Context) {
	t.Helper()
	box, err := secrets.NewBox("")
	require.NoError(t, err)
	return persistence.NewConversations(pgtest.Pool(t), box), context.Background()
}

func storeEnvelope(t *testing.T, s *persistence.Conversations, key, kind string, payload any) {
	t.Helper()
	raw, err := json.Marshal(payload)
	require.NoError(t, err)
	stored, err := s.StoreEnvelope(context.Background(), persistence.Envelope{Source: "twilio", Key: key, Kind: kind, TenantID: "acme",
		CorrelationID: key, Payload: raw, ReceivedAt: time.Now()})
	require.NoError(t, err)
	require.True(t, stored)
}

// TestSaveRefusesAStepOfAProcessedEnvelope: the same webhook handed to a conversation
// twice commits once; the repeat writes nothing (so its events are never recorded).
func TestSaveRefusesAStepOfAProcessedEnvelope(t *testing.T) {
	t.Parallel()
	s, ctx := newConversations(t)
	const key = "voice:CA1:no-answer"
	storeEnvelope(t, s, key, "missed-call", map[string]string{"from": "+15125550199", "to": "+15125550100"})
	st := conversation.State{ID: uuid.New(), TenantID: "acme", Endpoint: "+15125550100", Phone: "+15125550199", Stage: conversation.Idle, Version: 1}
	require.NoError(t, s.Save(ctx, conversation.Commit{State: st, EnvelopeKey: key}))

	st.Version, st.LastAckAt = 2, time.Date(2030, 1, 7, 12, 0, 0, 0, time.UTC)
	require.ErrorIs(t, s.Save(ctx, conversation.Commit{State: st, EnvelopeKey: key}), conversation.ErrRepeated)
	got, err := s.Load(ctx, st.Endpoint, st.Phone)
	require.NoError(t, err)
	require.Equal(t, int64(1), got.Version, "nothing of the repeat was written")
	require.True(t, got.LastAckAt.IsZero())

	require.NoError(t, s.Save(ctx, conversation.Commit{State: st}), "a step of no webhook is not a repeat")
	st.Version = 2
	require.ErrorIs(t, s.Save(ctx, conversation.Commit{State: st}), conversation.ErrStale, "a stale version is still stale")
}

// TestDeliveriesReportTheStatusTheyReached: the outbox learns a delivery's conversation
// when it claims it and the status its acceptance left; a receipt reports the delivery
// only when it moved it forward.
func TestDeliveriesReportTheStatusTheyReached(t *testing.T) {
	t.Parallel()
	s, ctx := newConversations(t)
	st := conversation.State{ID: uuid.New(), TenantID: "acme", Endpoint: "+15125550100", Phone: "+15125550199", Stage: conversation.Idle, Version: 1}
	require.NoError(t, s.Save(ctx, conversation.Commit{State: st, Outgoing: []conversation.Outgoing{
		{ClientMessageID: "m1#0", Body: "hello", Kind: "auto_reply"},
		{ClientMessageID: "m2#0", Body: "again", Kind: "reply"},
	}}))

	d, ok, err := s.ClaimDelivery(ctx, "m1#0")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, st.ID.String(), d.ConversationID)
	status, err := s.DeliveryAccepted(ctx, "m1#0", "SM1", "queued")
	require.NoError(t, err)
	require.Equal(t, "queued", status)

	exists, advanced, err := s.ApplyReceipt(ctx, "SM1", "undelivered", 30003)
	require.NoError(t, err)
	require.True(t, exists)
	require.Equal(t, &persistence.Receipt{TenantID: "acme", ClientMessageID: "m1#0", Kind: "auto_reply", ConversationID: st.ID.String(),
		Status: "undelivered", ErrorCode: 30003}, advanced)
	for _, late := range []string{"undelivered", "sent"} {
		exists, advanced, err = s.ApplyReceipt(ctx, "SM1", late, 0)
		require.NoError(t, err)
		require.True(t, exists)
		require.Nil(t, advanced, "%s moves nothing", late)
	}
	exists, advanced, err = s.ApplyReceipt(ctx, "SM-unknown", "delivered", 0)
	require.NoError(t, err)
	require.False(t, exists)
	require.Nil(t, advanced)

	// A receipt that arrives before the acceptance is recorded moves nothing then; the
	// acceptance takes its status and says so.
	_, ok, err = s.ClaimDelivery(ctx, "m2#0")
	require.NoError(t, err)
	require.True(t, ok)
	storeEnvelope(t, s, "status:SM2:delivered", "sms-status", map[string]string{"message_sid": "SM2", "status": "delivered", "from": "+15125550100"})
	exists, advanced, err = s.ApplyReceipt(ctx, "SM2", "delivered", 0)
	require.NoError(t, err)
	require.False(t, exists)
	require.Nil(t, advanced)
	status, err = s.DeliveryAccepted(ctx, "m2#0", "SM2", "queued")
	require.NoError(t, err)
	require.Equal(t, "delivered", status)
}

// TestStrandedDeliveriesArePendingRowsNothingTouched: a step's outbox rows whose caller
// never handed them over are found once due and untouched; claimed, deferred or fresh
// ones are not.
func TestStrandedDeliveriesArePendingRowsNothingTouched(t *testing.T) {
	t.Parallel()
	s, ctx := newConversations(t)
	st := conversation.State{ID: uuid.New(), TenantID: "acme", Endpoint: "+15125550100", Phone: "+15125550199", Stage: conversation.Idle, Version: 1}
	require.NoError(t, s.Save(ctx, conversation.Commit{State: st, Outgoing: []conversation.Outgoing{
		{ClientMessageID: "stranded#0", Body: "hello", Kind: "auto_reply"},
		{ClientMessageID: "claimed#0", Body: "hi", Kind: "reply"},
		{ClientMessageID: "deferred#0", Body: "later", Kind: "reply"},
	}}))
	_, ok, err := s.ClaimDelivery(ctx, "claimed#0")
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = s.ClaimDelivery(ctx, "deferred#0")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.DeliveryDeferred(ctx, "deferred#0", time.Now().Add(time.Hour)))

	fresh, err := s.StrandedDeliveries(ctx, time.Now().Add(-time.Minute), time.Now().Add(-5*time.Minute), 10)
	require.NoError(t, err)
	require.Empty(t, fresh, "nothing is stranded a moment after its commit")
	later, err := s.StrandedDeliveries(ctx, time.Now().Add(time.Minute), time.Now().Add(-5*time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []string{"stranded#0"}, later)

	// A claim whose outcome the outbox never learned leaves the row 'sending': a plain
	// claim refuses it, a reclaim takes it, and long after, the sweep puts it back.
	_, ok, err = s.ClaimDelivery(ctx, "claimed#0")
	require.NoError(t, err)
	require.False(t, ok)
	d, ok, err := s.ReclaimDelivery(ctx, "claimed#0")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 2, d.Attempts)
	reset, err := s.StrandedDeliveries(ctx, time.Now().Add(-time.Minute), time.Now().Add(time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []string{"claimed#0"}, reset, "a send left unrecorded goes back to pending")
	_, ok, err = s.ClaimDelivery(ctx, "claimed#0")
	require.NoError(t, err)
	require.True(t, ok)
}

// TestFinishedDeliveriesAreNeverSweptOrRecovered: deliveries that ended without a provider
// sid (suppressed, failed, sandbox) or with one (accepted) are never handed over again,
// neither by the sweep nor by recovery after a crash; pending and sending ones are.
func TestFinishedDeliveriesAreNeverSweptOrRecovered(t *testing.T) {
	t.Parallel()
	s, ctx := newConversations(t)
	st := conversation.State{ID: uuid.New(), TenantID: "acme", Endpoint: "+15125550100", Phone: "+15125550199", Stage: conversation.Idle, Version: 1}
	out := []conversation.Outgoing{}
	for _, id := range []string{"pending", "sending", "failed", "sandbox", "accepted", "suppressed"} {
		out = append(out, conversation.Outgoing{ClientMessageID: id, Body: id, Kind: "reply"})
	}
	require.NoError(t, s.Save(ctx, conversation.Commit{State: st, Outgoing: out}))
	for _, id := range []string{"sending", "failed", "sandbox", "accepted"} {
		_, ok, err := s.ClaimDelivery(ctx, id)
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.NoError(t, s.DeliveryFailed(ctx, "failed", 21211))
	_, err := s.DeliveryAccepted(ctx, "sandbox", "", "sandbox")
	require.NoError(t, err)
	_, err = s.DeliveryAccepted(ctx, "accepted", "SM1", "queued")
	require.NoError(t, err)
	st.Version, st.Caller.OptedOut = 2, true
	require.NoError(t, s.Save(ctx, conversation.Commit{State: st}))
	_, ok, err := s.ClaimDelivery(ctx, "suppressed")
	require.NoError(t, err)
	require.False(t, ok, "opted out before its send")

	swept, err := s.StrandedDeliveries(ctx, time.Now().Add(time.Hour), time.Now().Add(time.Hour), 100)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"pending", "sending"}, swept)
	recovered, err := s.RecoverDeliveries(ctx)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"pending", "sending"}, recovered)
}
