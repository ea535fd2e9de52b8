package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"ringback/actors/conversation"
	"ringback/clock"
	"ringback/reminders"
	"ringback/vendors/google"
)

// reminderRow is a row of fulfillment.reminders as a test reads it.
type reminderRow struct {
	kind    string
	offset  time.Duration
	version int64
	due     time.Time
	state   string
	reason  string
}

func (e *smsEngine) reminderRows(appt uuid.UUID) []reminderRow {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT kind, offset_seconds, version, due_at, state, COALESCE(reason, '')
		FROM fulfillment.reminders WHERE appointment_id = $1 ORDER BY version, kind DESC, due_at`, appt)
	require.NoError(e.t, err)
	defer rows.Close()
	var out []reminderRow
	for rows.Next() {
		var r reminderRow
		var off int64
		require.NoError(e.t, rows.Scan(&r.kind, &off, &r.version, &r.due, &r.state, &r.reason))
		r.offset = time.Duration(off) * time.Second
		out = append(out, r)
	}
	require.NoError(e.t, rows.Err())
	return out
}

// book reserves start on Mike for phone through the booking API and confirms it.
func (e *smsEngine) book(start time.Time, phone string) uuid.UUID {
	e.t.Helper()
	r := e.hold("acme", "mike", start, phone)
	require.Equal(e.t, http.StatusCreated, r.status, "%s", r.body)
	r = e.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+r.json(e.t)["id"].(string)+"/confirm", bookingKey, nil)
	require.Equal(e.t, http.StatusCreated, r.status, "%s", r.body)
	return uuid.MustParse(r.json(e.t)["appointment"].(map[string]any)["id"].(string))
}

// remindAt moves the clock to at, runs a scheduler round and waits until what it handed
// over is sent. It returns the texts the customer got in the round.
func (e *smsEngine) remindAt(at time.Time) []string {
	e.t.Helper()
	before := len(e.texts(customer))
	if d := at.Sub(e.clock.Now()); d > 0 {
		e.clock.Advance(d)
	}
	_, err := e.eng.reminders.Tick(context.Background())
	require.NoError(e.t, err)
	e.settle(customer)
	return e.texts(customer)[before:]
}

func (e *smsEngine) remindersTotal(outcome string) float64 {
	return testutil.ToFloat64(e.eng.metrics.Reminders.WithLabelValues(outcome))
}

func chicago(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, mustZone("America/Chicago"))
}

// A visit booked three days ahead gets exactly two reminders, the day before at the same
// local time and two hours before, each once, saying when, who and how much, and asking
// for Y or R; unanswered by four hours before, the visit is listed unconfirmed and the
// owner alerted, once.
func TestRemindersOfAVisitBookedDaysAhead(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(withOwner(plumber))
	visit := chicago(2030, 1, 10, 10, 0) // Thursday
	appt := e.book(visit, customer)

	rows := e.reminderRows(appt)
	require.Len(t, rows, 3)
	require.Equal(t, reminderRow{kind: "reminder", offset: 24 * time.Hour, version: 1, due: chicago(2030, 1, 9, 10, 0).UTC(), state: "pending"}, norm(rows[0]))
	require.Equal(t, reminderRow{kind: "reminder", offset: 2 * time.Hour, version: 1, due: chicago(2030, 1, 10, 8, 0).UTC(), state: "pending"}, norm(rows[1]))
	require.Equal(t, reminderRow{kind: "deadline", offset: 4 * time.Hour, version: 1, due: chicago(2030, 1, 10, 6, 0).UTC(), state: "pending"}, norm(rows[2]))

	require.Empty(t, e.remindAt(chicago(2030, 1, 9, 9, 59)), "nothing before its time")
	got := e.remindAt(chicago(2030, 1, 9, 10, 0))
	require.Equal(t, []string{"Reminder: your visit with Acme Plumbing is Thu Jan 10, 10:00 AM with Mike ($210.00). Reply Y to confirm or R for a new time."}, got)
	require.Empty(t, e.remindAt(chicago(2030, 1, 9, 12, 0)), "sent once")
	require.Equal(t, "sent", e.reminderRows(appt)[0].state)

	// The deadline passes unanswered: listed unconfirmed, the owner told once.
	e.remindAt(chicago(2030, 1, 10, 6, 0))
	alerts := e.texts(ownerPhone)
	require.Len(t, alerts, 1)
	require.Contains(t, alerts[0], "has not confirmed their visit Thu Jan 10, 10:00 AM with Mike")
	require.Contains(t, alerts[0], "/console/conversations/")
	r := e.do(http.MethodGet, "/admin/v1/tenants/acme/appointments?from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z", adminToken, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	listed := r.json(t)["appointments"].([]any)[0].(map[string]any)
	require.NotEmpty(t, listed["unconfirmed_at"])
	require.Nil(t, listed["confirmed_at"])
	require.True(t, e.state(customer).NeedsAttention)
	b := signIn(t, e, "acme", "dana@acme.example")
	code, page := b.get("/console/appointments?from=2030-01-07")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "Not confirmed", "the console lists it unconfirmed")

	got = e.remindAt(chicago(2030, 1, 10, 8, 0))
	require.Len(t, got, 1)
	require.Contains(t, got[0], "Thu Jan 10, 10:00 AM")
	e.remindAt(chicago(2030, 1, 10, 9, 0))
	require.Len(t, e.texts(ownerPhone), 1, "the owner is alerted once")
	require.Len(t, e.texts(customer), 2, "exactly two reminders")
	require.Equal(t, 2.0, e.remindersTotal("sent"))
	require.Equal(t, 1.0, e.remindersTotal("unconfirmed"))
	for _, row := range e.reminderRows(appt) {
		require.Equal(t, "sent", row.state, "%+v", row)
	}
}

func norm(r reminderRow) reminderRow {
	r.due = r.due.UTC()
	return r
}

// Across the spring-forward change the day-before reminder keeps the wall-clock time (23
// real hours ahead); a reminder in quiet hours goes at their end, or the evening before
// when that end is the visit itself; one whose time passed at booking is skipped.
func TestReminderTimesAcrossDSTAndQuietHours(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(chicago(2030, 3, 8, 9, 0))) // Friday before the change
	// Mike works Sundays too in this test.
	e.apply(withOwner(strings.Replace(plumber, "      mon: [\"08:00-12:00\", \"13:00-17:00\"]\n", "      sun: [\"08:00-17:00\"]\n      mon: [\"08:00-12:00\", \"13:00-17:00\"]\n", 1)))

	sunday := chicago(2030, 3, 10, 10, 0) // the spring-forward Sunday (02:00 → 03:00)
	appt := e.book(sunday, customer)
	rows := e.reminderRows(appt)
	require.True(t, rows[0].due.Equal(chicago(2030, 3, 9, 10, 0)), "the day before at 10:00 local: %s", rows[0].due)
	require.Equal(t, 23*time.Hour, sunday.Sub(rows[0].due), "23 real hours across the spring-forward night")
	require.Contains(t, e.remindAt(chicago(2030, 3, 9, 10, 0))[0], "Sun Mar 10, 10:00 AM")
	e.remindAt(chicago(2030, 3, 10, 8, 0)) // the 2 h reminder, after the change

	// An 08:00 visit: its 2 h reminder (06:00) is in the night, whose end is the visit
	// itself, so it goes the evening before; the deadline (04:00) has no reminder before
	// it but that one.
	early := chicago(2030, 3, 12, 8, 0)
	other := "+15125550142"
	appt2 := e.book(early, other)
	rows = e.reminderRows(appt2)
	require.True(t, rows[0].due.Equal(chicago(2030, 3, 11, 8, 0)), "24 h: %s", rows[0].due)
	require.True(t, rows[1].due.Equal(chicago(2030, 3, 11, 18, 0)), "2 h in quiet hours: the evening before, %s", rows[1].due.In(early.Location()))
	require.Equal(t, "pending", rows[1].state)

	// Booked three hours ahead: no 24 h reminder (its time has passed), and no deadline
	// (it passed too); the 2 h one stands.
	e.clock.Advance(chicago(2030, 3, 11, 10, 0).Sub(e.clock.Now()))
	soon := e.book(chicago(2030, 3, 11, 13, 0), "+15125550143")
	rows = e.reminderRows(soon)
	require.Equal(t, []string{"skipped", "pending", "skipped"}, []string{rows[0].state, rows[1].state, rows[2].state})
	require.Equal(t, []string{reminders.SkipPassed, "", reminders.SkipPassed}, []string{rows[0].reason, rows[1].reason, rows[2].reason})
	require.True(t, rows[1].due.Equal(chicago(2030, 3, 11, 11, 0)))
	require.Equal(t, 1.0, e.remindersTotal("skipped"), "the skipped reminder is counted; a deadline is not a reminder")
}

// Rescheduling replaces the reminders not yet sent with the new time's, in the same
// transaction; cancelling cancels them: nothing is sent about a time that no longer holds.
func TestRescheduleAndCancelReplaceTheReminders(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	appt := e.book(chicago(2030, 1, 10, 10, 0), customer)

	r := e.do(http.MethodPost, "/api/v1/tenants/acme/appointments/"+appt.String()+"/reschedule", bookingKey,
		map[string]string{"starts_at": chicago(2030, 1, 11, 14, 0).Format(time.RFC3339)}, "Idempotency-Key: move-1")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	rows := e.reminderRows(appt)
	require.Len(t, rows, 6)
	for _, old := range rows[:3] {
		require.Equal(t, int64(1), old.version)
		require.Equal(t, "replaced", old.state)
	}
	require.True(t, rows[3].due.Equal(chicago(2030, 1, 10, 14, 0)), "the new 24 h reminder: %s", rows[3].due)
	require.True(t, rows[4].due.Equal(chicago(2030, 1, 11, 12, 0)))
	require.Equal(t, int64(2), rows[3].version)

	require.Empty(t, e.remindAt(chicago(2030, 1, 9, 10, 30)), "the old time's reminder is gone")
	got := e.remindAt(chicago(2030, 1, 10, 14, 0))
	require.Len(t, got, 1)
	require.Contains(t, got[0], "Fri Jan 11, 2:00 PM")

	r = e.do(http.MethodPost, "/api/v1/tenants/acme/appointments/"+appt.String()+"/cancel", bookingKey, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, "cancelled", e.reminderRows(appt)[4].state)
	require.Empty(t, e.remindAt(chicago(2030, 1, 11, 13, 0)), "nothing after a cancel")
}

// A reminder claimed for a time that moved before it was sent is suppressed by the
// outbox's last look, never sent.
func TestAReminderForATimeThatMovedIsNeverSent(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	appt := e.book(chicago(2030, 1, 10, 10, 0), customer)
	e.clock.Advance(chicago(2030, 1, 9, 10, 0).Sub(e.clock.Now()))

	claimed, err := e.eng.fulfillment.Reminders().ClaimDue(context.Background(), e.clock.Now(), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	// The visit moves after the claim, before the hand-over.
	r := e.do(http.MethodPost, "/api/v1/tenants/acme/appointments/"+appt.String()+"/reschedule", bookingKey,
		map[string]string{"starts_at": chicago(2030, 1, 11, 14, 0).Format(time.RFC3339)}, "Idempotency-Key: move-2")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	o, err := e.dispatch().Remind(context.Background(), claimed[0])
	require.NoError(t, err)
	require.True(t, o.Sent, "handed to the outbox")
	e.eng.outbox.Idle() // Remind returned once the SMS was committed and enqueued
	require.Empty(t, e.texts(customer), "the outbox saw the visit had moved")
	var status string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT status FROM conversation.deliveries WHERE kind = 'reminder'`).Scan(&status))
	require.Equal(t, "suppressed", status)
}

