package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"ringback/actors/conversation"
	"ringback/clock"
	"ringback/comms/twilio"
	"ringback/fakes/twiliofake"
	ringhttp "ringback/http"
	"ringback/persistence"
	"ringback/persistence/pgtest"
)

const (
	twilioSID   = "AC00000000000000000000000000000001"
	twilioToken = "testtoken123"
	business    = "+15125550100"
	customer    = "+15125550199"
)

// smsEngine is an engine wired to a fake Twilio through the real twilio-go client.
type smsEngine struct {
	*testEngine
	twilio *twiliofake.Server
	seq    atomic.Int64
}

// newSMSEngine runs an engine on a fresh database; hooks adjust its Config (other fakes).
func newSMSEngine(t testing.TB, clk *clock.Fake, hooks ...func(*Config)) *smsEngine {
	t.Helper()
	fake := twiliofake.New(twilioSID, twilioToken)
	t.Cleanup(fake.Close)
	pool := pgtest.Pool(t)
	// The engine's public URL is its own loopback server, so the fake's status callbacks
	// reach it; the handler is plugged in once the engine exists.
	var handler atomic.Pointer[http.Handler]
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) }))
	cfg := Config{AdminToken: adminToken, PublicURL: srv.URL, TwilioAccountSID: twilioSID, TwilioAuthToken: twilioToken, TwilioAPIURL: fake.URL()}
	for _, h := range hooks {
		h(&cfg)
	}
	eng, err := assemble(cfg, pool, testBox(t), quietLog(), clk)
	require.NoError(t, err)
	t.Cleanup(eng.stop)
	handler.Store(&eng.handler)
	return &smsEngine{testEngine: &testEngine{t: t, eng: eng, srv: srv, pool: pool, clock: clk}, twilio: fake}
}

// post sends a correctly signed Twilio webhook.
func (e *smsEngine) post(path string, form url.Values, signature ...string) response {
	e.t.Helper()
	sig := twilio.Sign(twilioToken, e.srv.URL+path, form)
	if len(signature) > 0 {
		sig = signature[0]
	}
	return e.do(http.MethodPost, path, "", form.Encode(), "Content-Type: application/x-www-form-urlencoded", "X-Twilio-Signature: "+sig)
}

func (e *smsEngine) missedCall(from string) response {
	e.t.Helper()
	return e.post("/webhooks/twilio/voice", url.Values{"CallSid": {fmt.Sprintf("CA%032d", e.seq.Add(1))}, "From": {from}, "To": {business},
		"CallStatus": {"no-answer"}, "AccountSid": {twilioSID}, "Direction": {"inbound"}})
}

func (e *smsEngine) sms(from, body string) response {
	e.t.Helper()
	return e.post("/webhooks/twilio/sms", url.Values{"MessageSid": {fmt.Sprintf("SM%032d", e.seq.Add(1))}, "From": {from}, "To": {business},
		"Body": {body}, "AccountSid": {twilioSID}})
}

