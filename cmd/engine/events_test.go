package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ringback/actors/conversation"
	vsync "ringback/actors/sync"
	"ringback/clock"
	"ringback/fakes/googlefake"
	ringhttp "ringback/http"
	"ringback/persistence"
)

// exported is one line of the event export (GET /admin/v1/tenants/{t}/events).
type exported struct {
	Seq        int64           `json:"seq"`
	TenantID   string          `json:"tenant_id"`
	Kind       string          `json:"kind"`
	OccurredAt time.Time       `json:"occurred_at"`
	Subject    string          `json:"subject"`
	Data       json.RawMessage `json:"data"`
}

// data decodes the event's data.
func (x exported) data(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(x.Data, &m), "%s", x.Data)
	return m
}

// eventLog writes what the engine recorded so far (the writer's Flush is the signal) and
// reads the tenant's whole log back through the export, in pages, as an ETL job would.
func (e *testEngine) eventLog(tenantID string) []exported {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(e.t, e.eng.events.Flush(ctx))
	const limit = 7
	var out []exported
	since := "0"
	for {
		r := e.do(http.MethodGet, "/admin/v1/tenants/"+tenantID+"/events?limit="+strconv.Itoa(limit)+"&since="+since, adminToken, nil)
		require.Equal(e.t, http.StatusOK, r.status, "%s", r.body)
		require.Equal(e.t, "application/x-ndjson", r.header.Get("Content-Type"))
		n := 0
		for line := range bytes.Lines(r.body) {
			var x exported
			require.NoError(e.t, json.Unmarshal(line, &x), "%s", line)
			require.Equal(e.t, tenantID, x.TenantID)
			if len(out) > 0 {
				require.Greater(e.t, x.Seq, out[len(out)-1].Seq, "seq order")
			}
			out = append(out, x)
			n++
		}
		since = r.header.Get("X-Next-Since")
		if n < limit {
			return out
		}
	}
}

// about keeps the events with subject, optionally of the given kinds.
func about(log []exported, subject string, kinds ...string) []exported {
	var out []exported
	for _, x := range log {
		if x.Subject == subject && (len(kinds) == 0 || slices.Contains(kinds, x.Kind)) {
			out = append(out, x)
		}
	}
	return out
}

// ofKind keeps the events of one kind.
func ofKind(log []exported, kind string) []exported {
	var out []exported
	for _, x := range log {
		if x.Kind == kind {
			out = append(out, x)
		}
	}
	return out
}

func kindsOf(log []exported) []string {
	out := make([]string, len(log))
	for i, x := range log {
		out[i] = x.Kind
	}
	return out
}

// field reads one data field of each event.
func field(t testing.TB, log []exported, name string) []any {
	t.Helper()
	out := make([]any, len(log))
	for i, x := range log {
		out[i] = x.data(t)[name]
	}
	return out
}