// A scheduler that dies between claiming reminders and sending them, or between handing
// one over and recording it, leaves one SMS per reminder: the claim lapses, the next
// round hands it over again, and the conversation knows it already queued that one.
func TestACrashBetweenClaimAndSendSendsOnce(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	appt := e.book(chicago(2030, 1, 10, 10, 0), customer)
	e.clock.Advance(chicago(2030, 1, 9, 10, 0).Sub(e.clock.Now()))

	// Claimed, then the process died: nothing was handed over.
	claimed, err := e.eng.fulfillment.Reminders().ClaimDue(context.Background(), e.clock.Now(), 2*time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.Empty(t, e.remindAt(e.clock.Now().Add(time.Minute)), "still claimed by the dead scheduler")
	// Handed over, then died before recording it.
	o, err := e.dispatch().Remind(context.Background(), claimed[0])
	require.NoError(t, err)
	require.True(t, o.Sent)
	e.settle(customer)
	require.Len(t, e.texts(customer), 1)

	got := e.remindAt(e.clock.Now().Add(2 * time.Minute)) // the claim lapsed
	require.Empty(t, got, "handed over again, sent once")
	require.Equal(t, "sent", e.reminderRows(appt)[0].state)
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM conversation.deliveries WHERE kind = 'reminder'`).Scan(&n))
	require.Equal(t, 1, n)
}

func (e *smsEngine) dispatch() reminderDispatch {
	return reminderDispatch{dir: e.eng.directory, bookings: e.eng.bookings, catalog: e.eng.catalog, timeout: 5 * time.Second}
}

// Y answers the reminder: the visit is confirmed, shown as such, and pushed to the
// Google event and the Jobber job.
func TestYConfirmsAndSyncs(t *testing.T) {
	t.Parallel()
	e := newSMSSyncEngine(t, clock.NewFake(monday0600))
	appt := e.book(chicago(2030, 1, 10, 10, 0), customer)
	e.syncSettle()
	require.Len(t, e.remindAt(chicago(2030, 1, 9, 10, 0)), 1)

	require.Equal(t, "Thanks, you're confirmed for Thu Jan 10, 10:00 AM with Acme Plumbing. Reply R if you need a new time.", e.say("Y"))
	e.syncSettle()
	r := e.do(http.MethodGet, "/admin/v1/tenants/acme/appointments?from=2030-01-01T00:00:00Z&to=2030-02-01T00:00:00Z", adminToken, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	listed := r.json(t)["appointments"].([]any)[0].(map[string]any)
	require.NotEmpty(t, listed["confirmed_at"])
	ev, ok := e.google.Event(mikeCalendar, google.EventID(appt))
	require.True(t, ok)
	require.True(t, strings.HasPrefix(ev.Summary, "✓ "), "the event shows the confirmation: %q", ev.Summary)
	require.Contains(t, ev.Description, "Confirmed by the customer by text on Wed Jan 9, 10:00 AM.")
	require.Contains(t, e.jobber.Jobs()[0].Instructions, "Customer confirmed by text on Wed Jan 9, 10:00 AM.")
	require.Equal(t, 1.0, e.remindersTotal("confirmed"))
	b := signIn(t, e.smsEngine, "acme", "dana@acme.example")
	code, page := b.get("/console/appointments?from=2030-01-07")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, page, "Confirmed by customer")

	// The 2 h reminder still goes, without asking again; the deadline finds it confirmed.
	got := e.remindAt(chicago(2030, 1, 10, 8, 0))
	require.Len(t, got, 1)
	require.Contains(t, got[0], "See you then!")
	require.NotContains(t, got[0], "Reply Y")
	require.Equal(t, 0.0, e.remindersTotal("unconfirmed"))
	require.Empty(t, e.say("ok"), "a yes with nothing asked needs no answer")
}

// R answers the reminder with new times on the same technician; the visit stays where it
// is until the customer confirms one, then it moves, the reminders follow, and the
// calendars too.
func TestRAnswersWithNewTimesAndMoves(t *testing.T) {
	t.Parallel()
	e := newSMSSyncEngine(t, clock.NewFake(monday0600))
	appt := e.book(chicago(2030, 1, 10, 10, 0), customer)
	e.syncSettle()
	e.remindAt(chicago(2030, 1, 9, 10, 0))

	opts := e.say("R")
	require.Contains(t, opts, "Thu Jan 10, 10:00 AM", "names the visit being moved")
	require.Contains(t, opts, "1) ")
	require.Equal(t, "booked", e.appointmentStatus(appt))
	require.Contains(t, e.say("1"), "Reply YES to move your visit")
	require.Contains(t, e.say("yes"), "is moved to")
	st := e.state(customer)
	require.Equal(t, conversation.Booked, st.Stage)
	require.Equal(t, appt, st.AppointmentID)
	require.Equal(t, 1.0, e.remindersTotal("rescheduled"))
	rows := e.reminderRows(appt)
	require.Equal(t, "sent", rows[0].state, "the reminder already sent stays sent")
	require.Equal(t, "replaced", rows[1].state)
	require.Equal(t, int64(2), rows[len(rows)-1].version, "the new time has its own reminders")
	e.syncSettle()
	ev, _ := e.google.Event(mikeCalendar, google.EventID(appt))
	require.True(t, st.Visit.Start.Equal(mustParse(t, ev.Start.DateTime)), "Google follows the move")
}

func mustParse(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

// STOP after a reminder: the one confirmation says the visit stands and how to call it
// off, then silence, reminders included; the visit stays booked.
func TestStopAfterAReminderKeepsTheVisitAndSilencesReminders(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	appt := e.book(chicago(2030, 1, 10, 10, 0), customer)
	e.remindAt(chicago(2030, 1, 9, 10, 0))

	conf := e.say("STOP")
	require.Contains(t, conf, "unsubscribed")
	require.Contains(t, conf, "still booked")
	require.Empty(t, e.remindAt(chicago(2030, 1, 10, 8, 0)), "no more reminders")
	require.Equal(t, "booked", e.appointmentStatus(appt))
	rows := e.reminderRows(appt)
	require.Equal(t, "skipped", rows[1].state)
	require.Equal(t, "opted_out", rows[1].reason)
	require.Len(t, e.texts(customer), 2, "the reminder and the one confirmation")
}

// A cancel sentence after a reminder asks once, then cancels the visit and its reminders.
func TestCancelAfterAReminder(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	appt := e.book(chicago(2030, 1, 10, 10, 0), customer)
	e.remindAt(chicago(2030, 1, 9, 10, 0))
	require.Contains(t, e.say("something came up, I need to cancel"), "Call off your visit")
	require.Contains(t, e.say("yes"), "is cancelled")
	require.Equal(t, "cancelled", e.appointmentStatus(appt))
	require.Equal(t, 1.0, e.remindersTotal("cancelled"))
	require.Empty(t, e.remindAt(chicago(2030, 1, 10, 8, 0)))
}