// settle waits until the conversation has finished every event and the outbox has handed
// every committed message to the fake: signals, not sleeps.
func (e *smsEngine) settle(phone string) {
	e.t.Helper()
	_, err := e.eng.directory.Request(context.Background(), conversation.Kind, conversation.Identity(business, phone), &conversation.FlushRequest{}, 10*time.Second)
	require.NoError(e.t, err)
	e.flush()
	var committed int
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM conversation.deliveries WHERE status NOT IN ('suppressed', 'failed')`).Scan(&committed))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = e.twilio.WaitForMessages(ctx, committed)
	require.NoError(e.t, err, "the outbox must send every committed message")
	e.eng.outbox.Idle()
}

// texts are the bodies the fake Twilio received for a phone, in order.
func (e *smsEngine) texts(phone string) []string {
	var out []string
	for _, m := range e.twilio.Messages() {
		if m.To == phone {
			out = append(out, m.Body)
		}
	}
	return out
}

func (e *smsEngine) state(phone string) conversation.State {
	e.t.Helper()
	res, err := e.eng.directory.Request(context.Background(), conversation.Kind, conversation.Identity(business, phone), &conversation.StateRequest{}, 5*time.Second)
	require.NoError(e.t, err)
	return res.(*conversation.StateResponse).State
}

// optOutListed reports whether phone is on the opt-out list the outbox checks at every
// claim (what stops a reply queued before a STOP).
func (e *smsEngine) optOutListed(phone string) bool {
	e.t.Helper()
	var listed bool
	require.NoError(e.t, e.pool.QueryRow(context.Background(),
		`SELECT EXISTS (SELECT 1 FROM conversation.opt_outs WHERE endpoint = $1 AND customer_phone = $2)`, business, phone).Scan(&listed))
	return listed
}

func TestMissedCallToBookedVisitOverSMS(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)

	r := e.missedCall(customer)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>`, string(r.body))
	e.settle(customer)
	texts := e.texts(customer)
	require.Len(t, texts, 1, "one auto-reply")
	require.Contains(t, texts[0], "Acme Plumbing")
	require.Contains(t, texts[0], "1) ")
	require.Contains(t, texts[0], "3) ")
	require.Contains(t, texts[0], "$210.00")
	require.True(t, strings.HasSuffix(texts[0], "Reply STOP to opt out"), texts[0])
	require.Equal(t, 1, testutil.CollectAndCount(e.eng.metrics.AutoSMSLatency))

	// "2" holds the second option.
	require.Equal(t, http.StatusOK, e.sms(customer, "2").status)
	e.settle(customer)
	st := e.state(customer)
	require.Equal(t, conversation.Holding, st.Stage)
	require.Contains(t, e.texts(customer)[1], "YES")
	require.Equal(t, 1, e.liveClaims("acme", st.Hold.ResourceID))

	// YES books it: an appointment in Postgres, a booked confirmation in local time.
	require.Equal(t, http.StatusOK, e.sms(customer, "yes!").status)
	e.settle(customer)
	st = e.state(customer)
	require.Equal(t, conversation.Booked, st.Stage)
	var status string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT status FROM fulfillment.appointments WHERE id = $1`, st.AppointmentID).Scan(&status))
	require.Equal(t, "booked", status)
	booked := e.texts(customer)[2]
	require.Contains(t, booked, st.Hold.Start.In(mustZone("America/Chicago")).Format("3:04 PM"), "the booked time in local time")

	// The business reads it all in the admin API.
	r = e.do(http.MethodGet, "/admin/v1/tenants/acme/conversations?phone="+url.QueryEscape(customer), adminToken, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), `"state":"booked"`)
	require.Contains(t, string(r.body), `"body":"yes!"`)
}

func TestStopSilencesEvenMissedCallsUntilStart(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)

	e.missedCall(customer)
	e.settle(customer)
	require.False(t, e.optOutListed(customer))
	require.Equal(t, http.StatusOK, e.sms(customer, "Stop.").status)
	e.settle(customer)
	require.Len(t, e.texts(customer), 2)
	require.Contains(t, e.texts(customer)[1], "unsubscribed")
	require.True(t, e.optOutListed(customer), "the outbox suppresses anything still queued for this number")

	// A second STOP, a missed call a day later (past the cooldown), anything else: silence.
	e.sms(customer, "STOP")
	e.clock.Advance(25 * time.Hour)
	e.missedCall(customer)
	e.sms(customer, "hello?")
	e.settle(customer)
	require.Len(t, e.texts(customer), 2, "nothing more to an opted-out number")

	// HELP is always answered; START opts back in; then missed calls are answered again.
	e.sms(customer, "help")
	e.settle(customer)
	require.Contains(t, e.texts(customer)[2], "Acme Plumbing")
	require.True(t, e.optOutListed(customer), "steps that do not change the opt-out keep it listed")
	e.sms(customer, "START")
	e.settle(customer)
	require.Len(t, e.texts(customer), 4)
	require.False(t, e.optOutListed(customer))
	e.missedCall(customer)
	e.settle(customer)
	require.Len(t, e.texts(customer), 5)
	require.Contains(t, e.texts(customer)[4], "1) ")
}

func TestCooldownAllowsOneAutoReplyPerWindow(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	e.missedCall(customer)
	e.missedCall(customer)
	e.settle(customer)
	require.Len(t, e.texts(customer), 1)
	e.clock.Advance(24 * time.Hour)
	e.missedCall(customer)
	e.settle(customer)
	require.Len(t, e.texts(customer), 2, "the cooldown (24h) is over")
}

func TestDuplicateWebhooksHaveOneEffectAndBadSignaturesNone(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	form := url.Values{"CallSid": {"CA00000000000000000000000000000042"}, "From": {customer}, "To": {business}, "CallStatus": {"busy"}}
	for range 3 {
		require.Equal(t, http.StatusOK, e.post("/webhooks/twilio/voice", form).status)
	}
	e.settle(customer)
	require.Len(t, e.texts(customer), 1)
	require.Equal(t, 2.0, testutil.ToFloat64(e.eng.metrics.Webhooks.WithLabelValues("twilio", "missed-call", "duplicate")))

	other := "+15125550188"
	bad := url.Values{"CallSid": {"CA00000000000000000000000000000043"}, "From": {other}, "To": {business}, "CallStatus": {"busy"}}
	r := e.post("/webhooks/twilio/voice", bad, "forged")
	require.Equal(t, http.StatusForbidden, r.status)
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM conversation.webhook_envelopes WHERE payload->>'from' = $1`, other).Scan(&n))
	require.Zero(t, n, "nothing stored for a forged webhook")

	unknown := url.Values{"CallSid": {"CA00000000000000000000000000000044"}, "From": {other}, "To": {"+15125550111"}, "CallStatus": {"busy"}}
	require.Equal(t, http.StatusNotFound, e.post("/webhooks/twilio/voice", unknown).status)
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM conversation.webhook_envelopes WHERE payload->>'from' = $1`, other).Scan(&n))
	require.Zero(t, n, "nothing stored for a number no tenant owns")
}

func TestMissedCallInQuietHoursIsAnsweredWhenTheyEnd(t *testing.T) {
	t.Parallel()
	// 22:30 Sunday in Chicago; quiet hours 21:00-08:00.
	e := newSMSEngine(t, clock.NewFake(monday0600.Add(-7*time.Hour-30*time.Minute)))
	e.apply(strings.Replace(plumber, `default_service: drain`, `default_service: drain
    quiet_hours: { start: "21:00", end: "08:00" }`, 1))
	e.missedCall(customer)
	e.settle(customer)
	require.Empty(t, e.texts(customer), "nothing inside quiet hours")
	require.NotNil(t, e.state(customer).Deferred)

	e.clock.Advance(9*time.Hour + 30*time.Minute) // 08:00 Monday: the timer fires
	e.settle(customer)
	require.Len(t, e.texts(customer), 1)
	require.Contains(t, e.texts(customer)[0], "1) ")
}

func TestYesAfterTheHoldExpiredNeverSaysBooked(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	e.missedCall(customer)
	e.settle(customer)
	e.sms(customer, "1")
	e.settle(customer)
	require.Equal(t, conversation.Holding, e.state(customer).Stage)

	e.clock.Advance(11 * time.Minute) // past hold_ttl (10m)
	e.flush()
	e.sms(customer, "Y")
	e.settle(customer)
	texts := e.texts(customer)
	require.Len(t, texts, 3)
	require.NotContains(t, strings.ToLower(texts[2]), "booked")
	require.Contains(t, texts[2], "1) ", "fresh options instead")
	require.Equal(t, conversation.Offered, e.state(customer).Stage)
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM fulfillment.appointments`).Scan(&n))
	require.Zero(t, n)
}

