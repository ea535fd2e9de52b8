package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"ringback/actors/conversation"
	"ringback/clock"
	"ringback/fakes/googlefake"
	"ringback/fakes/jobberfake"
	"ringback/vendors/google"
)

const ownerPhone = "+15125550111"

// withOwner gives the plumber's number an owner_phone for alerts.
func withOwner(yaml string) string {
	return strings.Replace(yaml, "    send_rate: 50\n", "    send_rate: 50\n    owner_phone: \""+ownerPhone+"\"\n", 1)
}

// smsSyncEngine is an SMS engine whose calendars are the fake Google and Jobber, for the
// flows by SMS that must reach them (a reschedule, a cancellation).
type smsSyncEngine struct {
	*smsEngine
	google *googlefake.Server
	jobber *jobberfake.Server
}

func newSMSSyncEngine(t *testing.T, clk *clock.Fake) *smsSyncEngine {
	t.Helper()
	g, j, useFakes := vendorFakes(t)
	e := &smsSyncEngine{smsEngine: newSMSEngine(t, clk, useFakes), google: g, jobber: j}
	e.apply(withCalendar(syncedPlumber))
	r := e.do(http.MethodPost, "/admin/v1/tenants/acme/connections/acme-google/read-calendars", adminToken, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	e.syncSettle()
	return e
}

func (e *smsSyncEngine) syncSettle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(e.t, e.eng.sync.Settle(ctx))
}

// last is the newest text the fake Twilio received for phone.
func (e *smsEngine) last(phone string) string {
	e.t.Helper()
	texts := e.texts(phone)
	require.NotEmpty(e.t, texts)
	return texts[len(texts)-1]
}

// say texts body from the customer and waits for the engine to have answered.
func (e *smsEngine) say(body string) string {
	e.t.Helper()
	before := len(e.texts(customer))
	r := e.sms(customer, body)
	require.Equal(e.t, http.StatusOK, r.status, "%s", r.body)
	e.settle(customer)
	texts := e.texts(customer)
	if len(texts) == before {
		return ""
	}
	require.Len(e.t, texts, before+1, "one answer to %q", body)
	return texts[before]
}