// redispatch hands a stored (already processed) envelope to the conversations again, as
// a sweep racing the first dispatch would.
func (e *smsEngine) redispatch(key string) {
	e.t.Helper()
	var env persistence.Envelope
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT source, key, kind, tenant_id, correlation_id, payload, received_at
		FROM conversation.webhook_envelopes WHERE key = $1`, key).Scan(&env.Source, &env.Key, &env.Kind, &env.TenantID, &env.CorrelationID, &env.Payload, &env.ReceivedAt))
	var p ringhttp.WebhookPayload
	require.NoError(e.t, json.Unmarshal(env.Payload, &p))
	e.eng.dispatcher.Dispatch(context.Background(), env, p)
}

// TestEventLogFollowsAConversationToItsBooking drives one customer through the SMS flow
// and reads the conversation's events back from the export: each step once, redelivered
// webhooks and a repeated dispatch adding nothing, the hold and the booking linked to it.
func TestEventLogFollowsAConversationToItsBooking(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.twilio.DisableCallbacks() // receipts have their own test; here each message has one status
	e.apply(plumber)

	call := url.Values{"CallSid": {"CA00000000000000000000000000000e01"}, "From": {customer}, "To": {business}, "CallStatus": {"no-answer"}}
	require.Equal(t, http.StatusOK, e.post("/webhooks/twilio/voice", call).status)
	e.settle(customer)
	require.Equal(t, http.StatusOK, e.post("/webhooks/twilio/voice", call).status, "a redelivery")
	pick := url.Values{"MessageSid": {"SM00000000000000000000000000000e01"}, "From": {customer}, "To": {business}, "Body": {"2"}}
	require.Equal(t, http.StatusOK, e.post("/webhooks/twilio/sms", pick).status)
	e.settle(customer)
	require.Equal(t, http.StatusOK, e.post("/webhooks/twilio/sms", pick).status, "a redelivery")
	e.sms(customer, "YES")
	e.settle(customer)
	again := url.Values{"CallSid": {"CA00000000000000000000000000000e02"}, "From": {customer}, "To": {business}, "CallStatus": {"busy"}}
	require.Equal(t, http.StatusOK, e.post("/webhooks/twilio/voice", again).status) // inside the cooldown
	e.settle(customer)
	e.redispatch("voice:CA00000000000000000000000000000e02:busy") // processed already: refused
	e.settle(customer)
	e.sms(customer, "STOP")
	e.settle(customer)
	e.clock.Advance(25 * time.Hour) // past the cooldown
	e.missedCall(customer)
	e.settle(customer)
	e.sms(customer, "START")
	e.settle(customer)
	require.Len(t, e.texts(customer), 5, "auto-reply, held, booked, opted out, opted in")

	st := e.state(customer)
	log := e.eventLog("acme")
	conv := about(log, st.ID.String())
	require.Equal(t, []string{
		"missed_call.received", "auto_reply.sent", "options.offered", "delivery.status",
		"options.chosen", "delivery.status",
		"delivery.status",
		"missed_call.received", "auto_reply.suppressed",
		"consent.opted_out", "delivery.status",
		"missed_call.received", "auto_reply.suppressed",
		"consent.opted_in", "delivery.status",
	}, kindsOf(conv))

	missed := ofKind(conv, "missed_call.received")
	require.Equal(t, map[string]any{"endpoint": business, "source": "twilio"}, missed[0].data(t))
	sent := ofKind(conv, "auto_reply.sent")[0].data(t)
	require.Equal(t, "voice:CA00000000000000000000000000000e01:no-answer#0", sent["client_message_id"])
	require.Equal(t, []any{business, float64(3), false}, []any{sent["endpoint"], sent["options"], sent["deferred"]})
	at, err := time.Parse(time.RFC3339Nano, sent["missed_call_at"].(string))
	require.NoError(t, err)
	require.True(t, at.Equal(missed[0].OccurredAt), "missed_call_at %v is the call's occurred_at %v", at, missed[0].OccurredAt)

	offered := ofKind(conv, "options.offered")[0].data(t)
	require.Equal(t, []any{"auto_reply", "drain", float64(3)}, []any{offered["via"], offered["service_id"], offered["count"]})
	second := offered["slots"].([]any)[1].(map[string]any)
	require.Equal(t, []any{float64(21000), "USD"}, []any{second["quote_minor"], second["currency"]})

	// The choice names the hold; the hold and the booking follow it.
	chosen := ofKind(conv, "options.chosen")[0].data(t)
	holdID := st.Hold.HoldID.String()
	require.Equal(t, map[string]any{"option": float64(2), "hold_id": holdID, "resource_id": second["resource_id"],
		"service_id": "drain", "starts_at": second["starts_at"]}, chosen)
	require.Equal(t, st.Hold.Start.UTC().Format(time.RFC3339), second["starts_at"])
	placed := about(log, holdID)
	require.Equal(t, []string{"hold.placed"}, kindsOf(placed), "no hold.expired: it was booked")
	require.Equal(t, []any{second["resource_id"], second["starts_at"], float64(21000), "USD"},
		[]any{placed[0].data(t)["resource_id"], placed[0].data(t)["starts_at"], placed[0].data(t)["quote_minor"], placed[0].data(t)["currency"]})
	booked := about(log, st.AppointmentID.String())
	require.Equal(t, []string{"appointment.booked"}, kindsOf(booked))
	require.Equal(t, holdID, booked[0].data(t)["reservation_id"])
	require.Equal(t, second["starts_at"], booked[0].data(t)["starts_at"])

	require.Equal(t, []any{"cooldown", "opted_out"}, field(t, ofKind(conv, "auto_reply.suppressed"), "reason"))
	require.Equal(t, []any{"sms"}, field(t, ofKind(conv, "consent.opted_out"), "source"))
	require.Equal(t, []any{"sms"}, field(t, ofKind(conv, "consent.opted_in"), "source"))
	statuses := ofKind(conv, "delivery.status")
	require.Equal(t, []any{"auto_reply", "reply", "reply", "compliance", "compliance"}, field(t, statuses, "message_kind"))
	require.Equal(t, []any{"queued", "queued", "queued", "queued", "queued"}, field(t, statuses, "status"))
	require.Equal(t, sent["client_message_id"], statuses[0].data(t)["client_message_id"])

	// Nothing else in the tenant's log: no other subject, no customer number anywhere.
	subjects := map[string]bool{}
	for _, x := range log {
		subjects[x.Subject] = true
		require.NotContains(t, string(x.Data), customer[2:], "no customer phone in %s", x.Kind)
	}
	require.Len(t, subjects, 3, "the conversation, the hold, the appointment")
}

// TestEventLogRecordsQuietHoursDeferrals: a call inside quiet hours is deferred (until
// they end) and then answered, or suppressed when the caller opts out meanwhile.
func TestEventLogRecordsQuietHoursDeferrals(t *testing.T) {
	t.Parallel()
	// 22:30 Sunday in Chicago; quiet hours 21:00-08:00.
	e := newSMSEngine(t, clock.NewFake(monday0600.Add(-7*time.Hour-30*time.Minute)))
	e.twilio.DisableCallbacks()
	e.apply(strings.Replace(plumber, `default_service: drain`, `default_service: drain
    quiet_hours: { start: "21:00", end: "08:00" }`, 1))
	const other = "+15125550177"
	e.missedCall(customer)
	e.missedCall(other)
	e.settle(customer)
	e.settle(other)
	e.sms(other, "STOP")
	e.settle(other)
	e.clock.Advance(9*time.Hour + 30*time.Minute) // 08:00 Monday: the timers fire
	e.settle(customer)
	e.settle(other)

	log := e.eventLog("acme")
	answered := about(log, e.state(customer).ID.String())
	require.Equal(t, []string{"missed_call.received", "auto_reply.suppressed", "auto_reply.sent", "options.offered", "delivery.status"}, kindsOf(answered))
	until := at("08:00").UTC().Format(time.RFC3339)
	require.Equal(t, map[string]any{"endpoint": business, "reason": "quiet_hours_deferred", "until": until}, answered[1].data(t))
	sent := answered[2].data(t)
	require.Equal(t, []any{true, float64(3)}, []any{sent["deferred"], sent["options"]})
	require.Regexp(t, `^quiet:voice:CA\d+:no-answer#0$`, sent["client_message_id"])
	require.True(t, answered[2].OccurredAt.Equal(at("08:00")), "sent when quiet hours ended: %v", answered[2].OccurredAt)

	silenced := about(log, e.state(other).ID.String())
	require.Equal(t, []string{"missed_call.received", "auto_reply.suppressed", "auto_reply.suppressed", "consent.opted_out", "delivery.status"}, kindsOf(silenced))
	require.Equal(t, []any{"quiet_hours_deferred", "opted_out"}, field(t, silenced[1:3], "reason"))
}

