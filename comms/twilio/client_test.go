package twilio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twilio/twilio-go/client"

	"ringback/comms/twilio"
	"ringback/fakes/twiliofake"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "authtoken0123456789"
	business   = "+15125550100"
	customer   = "+15125550199"
	body       = "Sorry we missed your call at Acme Plumbing! Reply 1, 2 or 3."
)

// newFake starts a fake Twilio and a client pointed at it.
func newFake(t *testing.T, timeout time.Duration) (*twiliofake.Server, *twilio.Client) {
	t.Helper()
	srv := twiliofake.New(accountSID, authToken)
	t.Cleanup(srv.Close)
	c, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, APIURL: srv.URL(), Timeout: timeout})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return srv, c
}

func message() twilio.Message {
	return twilio.Message{From: business, To: customer, Body: body, StatusCallback: "https://engine.example.com/webhooks/twilio/sms-status"}
}

func TestSendSuccess(t *testing.T) {
	t.Parallel()
	// Mount the fake behind a recorder, under a path prefix, to see the wire request
	// and to exercise a prefixed APIURL.
	fake := twiliofake.NewUnstarted(accountSID, authToken)
	t.Cleanup(fake.Close)
	type seen struct {
		user, pass string
		ok         bool
		path       string
		form       url.Values
	}
	requests := make(chan seen, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		require.NoError(t, r.ParseForm())
		requests <- seen{user: user, pass: pass, ok: ok, path: r.URL.Path, form: r.PostForm}
		http.StripPrefix("/twilio", fake.Handler()).ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, APIURL: ts.URL + "/twilio/"})
	require.NoError(t, err)

	sent, err := c.Send(t.Context(), message())
	require.NoError(t, err)
	require.Regexp(t, `^SM[0-9a-f]{32}$`, sent.SID)
	require.Equal(t, "queued", sent.Status)

	got := <-requests
	require.True(t, got.ok, "no basic auth")
	require.Equal(t, accountSID, got.user)
	require.Equal(t, authToken, got.pass)
	require.Equal(t, "/twilio/2010-04-01/Accounts/"+accountSID+"/Messages.json", got.path)
	require.Equal(t, url.Values{
		"From":           {business},
		"To":             {customer},
		"Body":           {body},
		"StatusCallback": {message().StatusCallback},
	}, got.form)

	msgs := fake.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, sent.SID, msgs[0].SID)
	require.Equal(t, customer, msgs[0].To)
	require.Equal(t, body, msgs[0].Body)
}

func TestSendWithoutStatusCallbackOmitsIt(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, 0)
	m := message()
	m.StatusCallback = ""
	_, err := c.Send(t.Context(), m)
	require.NoError(t, err)
	require.Empty(t, srv.Messages()[0].StatusCallback)
}

// TestSendFailures checks the classification the outbox relies on, and that no error
// message leaks the recipient's full number or the body.
func TestSendFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		setup     func(*twiliofake.Server)
		to        string
		timeout   time.Duration
		sentinel  error // nil: retryable
		status    int
		code      int
		retryable bool
		ambiguous bool
		accepted  bool // the fake created the message nevertheless
	}{
		{name: "opted out", setup: func(s *twiliofake.Server) { s.OptOut(customer) },
			sentinel: twilio.ErrOptedOut, status: 400, code: 21610},
		{name: "invalid To", to: "5125550199",
			sentinel: twilio.ErrInvalidTo, status: 400, code: 21211},
		{name: "not a mobile number", to: "+15005550009",
			sentinel: twilio.ErrInvalidTo, status: 400, code: 21614},
		{name: "other 4xx", setup: func(s *twiliofake.Server) { s.FailNext(1, twiliofake.Fault{Status: 400, Code: 21212}) },
			sentinel: twilio.ErrRejected, status: 400, code: 21212},
		{name: "429", setup: func(s *twiliofake.Server) { s.FailNext(1, twiliofake.RateLimited()) },
			status: 429, code: 20429, retryable: true},
		{name: "20429 under another status", setup: func(s *twiliofake.Server) { s.FailNext(1, twiliofake.Fault{Status: 503, Code: 20429}) },
			status: 503, code: 20429, retryable: true},
		{name: "queue full", to: customer, setup: func(s *twiliofake.Server) { s.FailNext(1, twiliofake.Fault{Status: 400, Code: 21611}) },
			status: 400, code: 21611, retryable: true},
		{name: "500", setup: func(s *twiliofake.Server) { s.FailNext(1, twiliofake.ServerError()) },
			status: 500, code: 20500, retryable: true, ambiguous: true},
		{name: "502 HTML", setup: func(s *twiliofake.Server) { s.FailNext(1, twiliofake.BadGateway()) },
			status: 502, retryable: true, ambiguous: true},
		{name: "404 HTML", setup: func(s *twiliofake.Server) { s.FailNext(1, twiliofake.Fault{Status: 404, HTML: true}) },
			status: 404, retryable: true},
		{name: "malformed success", setup: func(s *twiliofake.Server) { s.FailNext(1, twiliofake.MalformedJSON()) },
			status: 201, retryable: true, ambiguous: true, accepted: true},
		{name: "slower than the timeout", timeout: 200 * time.Millisecond,
			setup:     func(s *twiliofake.Server) { s.FailNext(1, twiliofake.Slow(time.Minute)) },
			retryable: true, ambiguous: true, accepted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := newFake(t, tt.timeout)
			if tt.setup != nil {
				tt.setup(srv)
			}
			m := message()
			if tt.to != "" {
				m.To = tt.to
			}

			_, err := c.Send(t.Context(), m)
			require.Error(t, err)

			var se *twilio.SendError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tt.status, se.Status, "HTTP status")
			require.Equal(t, tt.code, se.Code, "Twilio code")
			require.Equal(t, tt.retryable, twilio.IsRetryable(err), "IsRetryable(%v)", err)
			require.Equal(t, tt.ambiguous, twilio.Ambiguous(err), "Ambiguous(%v)", err)
			for _, s := range []error{twilio.ErrOptedOut, twilio.ErrInvalidTo, twilio.ErrRejected} {
				require.Equal(t, s == tt.sentinel, errors.Is(err, s), "errors.Is(%v, %v)", err, s)
			}
			var rest *client.TwilioRestError
			if tt.code != 0 {
				require.ErrorAs(t, err, &rest)
				require.Equal(t, tt.code, rest.Code)
			} else {
				require.False(t, errors.As(err, &rest), "a %T in %v", rest, err)
			}

			require.NotContains(t, err.Error(), m.To)
			require.NotContains(t, err.Error(), m.Body)
			if len(m.To) >= 10 {
				require.Contains(t, err.Error(), m.To[:5]+"***"+m.To[len(m.To)-4:])
			}

			require.Equal(t, 1, srv.Requests())
			if tt.accepted {
				msgs, err := srv.WaitForMessages(t.Context(), 1)
				require.NoError(t, err)
				require.Equal(t, m.To, msgs[0].To)
			} else {
				require.Empty(t, srv.Messages())
			}
		})
	}
}

