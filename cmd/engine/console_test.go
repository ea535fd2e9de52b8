package main

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ringback/clock"
)

// browser is a console user's HTTP client: a cookie jar, no redirects followed.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
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

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	require.NotNil(t, m, "the page has a CSRF field: %s", page)
	return m[1]
}

var threadLink = regexp.MustCompile(`href="/console/conversations/([0-9a-f-]{36})"`)

// signIn invites a user of tenant and sets their password through the invite page.
func signIn(t *testing.T, e *smsEngine, tenantID, email string) *browser {
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