// TestEventLogNamesAPBXMissedCallsSource: a PBX webhook's call is recorded as such, once.
func TestEventLogNamesAPBXMissedCallsSource(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.twilio.DisableCallbacks()
	const secret = "pbx-secret-0123456789"
	e.apply(strings.Replace(plumber, "    send_rate: 50", "    send_rate: 50\n    pbx_secret: \""+secret+"\"", 1))
	body := `{"call_id":"pbx-7","from":"` + customer + `","to":"` + business + `","ended_at":"2030-01-07T12:00:00Z"}`
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	for range 2 { // the second is a redelivery
		r := e.do(http.MethodPost, "/webhooks/pbx/missed-call", "", body, "X-Signature: sha256="+hex.EncodeToString(mac.Sum(nil)))
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	}
	e.settle(customer)

	conv := about(e.eventLog("acme"), e.state(customer).ID.String())
	require.Equal(t, []string{"missed_call.received", "auto_reply.sent", "options.offered", "delivery.status"}, kindsOf(conv))
	require.Equal(t, map[string]any{"endpoint": business, "source": "pbx"}, conv[0].data(t))
	require.Equal(t, "pbx:pbx-7#0", conv[1].data(t)["client_message_id"])
}

// TestEventLogRecordsBookingAPIChangesOnce: replayed holds, confirms, releases and
// cancels through the booking API record nothing the second time.
func TestEventLogRecordsBookingAPIChangesOnce(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)
	created := func(r response) string {
		t.Helper()
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, r.status, "%s", r.body)
		return r.json(t)["id"].(string)
	}

	kept := created(e.hold("acme", "mike", at("09:00"), "+15125550199", "Idempotency-Key: keep-1"))
	require.Equal(t, kept, created(e.hold("acme", "mike", at("09:00"), "+15125550199", "Idempotency-Key: keep-1")), "a replay")
	var apptID string
	for range 2 {
		r := e.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+kept+"/confirm", bookingKey, nil)
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		apptID = r.json(t)["appointment"].(map[string]any)["id"].(string)
	}
	r := e.do(http.MethodPost, "/api/v1/tenants/acme/appointments/"+apptID+"/reschedule", bookingKey, map[string]string{"starts_at": at("14:00").Format(time.RFC3339)})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	for range 2 {
		r = e.do(http.MethodPost, "/api/v1/tenants/acme/appointments/"+apptID+"/cancel", bookingKey, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	}

	released := created(e.hold("acme", "mike", at("08:00"), "+15125550198"))
	for range 2 {
		r = e.do(http.MethodDelete, "/api/v1/tenants/acme/reservations/"+released, bookingKey, nil)
		require.Less(t, r.status, 300, "%s", r.body)
	}
	expiring := created(e.hold("acme", "ana", at("13:00"), "+15125550197"))
	e.clock.Advance(11 * time.Minute) // past hold_ttl
	e.flush()

	log := e.eventLog("acme")
	require.Equal(t, []string{"hold.placed"}, kindsOf(about(log, kept)))
	appt := about(log, apptID)
	require.Equal(t, []string{"appointment.booked", "appointment.rescheduled", "appointment.cancelled"}, kindsOf(appt))
	require.Equal(t, kept, appt[0].data(t)["reservation_id"])
	require.Equal(t, map[string]any{"resource_id": "mike", "from_starts_at": utc("09:00"), "starts_at": utc("14:00"), "ends_at": utc("15:30")}, appt[1].data(t))
	require.Equal(t, map[string]any{"resource_id": "mike", "starts_at": utc("14:00")}, appt[2].data(t))
	require.True(t, appt[0].OccurredAt.Equal(monday0600), "booked at the engine's clock: %v", appt[0].OccurredAt)

	require.Equal(t, []string{"hold.placed", "hold.released"}, kindsOf(about(log, released)))
	exp := about(log, expiring)
	require.Equal(t, []string{"hold.placed", "hold.expired"}, kindsOf(exp))
	require.Equal(t, map[string]any{"resource_id": "ana"}, exp[1].data(t))
	require.True(t, exp[1].OccurredAt.Equal(monday0600.Add(11*time.Minute)), "expired when its timer fired: %v", exp[1].OccurredAt)
	placed := exp[0].data(t)
	require.Equal(t, map[string]any{"resource_id": "ana", "service_id": "drain", "starts_at": utc("13:00"), "ends_at": utc("14:30"),
		"expires_at": monday0600.Add(10 * time.Minute).UTC().Format(time.RFC3339), "quote_minor": float64(21000), "currency": "USD"}, placed)
	require.Len(t, log, 8)
}

