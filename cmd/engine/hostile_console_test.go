package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ringback/clock"
)

// TestHostileConsoleFormsChangeNothingAndShowEverythingEscaped sends every console form
// oversize, without its CSRF token, with invalid UTF-8 and NUL, and script in every text
// a page shows: each is refused with a page that says why (never a 500), Postgres and the
// fake Twilio are unchanged, and what customers or users wrote comes back as text.
func TestHostileConsoleFormsChangeNothingAndShowEverythingEscaped(t *testing.T) {
	t.Parallel()
	e := newSMSEngine(t, clock.NewFake(monday0600))
	e.apply(plumber)
	b := signIn(t, e, "acme", "dana@acme.example")
	const script = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	e.missedCall(customer)
	e.settle(customer)
	e.sms(customer, "hi "+script)
	e.settle(customer)

	_, inbox := b.get("/console/")
	m := threadLink.FindStringSubmatch(inbox)
	require.NotNil(t, m)
	thread := "/console/conversations/" + m[1]
	raw := func(path string) string {
		resp, err := b.c.Get(e.srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(body)
	}
	for _, page := range []string{"/console/", thread} {
		body := raw(page)
		require.NotContains(t, body, "<script>alert", "%s shows the customer's text as text", page)
		require.NotContains(t, body, "<img src=x", page)
	}
	require.Contains(t, raw(thread), "&lt;script&gt;alert(1)&lt;/script&gt;", "the thread shows it, as text")
	_, page := b.get(thread)
	csrf := csrfOf(t, page)

	var posts []string
	for _, rt := range routeTemplates(t, e.eng.handler, "/console/") {
		if rt[0] != http.MethodPost || rt[1] == "/console/login" || strings.HasPrefix(rt[1], "/console/invite/") {
			continue
		}
		for _, path := range expandChoices(rt[1]) {
			posts = append(posts, fill(t, path, map[string]string{"id": m[1], "connection": "acme-google"}))
		}
	}
	require.Len(t, posts, 9, "logout, five thread actions, two appointment commands, resume: %v", posts)
	before := e.dbState()
	sent := len(e.texts(customer))
	for _, p := range posts {
		huge := url.Values{"csrf": {csrf}, "body": {strings.Repeat("a", 70<<10)}}
		status, _, body := b.post(p, huge)
		require.Equal(t, http.StatusRequestEntityTooLarge, status, "%s oversize: %s", p, body)
		status, _, _ = b.post(p, url.Values{"body": {"hello"}, "starts_at": {"2030-01-08T15:00:00Z"}})
		require.Equal(t, http.StatusForbidden, status, "%s without the CSRF token", p)
		status, _, _ = b.post(p, url.Values{"csrf": {csrf + "x"}})
		require.Equal(t, http.StatusForbidden, status, "%s with a wrong token", p)
	}
	// The reply form's text: invalid UTF-8, NUL, too long, empty.
	for name, body := range map[string]string{"invalid UTF-8": "hi \xff\xfe", "NUL": "hi\x00there", "too long": strings.Repeat("é", 1601), "empty": "  \n "} {
		status, _, page := b.post(thread+"/reply", url.Values{"csrf": {csrf}, "key": {"2c6a1c52-6f8e-4bd4-9a57-55d0c1f1c0a1"}, "body": {body}})
		require.Equal(t, http.StatusUnprocessableEntity, status, "%s: %s", name, page)
		require.Contains(t, page, "reply", name)
	}
	// An appointment form with garbage: a bad id, a bad time, a bad key.
	for name, form := range map[string]url.Values{
		"not a time": {"csrf": {csrf}, "starts_at": {"tomorrow-ish \xff"}, "key": {"2c6a1c52-6f8e-4bd4-9a57-55d0c1f1c0a1"}},
		"no key":     {"csrf": {csrf}, "starts_at": {"2030-01-08T15:00:00Z"}, "key": {"<script>"}},
	} {
		status, _, page := b.post("/console/appointments/"+m[1]+"/reschedule", form)
		require.Equal(t, http.StatusNotFound, status, "%s: a conversation's id is no appointment: %s", name, page)
	}
	status, _, _ := b.post("/console/appointments/%3Cscript%3E/cancel", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusNotFound, status)
	e.requireUnchanged(before, "hostile console forms")
	require.Len(t, e.texts(customer), sent, "nothing was sent")

	// Hostile query strings are a clear 400, shown escaped.
	for _, q := range []string{"/console/?filter=" + url.QueryEscape(script), "/console/?after=%FF%FE", "/console/appointments?from=" + url.QueryEscape(script)} {
		status, _ := b.get(q)
		require.Equal(t, http.StatusBadRequest, status, q)
		require.NotContains(t, raw(q), "<script>alert", q)
	}
	// Sign-in with hostile fields: refused with a page, never a 500, no session.
	anon := newBrowser(t, e.srv.URL)
	_, login := anon.get("/console/")
	for name, form := range map[string]url.Values{
		"invalid UTF-8": {"email": {"dana@acme.example\xff"}, "password": {"x"}},
		"oversize":      {"email": {strings.Repeat("a", 300) + "@acme.example"}, "password": {"x"}},
		"script":        {"email": {script}, "password": {script}},
	} {
		form.Set("csrf", csrfOf(t, login))
		status, _, page := anon.post("/console/login", form)
		require.Contains(t, []int{http.StatusUnprocessableEntity, http.StatusUnauthorized}, status, "%s: %s", name, page)
		require.NotContains(t, page, "<script>alert", name)
		_, login = anon.get("/console/")
	}
	status, _ = anon.get(thread)
	require.NotEqual(t, http.StatusOK, status, "no session came of it")
}

// expandChoices turns a route's {name:a|b|c} into one path per choice.
func expandChoices(tmpl string) []string {
	for _, v := range pathVar.FindAllStringSubmatch(tmpl, -1) {
		if v[2] == "" {
			continue
		}
		var out []string
		for _, choice := range strings.Split(strings.TrimPrefix(v[2], ":"), "|") {
			out = append(out, expandChoices(strings.Replace(tmpl, v[0], choice, 1))...)
		}
		return out
	}
	return []string{tmpl}
}