func TestDeliveryReceiptsNeverMoveBackwards(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.twilio.CallbackOrder([]string{"delivered", "sent"}) // the late "sent" arrives last
	e.apply(plumber)
	e.missedCall(customer)
	e.settle(customer)
	sid := e.twilio.Messages()[0].SID
	e.twilio.Close() // a barrier: Close waits for the callbacks in flight
	var status string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT status FROM conversation.deliveries WHERE provider_sid = $1`, sid).Scan(&status))
	require.Equal(t, "delivered", status)
}

func TestPBXMissedCallNeedsTheEndpointsHMAC(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	const secret = "pbx-secret-0123456789"
	e.apply(strings.Replace(plumber, "    send_rate: 50", "    send_rate: 50\n    pbx_secret: \""+secret+"\"", 1))
	body := `{"call_id":"pbx-1","from":"` + customer + `","to":"` + business + `","ended_at":"2030-01-07T12:00:00Z"}`
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))

	require.Equal(t, http.StatusForbidden, e.do(http.MethodPost, "/webhooks/pbx/missed-call", "", body, "X-Signature: sha256=00").status)
	require.Equal(t, http.StatusOK, e.do(http.MethodPost, "/webhooks/pbx/missed-call", "", body, "X-Signature: "+sig).status)
	require.Equal(t, http.StatusOK, e.do(http.MethodPost, "/webhooks/pbx/missed-call", "", body, "X-Signature: "+sig).status, "a redelivery")
	e.settle(customer)
	require.Len(t, e.texts(customer), 1)
}

// TestAcceptedWebhooksAreReplayedAfterACrash: a webhook was stored (and answered 200) but
// the process died before the conversation handled it; the next start handles it.
func TestAcceptedWebhooksAreReplayedAfterACrash(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	payload, err := json.Marshal(ringhttp.WebhookPayload{From: customer, To: business, CallSid: "CA-crash", Status: "no-answer"})
	require.NoError(t, err)
	stored, err := e.eng.conversations.StoreEnvelope(context.Background(), persistence.Envelope{Source: "twilio", Key: "voice:CA-crash:no-answer",
		Kind: ringhttp.KindMissedCall, TenantID: "acme", CorrelationID: "c1", Payload: payload, ReceivedAt: monday0600})
	require.NoError(t, err)
	require.True(t, stored)

	require.NoError(t, e.eng.recover(context.Background()))
	e.settle(customer)
	require.Len(t, e.texts(customer), 1)
	require.Equal(t, "c1", e.twilio.Messages()[0].CorrelationID, "a replay keeps the envelope's correlation id")
	var unprocessed int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM conversation.webhook_envelopes WHERE processed_at IS NULL AND key = 'voice:CA-crash:no-answer'`).Scan(&unprocessed))
	require.Zero(t, unprocessed)

	// Replaying again (another restart) sends nothing more.
	require.NoError(t, e.eng.recover(context.Background()))
	e.settle(customer)
	require.Len(t, e.texts(customer), 1)
}