// receipt posts a signed Twilio status callback for the message sid sent to phone.
func (e *smsEngine) receipt(sid, phone, status string, errorCode int) {
	e.t.Helper()
	form := url.Values{"MessageSid": {sid}, "MessageStatus": {status}, "From": {business}, "To": {phone}, "AccountSid": {twilioSID}}
	if errorCode != 0 {
		form.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	r := e.post("/webhooks/twilio/sms-status", form)
	require.Equal(e.t, http.StatusOK, r.status, "%s", r.body)
}

// sidOf is the provider sid of the first message the fake Twilio took for phone.
func (e *smsEngine) sidOf(phone string) string {
	e.t.Helper()
	for _, m := range e.twilio.Messages() {
		if m.To == phone {
			return m.SID
		}
	}
	e.t.Fatalf("no message to %s", phone)
	return ""
}

// TestEventLogRecordsDeliveryReceipts: a receipt that moves a delivery forward is one
// delivery.status; a late, repeated or replayed one records nothing.
func TestEventLogRecordsDeliveryReceipts(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.twilio.DisableCallbacks() // posted here, in a known order (the fake's own: below)
	const unlucky = "+15125550166"
	e.apply(plumber)
	e.missedCall(customer)
	e.missedCall(unlucky)
	e.settle(customer)
	e.settle(unlucky)

	sid := e.sidOf(customer)
	e.receipt(sid, customer, "sent", 0)
	e.receipt(sid, customer, "delivered", 0)
	e.receipt(sid, customer, "sent", 0)      // late: moves nothing
	e.receipt(sid, customer, "delivered", 0) // a redelivery: stored once
	e.receipt(e.sidOf(unlucky), unlucky, "undelivered", 30003)

	log := e.eventLog("acme")
	mine := about(log, e.state(customer).ID.String(), "delivery.status")
	require.Equal(t, []any{"queued", "sent", "delivered"}, field(t, mine, "status"))
	require.Equal(t, map[string]any{"client_message_id": mine[0].data(t)["client_message_id"], "message_kind": "auto_reply", "status": "delivered"}, mine[2].data(t))
	theirs := about(log, e.state(unlucky).ID.String(), "delivery.status")
	require.Equal(t, []any{"queued", "undelivered"}, field(t, theirs, "status"))
	require.Equal(t, float64(30003), theirs[1].data(t)["error_code"])

	// Applying the stored receipts again (a replay after a crash) records nothing.
	rows, err := e.pool.Query(context.Background(), `SELECT source, key, kind, tenant_id, correlation_id, payload, received_at
		FROM conversation.webhook_envelopes WHERE kind = 'sms-status'`)
	require.NoError(t, err)
	envs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (persistence.Envelope, error) {
		var env persistence.Envelope
		err := row.Scan(&env.Source, &env.Key, &env.Kind, &env.TenantID, &env.CorrelationID, &env.Payload, &env.ReceivedAt)
		return env, err
	})
	require.NoError(t, err)
	require.Len(t, envs, 3)
	for _, env := range envs {
		var p ringhttp.WebhookPayload
		require.NoError(t, json.Unmarshal(env.Payload, &p))
		e.eng.dispatcher.Replay(context.Background(), env, p)
	}
	require.Len(t, e.eventLog("acme"), len(log))
}

