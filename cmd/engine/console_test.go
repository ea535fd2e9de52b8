package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ringback/actors/conversation"
	"ringback/clock"
	"ringback/persistence/pgtest"
	"ringback/vendors/google"
)

// browser is a console user's HTTP client: a cookie jar, no redirects followed.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newBrowser(t testing.TB, base string) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches a page; the body comes back with HTML entities decoded, for reading.
func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, html.UnescapeString(string(body))
}

// post submits a form; it returns the status and where it redirects.
func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	require.NotNil(t, m, "the page has a CSRF field: %s", page)
	return m[1]
}

var (
	threadLink = regexp.MustCompile(`href="/console/conversations/([0-9a-f-]{36})"`)
	olderLink  = regexp.MustCompile(`<div class="pager"><a class="btn secondary" href="/console/\?([^"]+)">`)
)

// signIn invites a user of tenant and sets their password through the invite page.
func signIn(t testing.TB, e *smsEngine, tenantID, email string) *browser {
	t.Helper()
	r := e.do(http.MethodPost, "/admin/v1/tenants/"+tenantID+"/users", adminToken, map[string]string{"email": email, "name": "Dana <b>Owner</b>"})
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	invite := r.json(t)["invite_url"].(string)
	require.True(t, strings.HasPrefix(invite, e.srv.URL+"/console/invite/"), invite)
	b := newBrowser(t, e.srv.URL)
	path := strings.TrimPrefix(invite, e.srv.URL)
	status, page := b.get(path)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "Dana <b>Owner</b>", "the name as written")
	resp, err := b.c.Get(e.srv.URL + path)
	require.NoError(t, err)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(raw), "Dana &lt;b&gt;Owner&lt;/b&gt;", "and escaped: markup in a name is text")
	require.Contains(t, page, `type="password"`)
	// The last page shown holds the form's live token.
	status, loc, _ := b.post(path, url.Values{"csrf": {csrfOf(t, string(raw))}, "password": {"correct horse battery"}, "confirm": {"correct horse battery"}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/console/", loc)
	// The invite works once.
	status, _ = newBrowser(t, e.srv.URL).get(path)
	require.Equal(t, http.StatusNotFound, status)
	return b
}

func TestConsoleInboxReplyTakeOverAndHandBack(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	b := signIn(t, e, "acme", "dana@acme.example")

	_, inbox := b.get("/console/")
	require.Contains(t, inbox, "No conversations here yet")
	e.missedCall(customer)
	e.settle(customer)
	e.sms(customer, "can you come earlier?")
	e.settle(customer)

	_, inbox = b.get("/console/")
	require.Contains(t, inbox, customer)
	require.Contains(t, inbox, "Needs you")
	require.Contains(t, inbox, `aria-label="1 unread"`)
	require.Contains(t, inbox, "<title>(1) Inbox · Ringback</title>")
	m := threadLink.FindStringSubmatch(inbox)
	require.NotNil(t, m)
	thread := "/console/conversations/" + m[1]

	_, page := b.get(thread)
	require.Contains(t, page, "can you come earlier?")
	require.Contains(t, page, "<textarea")
	_, inbox = b.get("/console/")
	require.NotContains(t, inbox, `aria-label="1 unread"`, "opening the thread read it")

	// A POST without the session's CSRF token changes nothing.
	status, _, _ := b.post(thread+"/reply", url.Values{"body": {"hi"}})
	require.Equal(t, http.StatusForbidden, status)

	before := len(e.texts(customer))
	status, loc, _ := b.post(thread+"/reply", url.Values{"csrf": {csrfOf(t, page)}, "key": {"0b2d6f2e-9a0c-4c61-9f0e-5a3f3c4a7d10"}, "body": {"Yes! Mike can come at 7:30, ok?"}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Contains(t, loc, thread)
	e.settle(customer)
	require.Equal(t, "Yes! Mike can come at 7:30, ok?", e.last(customer))
	require.Len(t, e.texts(customer), before+1)
	st := e.state(customer)
	require.True(t, st.TakenOver)
	require.False(t, st.NeedsAttention, "a person answered")

	// The bot stays quiet while a person has the conversation...
	e.sms(customer, "2")
	e.settle(customer)
	require.Len(t, e.texts(customer), before+1, "the bot says nothing in a taken-over conversation")
	_, page = b.get(thread)
	require.Contains(t, page, "Hand back to Ringback")
	// ...until it is handed back.
	status, _, _ = b.post(thread+"/hand-back", url.Values{"csrf": {csrfOf(t, page)}})
	require.Equal(t, http.StatusSeeOther, status)
	e.sms(customer, "2")
	e.settle(customer)
	require.Contains(t, e.last(customer), "holding")

	// Another tenant's thread is not found, for its users.
	other := strings.Replace(strings.Replace(plumber, "id: acme", "id: bravo", 1), "+15125550100", "+15125550177", 1)
	e.apply(other)
	b2 := signIn(t, e, "bravo", "sam@bravo.example")
	status, _ = b2.get(thread)
	require.Equal(t, http.StatusNotFound, status)
	_, otherInbox := b2.get("/console/")
	require.NotContains(t, otherInbox, customer)
}

// TestConsoleInboxPagesThroughEveryConversation: following "Older conversations" from
// the first page lists every conversation once, in the inbox's order (those needing a
// person first, then by last activity), and a filter stays on from page to page.
func TestConsoleInboxPagesThroughEveryConversation(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	pgtest.SeedInbox(t, e.pool, pgtest.InboxSeed{TenantID: "acme", Endpoint: business, OwnerPhone: "+15125550111",
		Conversations: 300, Now: monday0600})
	b := signIn(t, e, "acme", "dana@acme.example")
	for _, tc := range []struct {
		filter, where string
		pages         int
	}{
		{"", "true", 6},                     // 300 conversations, 50 a page
		{"booked", "state = 'booked'", 2},   // 60
		{"opted_out", "opted_out", 1},       // 9
		{"attention", "needs_attention", 1}, // 6
	} {
		rows, err := e.pool.Query(context.Background(), `SELECT id::text FROM conversation.conversations
			WHERE tenant_id = 'acme' AND `+tc.where+` ORDER BY needs_attention DESC, updated_at DESC, id DESC`)
		require.NoError(t, err)
		want, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)

		var got []string
		pages := 0
		path := "/console/"
		if tc.filter != "" {
			path += "?filter=" + tc.filter
		}
		for path != "" {
			status, page := b.get(path)
			require.Equal(t, http.StatusOK, status, "%s: %s", path, page)
			pages++
			require.LessOrEqual(t, pages, tc.pages, "filter %q: more pages than conversations (a link back to the start?)", tc.filter)
			for _, m := range threadLink.FindAllStringSubmatch(page, -1) {
				got = append(got, m[1])
			}
			path = ""
			if m := olderLink.FindStringSubmatch(page); m != nil {
				path = "/console/?" + m[1]
				require.Contains(t, path, "after=")
				if tc.filter != "" {
					require.Contains(t, path, "filter="+tc.filter, "the next page keeps the filter")
				}
			}
		}
		require.Equal(t, want, got, "filter %q: every conversation once, in order", tc.filter)
		require.Equal(t, tc.pages, pages, "filter %q", tc.filter)
	}
}

func TestConsoleRefusesRepliesToOptedOutCustomers(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	b := signIn(t, e, "acme", "dana@acme.example")
	e.missedCall(customer)
	e.settle(customer)
	e.sms(customer, "STOP")
	e.settle(customer)
	_, inbox := b.get("/console/?filter=opted_out")
	m := threadLink.FindStringSubmatch(inbox)
	require.NotNil(t, m, "the opted-out filter lists it")
	_, page := b.get("/console/conversations/" + m[1])
	require.Contains(t, page, "opted out of texts from your number")
	require.Regexp(t, `<textarea[^>]*disabled`, page)
	before := len(e.texts(customer))
	status, _, _ := b.post("/console/conversations/"+m[1]+"/reply", url.Values{"csrf": {csrfOf(t, page)}, "body": {"please call us"}})
	require.Equal(t, http.StatusConflict, status)
	e.settle(customer)
	require.Len(t, e.texts(customer), before)
}

func TestConsoleSignInIsRateLimitedAndSignOutEndsTheSession(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	signed := signIn(t, e, "acme", "dana@acme.example")

	b := newBrowser(t, e.srv.URL)
	_, first := b.get("/console/")
	require.Contains(t, first, `type="email"`)
	csrf := csrfOf(t, first)
	_ = csrf
	status, _, page := b.post("/console/login", url.Values{"email": {"dana@acme.example"}, "password": {"correct horse battery"}})
	require.Equal(t, http.StatusForbidden, status, "no CSRF token")
	csrf = csrfOf(t, page) // the refused form comes back with a fresh token
	for range 5 {          // the limit of failed sign-ins per user and per address
		status, _, page = b.post("/console/login", url.Values{"csrf": {csrf}, "email": {"dana@acme.example"}, "password": {"wrong password!"}})
		require.Equal(t, http.StatusUnauthorized, status)
		csrf = csrfOf(t, page)
	}
	status, _, _ = b.post("/console/login", url.Values{"csrf": {csrf}, "email": {"dana@acme.example"}, "password": {"correct horse battery"}})
	require.Equal(t, http.StatusTooManyRequests, status, "even the right password waits after too many wrong ones")

	_, page = signed.get("/console/")
	status, loc, _ := signed.post("/console/logout", url.Values{"csrf": {csrfOf(t, page)}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/console/", loc)
	_, page = signed.get("/console/")
	require.Contains(t, page, "Sign in to Ringback", "the session is gone")
}

var firstSlot = regexp.MustCompile(`name="starts_at" value="([^"]+)"`)

// TestConsoleAppointmentsMoveAndCancelThroughTheResourceActors: the week's page shows a
// booked visit with its quote and sync state, a paused vendor with a resume button; a
// reschedule from the console moves the visit and the calendars follow, a cancel cancels
// it everywhere; nothing changes without the CSRF token or for another tenant's user.
func TestConsoleAppointmentsMoveAndCancelThroughTheResourceActors(t *testing.T) {
	t.Parallel()
	e := newSMSSyncEngine(t, clock.NewFake(monday0600))
	for _, tok := range e.jobber.OAuth().ValidRefreshTokens() {
		e.jobber.OAuth().Revoke(tok)
	}
	e.jobber.OAuth().ExpireAccessTokens()
	e.missedCall(customer)
	e.settle(customer)
	e.say("2")
	require.Contains(t, e.say("yes"), "You're booked")
	apptID := e.state(customer).AppointmentID.String()
	e.syncSettle()

	b := signIn(t, e.smsEngine, "acme", "dana@acme.example")
	status, page := b.get("/console/appointments?from=2030-01-07")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, "Monday, January 7")
	require.Contains(t, page, "8:00 AM–")
	require.Contains(t, page, customer)
	require.Contains(t, page, "Google Calendar: in sync")
	require.Contains(t, page, "Jobber: waiting", "kept for when Jobber is reconnected")
	require.Contains(t, page, "Jobber refused the saved sign-in", "the parked connection says why")
	require.Contains(t, page, `action="/console/connections/acme-jobber/resume"`)
	status, _ = b.get("/console/appointments?from=next-week")
	require.Equal(t, http.StatusBadRequest, status)

	// Reschedule: the page offers Mike's open times; without the token nothing moves.
	status, rp := b.get("/console/appointments/" + apptID + "/reschedule")
	require.Equal(t, http.StatusOK, status)
	m := firstSlot.FindStringSubmatch(rp)
	require.NotNil(t, m, "open times are offered: %s", rp)
	target, err := time.Parse(time.RFC3339, m[1])
	require.NoError(t, err)
	require.False(t, target.Equal(at("08:00")), "not the time it already has")
	form := url.Values{"starts_at": {m[1]}, "key": {"7d2b9a4e-3c1f-4e8a-9b6d-2f5e8c7a1b30"}}
	status, _, _ = b.post("/console/appointments/"+apptID+"/reschedule", form)
	require.Equal(t, http.StatusForbidden, status)
	form.Set("csrf", csrfOf(t, rp))
	require.Contains(t, rp, `name="notify" checked`, "texting the customer is the default")
	form.Set("notify", "on")
	status, loc, _ := b.post("/console/appointments/"+apptID+"/reschedule", form)
	require.Equal(t, http.StatusSeeOther, status)
	require.Contains(t, loc, "done=reschedule")
	// The customer hears of it, and their conversation knows the visit's new time.
	e.settle(customer)
	require.Contains(t, e.last(customer), "Acme Plumbing moved your visit to "+target.In(mustZone("America/Chicago")).Format("Mon Jan 2, 3:04 PM"))
	require.True(t, e.state(customer).Visit.Start.Equal(target))
	var start time.Time
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT c.starts_at FROM fulfillment.appointments a
		JOIN fulfillment.claims c ON c.id = a.claim_id WHERE a.id = $1`, apptID).Scan(&start))
	require.True(t, start.Equal(target), "moved to %s, want %s", start, target)
	e.syncSettle()
	ev, _ := e.google.Event(mikeCalendar, google.EventID(e.state(customer).AppointmentID))
	require.Equal(t, target.UTC().Format(time.RFC3339), mustRFC3339(t, ev.Start.DateTime), "Google follows the move")

	// Another tenant's user finds no such appointment and cannot cancel it.
	other := strings.Replace(strings.Replace(plumber, "id: acme", "id: bravo", 1), "+15125550100", "+15125550177", 1)
	e.apply(other)
	b2 := signIn(t, e.smsEngine, "bravo", "sam@bravo.example")
	status, _ = b2.get("/console/appointments/" + apptID + "/reschedule")
	require.Equal(t, http.StatusNotFound, status)
	_, p2 := b2.get("/console/appointments?from=2030-01-07")
	status, _, _ = b2.post("/console/appointments/"+apptID+"/cancel", url.Values{"csrf": {csrfOf(t, p2)}})
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "booked", e.appointmentStatus(apptID))

	// Cancel, the customer not texted (the box unticked): the visit is cancelled, the
	// conversation knows, and Google's event follows.
	texts := len(e.texts(customer))
	_, page = b.get("/console/appointments?from=2030-01-07")
	status, _, _ = b.post("/console/appointments/"+apptID+"/cancel", url.Values{"csrf": {csrfOf(t, page)}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "cancelled", e.appointmentStatus(apptID))
	e.settle(customer)
	require.Len(t, e.texts(customer), texts, "not texted")
	require.Equal(t, conversation.Idle, e.state(customer).Stage)
	e.syncSettle()
	ev, _ = e.google.Event(mikeCalendar, google.EventID(uuid.MustParse(apptID)))
	require.Equal(t, "cancelled", ev.Status)
	_, page = b.get("/console/appointments?from=" + target.In(mustZone("America/Chicago")).Format("2006-01-02"))
	require.Contains(t, page, "Cancelled")
	require.NotContains(t, page, "/cancel\"", "a cancelled visit offers no cancel button")

	// Resume the parked connection from the banner.
	status, loc, _ = b.post("/console/connections/acme-jobber/resume", url.Values{"csrf": {csrfOf(t, page)}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Contains(t, loc, "done=resume")
	status, _, _ = b.post("/console/connections/nope/resume", url.Values{"csrf": {csrfOf(t, page)}})
	require.Equal(t, http.StatusNotFound, status)
}

// TestConsoleSessionsAreRevocable: the admin API signs a user out everywhere; another
// tenant's path or a made-up user is 404 and ends nothing.
func TestConsoleSessionsAreRevocable(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	b := signIn(t, e, "acme", "dana@acme.example")
	_, page := b.get("/console/")
	require.Contains(t, page, "<h1>Inbox</h1>")
	var id string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT id::text FROM console.users WHERE email = 'dana@acme.example'`).Scan(&id))

	other := strings.Replace(strings.Replace(plumber, "id: acme", "id: bravo", 1), "+15125550100", "+15125550177", 1)
	e.apply(other)
	r := e.do(http.MethodDelete, "/admin/v1/tenants/bravo/users/"+id+"/sessions", adminToken, nil)
	require.Equal(t, http.StatusNotFound, r.status, "%s", r.body)
	r = e.do(http.MethodDelete, "/admin/v1/tenants/acme/users/not-a-uuid/sessions", adminToken, nil)
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s", r.body)
	_, page = b.get("/console/")
	require.Contains(t, page, "<h1>Inbox</h1>", "still signed in")

	r = e.do(http.MethodDelete, "/admin/v1/tenants/acme/users/"+id+"/sessions", adminToken, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.EqualValues(t, 1, r.json(t)["revoked_sessions"])
	_, page = b.get("/console/")
	require.Contains(t, page, "Sign in to Ringback", "the session ended")
}