func (e *smsEngine) appointmentStatus(id any) string {
	e.t.Helper()
	var status string
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT status FROM fulfillment.appointments WHERE id = $1`, id).Scan(&status))
	return status
}

func (e *smsEngine) replies(intent string) float64 {
	return testutil.ToFloat64(e.eng.metrics.Replies.WithLabelValues(intent))
}

func TestNaturalPickThenNaturalYesBooks(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	e.missedCall(customer)
	e.settle(customer)

	held := e.say("the third one please 🙏")
	require.Contains(t, held, "holding Mon Jan 7, 8:30 AM", "option 3 of the offer is 8:30")
	require.Contains(t, held, "Reply YES")
	require.Equal(t, conversation.Holding, e.state(customer).Stage)

	// The same pick again restates the hold rather than acknowledging.
	require.Equal(t, held, e.say("3"))

	booked := e.say("yep 👍🏽")
	require.Contains(t, booked, "You're booked")
	require.Contains(t, booked, "8:30 AM")
	st := e.state(customer)
	require.Equal(t, conversation.Booked, st.Stage)
	require.Equal(t, "booked", e.appointmentStatus(st.AppointmentID))
	require.Equal(t, 2.0, e.replies("pick"))
	require.Equal(t, 1.0, e.replies("confirm"))

	// "ok thanks" after booking needs nothing: no answer, and no one is bothered.
	require.Empty(t, e.say("ok thanks!"))
	require.False(t, e.state(customer).NeedsAttention)
}

func TestNoneOfThoseOffersLaterTimesWithoutTheMissedCallApology(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	e.missedCall(customer)
	e.settle(customer)
	first := e.last(customer)
	require.Contains(t, first, "missed your call")

	more := e.say("none of those work for me, anything later?")
	require.NotContains(t, more, "missed your call", "the apology belongs to the first text only")
	require.Contains(t, more, "Reply with a number")
	require.NotContains(t, more, "8:30 AM", "later times, not the ones already declined")
	require.Equal(t, 1.0, e.replies("more"))
}

func TestDayAndTimeWindowOffersTimesInsideIt(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	e.missedCall(customer)
	e.settle(customer)

	got := e.say("do you have anything thursday after 3?")
	require.Contains(t, got, "Open times Thu Jan 10 after 3 PM")
	st := e.state(customer)
	require.NotEmpty(t, st.Options)
	chicago := mustZone("America/Chicago")
	for _, o := range st.Options {
		local := o.Start.In(chicago)
		require.Equal(t, time.Thursday, local.Weekday(), "%s", local)
		require.GreaterOrEqual(t, local.Hour(), 15, "%s", local)
	}
	require.Contains(t, got, "1) Thu Jan 10, 3:00 PM")
	require.Equal(t, 1.0, e.replies("window"))

	// A window with nothing open says so and offers the nearest times.
	got = e.say("saturday morning")
	require.Contains(t, got, "Nothing is open Sat Jan 12 between 8 AM and 12 PM. The nearest times are:")
	require.Contains(t, got, "1) ")
}

func TestWindowAcrossSpringForwardIsReadOnTheLocalClock(t *testing.T) {
	t.Parallel()
	chicago := mustZone("America/Chicago")
	friday := time.Date(2030, 3, 8, 6, 0, 0, 0, chicago) // DST starts Sunday 2030-03-10
	e := newSMSEngine(t, clock.NewFake(friday))
	e.apply(plumber)
	e.missedCall(customer)
	e.settle(customer)

	got := e.say("monday after 3")
	require.Contains(t, got, "1) Mon Mar 11, 3:00 PM")
	st := e.state(customer)
	require.NotEmpty(t, st.Options)
	// 15:00 CDT is 20:00 UTC; read with the CST offset of the day it was asked it would be 21:00.
	require.Equal(t, time.Date(2030, 3, 11, 20, 0, 0, 0, time.UTC), st.Options[0].Start.UTC())
}

func TestRescheduleBySMSKeepsTheVisitUntilYesThenMovesItEverywhere(t *testing.T) {
	t.Parallel()
	e := newSMSSyncEngine(t, clock.NewFake(monday0600))
	e.missedCall(customer)
	e.settle(customer)
	require.Contains(t, e.say("2"), "holding Mon Jan 7, 8:00 AM") // Mike's 8:00 (Ana's is option 1)
	require.Contains(t, e.say("yes"), "You're booked")
	apptID := e.state(customer).AppointmentID
	e.syncSettle()
	ev, ok := e.google.Event(mikeCalendar, google.EventID(apptID))
	require.True(t, ok)
	require.Equal(t, utc("08:00"), mustRFC3339(t, ev.Start.DateTime))

	got := e.say("something came up, can we do tuesday afternoon instead?")
	require.Contains(t, got, "Your visit on Mon Jan 7, 8:00 AM stays booked until you confirm a new time")
	require.Contains(t, got, "1) Tue Jan 8, 1:00 PM")
	require.Equal(t, "booked", e.appointmentStatus(apptID), "the old visit stands while the customer chooses")

	require.Contains(t, e.say("1"), "Reply YES to move your visit from Mon Jan 7, 8:00 AM to it")
	require.Equal(t, "booked", e.appointmentStatus(apptID))
	e.syncSettle()
	ev, _ = e.google.Event(mikeCalendar, google.EventID(apptID))
	require.Equal(t, utc("08:00"), mustRFC3339(t, ev.Start.DateTime), "nothing moved before YES")

	require.Contains(t, e.say("yes please"), "moved to Tue Jan 8, 1:00 PM")
	st := e.state(customer)
	require.Equal(t, conversation.Booked, st.Stage)
	require.Equal(t, apptID, st.AppointmentID, "the same appointment, moved")
	require.Equal(t, 1, e.count(`SELECT count(*) FROM fulfillment.appointments WHERE status = 'booked'`))
	require.Equal(t, 1, e.liveClaims("acme", "mike"), "one live claim: the moved visit, no leftover hold")
	e.syncSettle()
	tue1300 := at("13:00").AddDate(0, 0, 1)
	ev, _ = e.google.Event(mikeCalendar, google.EventID(apptID))
	require.Equal(t, tue1300.UTC().Format(time.RFC3339), mustRFC3339(t, ev.Start.DateTime))
	visits := e.jobber.Visits()
	require.Len(t, visits, 1)
	require.True(t, visits[0].Start.Equal(tue1300), "jobber visit at %s", visits[0].Start)
	require.Equal(t, 1.0, e.replies("reschedule"))
}

func TestCancelBySMSAsksOnceThenCancelsEverywhere(t *testing.T) {
	t.Parallel()
	e := newSMSSyncEngine(t, clock.NewFake(monday0600))
	e.missedCall(customer)
	e.settle(customer)
	e.say("2")
	e.say("yes")
	apptID := e.state(customer).AppointmentID
	e.syncSettle()

	ask := e.say("I can't make it, please cancel")
	require.Contains(t, ask, "Call off your visit with Acme Plumbing on Mon Jan 7, 8:00 AM? Reply YES")
	require.Equal(t, "booked", e.appointmentStatus(apptID), "asked, not yet cancelled")
	require.False(t, e.optOutListed(customer), "a cancellation sentence is not an opt-out")

	// NO keeps it; asking again and saying yes cancels it.
	require.Contains(t, e.say("no"), "stays booked")
	require.Equal(t, "booked", e.appointmentStatus(apptID))
	e.say("X")
	require.Contains(t, e.say("yes"), "is cancelled")
	require.Equal(t, "cancelled", e.appointmentStatus(apptID))
	require.Equal(t, conversation.Idle, e.state(customer).Stage)
	e.syncSettle()
	ev, _ := e.google.Event(mikeCalendar, google.EventID(apptID))
	require.Equal(t, "cancelled", ev.Status)
	require.True(t, e.jobber.Jobs()[0].Closed)
	require.Equal(t, 2.0, e.replies("cancel"))
}

func TestStopTextingMeIsAnOptOut(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	e.missedCall(customer)
	e.settle(customer)

	require.Contains(t, e.say("Please stop texting me."), "unsubscribed")
	require.True(t, e.optOutListed(customer))
	require.Empty(t, e.say("seriously"))
	e.clock.Advance(25 * time.Hour) // past the auto-reply cooldown
	e.missedCall(customer)
	e.settle(customer)
	require.Len(t, e.texts(customer), 2, "the offer and the one confirmation; nothing after")
	require.Equal(t, 1.0, e.replies("opt_out"))
}

func TestUnknownMessageReachesTheOwnerOnce(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(withOwner(plumber))
	e.missedCall(customer)
	e.settle(customer)

	ack := e.say("can you come earlier?")
	require.Contains(t, ack, "A person at Acme Plumbing will read your message")
	alerts := e.texts(ownerPhone)
	require.Len(t, alerts, 1)
	require.Contains(t, alerts[0], `"can you come earlier?"`)
	require.Contains(t, alerts[0], "+1512***0199")
	require.NotContains(t, alerts[0], customer, "the customer's number is masked")
	require.True(t, e.state(customer).NeedsAttention)
	require.True(t, strings.HasSuffix(alerts[0], "/console/conversations/"+e.state(customer).ID.String()),
		"the alert links to the thread: %q", alerts[0])

	// A second message inside the hour: kept, but neither a second alert nor a second ack.
	require.Empty(t, e.say("my basement is flooding!!"))
	require.Len(t, e.texts(ownerPhone), 1, "at most one alert per conversation per hour")

	r := e.do(http.MethodGet, "/admin/v1/tenants/acme/conversations?needs_attention=true", adminToken, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	convs := r.json(t)["conversations"].([]any)
	require.Len(t, convs, 1)
	require.Equal(t, true, convs[0].(map[string]any)["needs_attention"])
	r = e.do(http.MethodGet, "/admin/v1/tenants/acme/conversations?needs_attention=maybe", adminToken, nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	require.Contains(t, string(r.body), "needs_attention")

	// An hour later the business hears again; a reply the engine acts on clears the flag.
	e.clock.Advance(61 * time.Minute)
	e.say("hello??")
	require.Len(t, e.texts(ownerPhone), 2)
	require.Equal(t, 3.0, e.replies("unknown"))
	require.Contains(t, e.say("other times please"), "1) ")
	require.False(t, e.state(customer).NeedsAttention)
	r = e.do(http.MethodGet, "/admin/v1/tenants/acme/conversations?needs_attention=true", adminToken, nil)
	require.Empty(t, r.json(t)["conversations"])
}

// TestSimulateReturnsWhenTheRepliesHaveArrived plays the customer with `engine simulate`:
// each command prints the engine's answer and returns once the step that answered is
// committed, not after its --wait.
func TestSimulateReturnsWhenTheRepliesHaveArrived(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(withOwner(plumber))
	cfg := Config{AdminToken: adminToken, PublicURL: e.srv.URL, TwilioAccountSID: twilioSID, TwilioAuthToken: twilioToken}
	run := func(args ...string) string {
		var out strings.Builder
		done := make(chan error, 1)
		go func() {
			done <- simulate(context.Background(), cfg, append(args, "--from", customer, "--to", business, "--server", e.srv.URL, "--wait", "10m"), &out)
		}()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(time.Minute):
			t.Fatalf("simulate %v waited for its --wait instead of the replies", args)
		}
		return out.String()
	}
	require.Contains(t, run("missed-call"), "1) Mon Jan 7")
	require.Contains(t, run("sms", "--body", "the 2nd one"), "holding Mon Jan 7, 8:00 AM")
	out := run("sms", "--body", "is the tech bringing a ladder?")
	require.Contains(t, out, "A person at Acme Plumbing will read your message")
	require.Contains(t, out, ownerPhone+" (the business's alert)")
}

// Another activation of a conversation (a cluster's topology change) writes first: the
// live one's step is refused as stale, and it reloads what was written and decides the
// event again at once, instead of leaving it to the sweep a minute later.
func TestAStaleActivationReloadsAndDecidesAgain(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	e.missedCall(customer)
	e.settle(customer)
	before := e.state(customer).Version
	// The other activation's write: the same state, one version on.
	tag, err := e.pool.Exec(context.Background(), `UPDATE conversation.conversations SET version = version + 1,
		data = jsonb_set(data, '{version}', to_jsonb(version + 1)) WHERE customer_phone = $1`, customer)
	require.NoError(t, err)
	require.EqualValues(t, 1, tag.RowsAffected())

	held := e.say("2")
	require.Contains(t, held, "holding", "decided again after the reload, not dropped")
	require.Equal(t, before+2, e.state(customer).Version, "saved on top of the other activation's version")
}