// TestEventLogRecordsTheFakeTwiliosCallbacksOnce: with the fake's own callbacks, which
// race the recording of the provider's answer, each status of a message is recorded at
// most once. (Seq order may put a receipt before the answer it raced; a message's
// statuses are ordered by their rank, and occurred_at never puts the receipt first.)
// Close is the barrier; it may cut the last callbacks short, so only that is asserted.
func TestEventLogRecordsTheFakeTwiliosCallbacksOnce(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	e.missedCall(customer)
	e.sms(customer, "1")
	e.settle(customer)
	e.twilio.Close()

	byMessage := map[string][]string{}
	for _, x := range about(e.eventLog("acme"), e.state(customer).ID.String(), "delivery.status") {
		d := x.data(t)
		byMessage[d["client_message_id"].(string)] = append(byMessage[d["client_message_id"].(string)], d["status"].(string))
	}
	require.Len(t, byMessage, 2)
	for id, statuses := range byMessage {
		require.NotEmpty(t, statuses)
		seen := map[string]bool{}
		for _, s := range statuses {
			require.Contains(t, []string{"queued", "sent", "delivered"}, s)
			require.False(t, seen[s], "%s: %s recorded twice: %v", id, s, statuses)
			seen[s] = true
		}
	}
}

// TestEventLogRecordsACarrierOptOut: Twilio refuses the auto-reply with 21610; the
// delivery fails with that code and the conversation records the carrier's opt-out.
func TestEventLogRecordsACarrierOptOut(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.twilio.OptOut(customer)
	e.apply(plumber)
	e.missedCall(customer)
	flushConversation := func() {
		_, err := e.eng.directory.Request(context.Background(), conversation.Kind, conversation.Identity(business, customer), &conversation.FlushRequest{}, 10*time.Second)
		require.NoError(t, err)
	}
	flushConversation()
	e.eng.outbox.Idle() // the refused send, which told the conversation
	flushConversation()

	conv := about(e.eventLog("acme"), e.state(customer).ID.String())
	require.Equal(t, []string{"missed_call.received", "auto_reply.sent", "options.offered", "delivery.status", "consent.opted_out"}, kindsOf(conv))
	require.Equal(t, []any{"failed", float64(21610)}, []any{conv[3].data(t)["status"], conv[3].data(t)["error_code"]})
	require.Equal(t, map[string]any{"endpoint": business, "source": "carrier"}, conv[4].data(t))
}