// TestLostDispatchIsRedispatchedByTheSweep: an envelope left unprocessed for more than a
// minute while the engine runs (its dispatch met an actor that was just passivating) is
// handed to the conversation again; a fresh one is left to its own dispatch.
func TestLostDispatchIsRedispatchedByTheSweep(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	store := func(key, from string, at time.Time) {
		payload, err := json.Marshal(ringhttp.WebhookPayload{From: from, To: business, CallSid: key, Status: "no-answer"})
		require.NoError(t, err)
		_, err = e.eng.conversations.StoreEnvelope(context.Background(), persistence.Envelope{Source: "twilio", Key: "voice:" + key + ":no-answer",
			Kind: ringhttp.KindMissedCall, TenantID: "acme", CorrelationID: key, Payload: payload, ReceivedAt: at})
		require.NoError(t, err)
	}
	const fresh = "+15125550177"
	store("CA-lost", customer, time.Now().Add(-2*time.Minute))
	store("CA-fresh", fresh, time.Now())

	require.NoError(t, e.eng.redispatch(context.Background(), time.Now().Add(-time.Minute)))
	e.settle(customer)
	require.Len(t, e.texts(customer), 1)
	require.Empty(t, e.texts(fresh), "a fresh envelope is not the sweep's business")
}

// TestASendLeftByADeadEngineIsSentAMinuteLater: an engine claimed a delivery (sending)
// and died before its send was recorded. The sweep leaves a claim alone while its send
// may still be in flight (a send is bounded to 30 s) and sends it once the claim is a
// minute old, not the five it used to wait.
func TestASendLeftByADeadEngineIsSentAMinuteLater(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	e.missedCall(customer)
	e.settle(customer)
	require.Len(t, e.texts(customer), 1)
	// The same delivery, as a dead engine would have left it: claimed, never recorded.
	claimed := func(ago time.Duration) {
		_, err := e.pool.Exec(context.Background(), `UPDATE conversation.deliveries SET status = 'sending', provider_sid = NULL,
			updated_at = now() - $1::interval`, fmt.Sprintf("%d seconds", int(ago.Seconds())))
		require.NoError(t, err)
	}
	claimed(30 * time.Second)
	require.NoError(t, e.eng.resend(context.Background(), time.Now()))
	e.eng.outbox.Idle()
	require.Len(t, e.texts(customer), 1, "a claim 30 s old may still be at the provider")

	claimed(70 * time.Second)
	require.NoError(t, e.eng.resend(context.Background(), time.Now()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := e.twilio.WaitForMessages(ctx, 2)
	require.NoError(t, err, "a claim a minute old is sent again")
	require.Len(t, e.texts(customer), 2)
}