func TestSendWrongCredentialsIsPermanent(t *testing.T) {
	t.Parallel()
	srv := twiliofake.New(accountSID, authToken)
	t.Cleanup(srv.Close)
	c, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: "wrongtoken", APIURL: srv.URL()})
	require.NoError(t, err)

	_, err = c.Send(t.Context(), message())
	require.ErrorIs(t, err, twilio.ErrRejected)
	require.False(t, twilio.IsRetryable(err))
	var se *twilio.SendError
	require.ErrorAs(t, err, &se)
	require.Equal(t, 401, se.Status)
	require.Equal(t, 20003, se.Code)
}

func TestSendContextAlreadyDoneSendsNothing(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, err := c.Send(ctx, message())
	require.ErrorIs(t, err, context.Canceled)
	require.True(t, twilio.IsRetryable(err))
	require.False(t, twilio.Ambiguous(err))
	require.Zero(t, srv.Requests())
}

// Cancelling ctx aborts a send even though twilio-go takes no context; the request was
// written, so the outcome is ambiguous.
func TestSendCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, time.Minute)
	srv.FailNext(1, twiliofake.Slow(time.Minute))
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		_, _ = srv.WaitForMessages(ctx, 1)
		cancel()
	}()

	_, err := c.Send(ctx, message())
	require.ErrorIs(t, err, context.Canceled)
	require.True(t, twilio.IsRetryable(err))
	require.True(t, twilio.Ambiguous(err))
}

func TestSendConnectionRefusedIsNotAmbiguous(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.NotFoundHandler())
	ts.Close()
	c, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, APIURL: ts.URL})
	require.NoError(t, err)

	_, err = c.Send(t.Context(), message())
	require.True(t, twilio.IsRetryable(err), "IsRetryable(%v)", err)
	require.False(t, twilio.Ambiguous(err), "Ambiguous(%v)", err)
}

func TestSendConcurrently(t *testing.T) {
	t.Parallel()
	srv, c := newFake(t, 0)
	const n = 40
	var wg sync.WaitGroup
	sids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			m := message()
			m.To = fmt.Sprintf("+1512555%04d", i)
			sent, err := c.Send(t.Context(), m)
			sids[i], errs[i] = sent.SID, err
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		require.NoError(t, errs[i])
		require.False(t, seen[sids[i]], "duplicate SID %s", sids[i])
		seen[sids[i]] = true
	}
	require.Len(t, srv.Messages(), n)
	require.Equal(t, n, srv.Requests())
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]twilio.Config{
		"no account":          {AuthToken: authToken},
		"no token":            {AccountSID: accountSID},
		"token with a dash":   {AccountSID: accountSID, AuthToken: "test-token"},
		"account with spaces": {AccountSID: "AC 123", AuthToken: authToken},
		"negative timeout":    {AccountSID: accountSID, AuthToken: authToken, Timeout: -time.Second},
		"relative URL":        {AccountSID: accountSID, AuthToken: authToken, APIURL: "api.twilio.com"},
		"other scheme":        {AccountSID: accountSID, AuthToken: authToken, APIURL: "ftp://api.twilio.com"},
		"URL with query":      {AccountSID: accountSID, AuthToken: authToken, APIURL: "https://api.twilio.com?x=1"},
	}
	for name, cfg := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := twilio.New(cfg)
			require.Error(t, err)
			require.NotContains(t, err.Error(), authToken)
		})
	}
}