// TestEventLogRecordsSyncOutcomes: each vendor attempt is one sync.outcome, a retry
// carrying the vendor's error and the next attempt's number.
func TestEventLogRecordsSyncOutcomes(t *testing.T) {
	t.Parallel()
	w := newSyncWorld(t)
	w.google.FailNext(1, googlefake.ServerError())
	id := w.book(at("09:00"), "+15125550111")
	w.settle()
	w.clock.Advance(vsync.DefaultBackoff.Max)
	w.settle()

	outcomes := about(w.eventLog("acme"), id.String(), "sync.outcome")
	byProvider := map[string][]map[string]any{}
	for _, x := range outcomes {
		d := x.data(t)
		byProvider[d["provider"].(string)] = append(byProvider[d["provider"].(string)], d)
	}
	require.Len(t, byProvider["google"], 2)
	retry, ok := byProvider["google"][0], byProvider["google"][1]
	require.Equal(t, []any{"acme-google", "create", "retry", float64(1)}, []any{retry["connection_id"], retry["action"], retry["outcome"], retry["attempt"]})
	require.NotEmpty(t, retry["error"])
	require.LessOrEqual(t, len(retry["error"].(string)), 200+len("…"))
	require.Equal(t, map[string]any{"connection_id": "acme-google", "provider": "google", "action": "create", "outcome": "ok", "attempt": float64(2)}, ok)
	require.Equal(t, []map[string]any{{"connection_id": "acme-jobber", "provider": "jobber", "action": "create", "outcome": "ok", "attempt": float64(1)}},
		byProvider["jobber"])
}

// docQuery returns the SQL block that follows `<!-- query: name -->` in docs/EVENTS.md.
func docQuery(t *testing.T, name string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/EVENTS.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- query: " + name + " -->\\s*```sql\\n(.*?)```").FindSubmatch(doc)
	require.NotNil(t, m, "docs/EVENTS.md has no query %s", name)
	return string(m[1])
}

// TestDocumentedMetricsOnARealFlow runs both queries of docs/EVENTS.md on the events the
// engine recorded for a small day of business:
//
//	A  missed call → options → "1" (hold) → YES (booked)
//	B  missed call → options → "1" (hold) → the hold expires
//	C  STOP, then a missed call: no auto-reply
//	   a booking API hold, released
//
// Webhooks are stamped with the real time on arrival, the rest with the engine's clock:
// the fake clock starts a little after now so the two agree on what came first.
func TestDocumentedMetricsOnARealFlow(t *testing.T) {
	t.Parallel()
	began := time.Now()
	e := newSMSEngine(t, clock.NewFake(began.Add(10*time.Minute)))
	e.twilio.DisableCallbacks()
	e.apply(plumber)
	a, b, c := "+15125550181", "+15125550182", "+15125550183"

	e.missedCall(a)
	e.settle(a)
	e.sms(a, "1")
	e.settle(a)
	e.sms(a, "YES")
	e.settle(a)
	require.Equal(t, conversation.Booked, e.state(a).Stage)

	e.missedCall(b)
	e.settle(b)
	e.sms(b, "1")
	e.settle(b)
	e.clock.Advance(11 * time.Minute) // past hold_ttl
	e.flush()

	e.sms(c, "STOP")
	e.settle(c)
	e.missedCall(c)
	e.settle(c)

	r := e.do(http.MethodGet, "/api/v1/tenants/acme/availability?service=drain&limit=1&from="+e.clock.Now().UTC().Format(time.RFC3339)+
		"&to="+e.clock.Now().Add(14*24*time.Hour).UTC().Format(time.RFC3339), bookingKey, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	slot := r.json(t)["slots"].([]any)[0].(map[string]any)
	start, err := time.Parse(time.RFC3339, slot["starts_at"].(string))
	require.NoError(t, err)
	r = e.hold("acme", slot["resource_id"].(string), start, "+15125550184")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r = e.do(http.MethodDelete, "/api/v1/tenants/acme/reservations/"+r.json(t)["id"].(string), bookingKey, nil)
	require.Less(t, r.status, 300, "%s", r.body)
	e.flush()

	log := e.eventLog("acme")
	require.Len(t, ofKind(log, "hold.placed"), 3)
	require.Len(t, ofKind(log, "hold.expired"), 1)
	require.Len(t, ofKind(log, "hold.released"), 1)

	ctx := context.Background()
	from, to := began.Add(-time.Hour), e.clock.Now().Add(time.Hour)
	var holds, booked int64
	var rate float64
	require.NoError(t, e.pool.QueryRow(ctx, docQuery(t, "booking_success_rate"), "acme", from, to).Scan(&holds, &booked, &rate))
	require.Equal(t, []any{int64(3), int64(1), 0.3333}, []any{holds, booked, rate}, "A's, B's and the API's holds; A's booked")

	var calls, replied, converted int64
	require.NoError(t, e.pool.QueryRow(ctx, docQuery(t, "auto_reply_conversion"), "acme", from, to, "7 days").Scan(&calls, &replied, &converted, &rate))
	require.Equal(t, []any{int64(3), int64(2), int64(1), 0.3333}, []any{calls, replied, converted, rate}, "A, B, C called; A and B answered; A booked")
}
