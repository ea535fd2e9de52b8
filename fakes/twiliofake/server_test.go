package twiliofake_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ringback/comms/twilio"
	"ringback/fakes/twiliofake"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "authtoken0123456789"
	business   = "+15125550100"
	customer   = "+15125550199"
)

func newServer(t *testing.T) *twiliofake.Server {
	t.Helper()
	srv := twiliofake.New(accountSID, authToken)
	t.Cleanup(srv.Close)
	return srv
}

// post sends a raw create-message request and returns the status and decoded JSON body.
func post(t *testing.T, srv *twiliofake.Server, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	status, raw, _ := postRaw(t, srv, user, pass, form)
	var body map[string]any
	require.NoError(t, json.Unmarshal(raw, &body), "body %s", raw)
	return status, body
}

func postRaw(t *testing.T, srv *twiliofake.Server, user, pass string, form url.Values) (int, []byte, http.Header) {
	t.Helper()
	u := srv.URL() + "/2010-04-01/Accounts/" + accountSID + "/Messages.json"
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, raw, res.Header
}

func sms(to string) url.Values {
	return url.Values{"From": {business}, "To": {to}, "Body": {"Hello"}}
}

func requireTwilioError(t *testing.T, body map[string]any, status, code int) {
	t.Helper()
	require.EqualValues(t, code, body["code"], "code in %v", body)
	require.EqualValues(t, status, body["status"], "status in %v", body)
	require.NotEmpty(t, body["message"])
	require.Equal(t, "https://www.twilio.com/docs/errors/"+strconv.Itoa(code), body["more_info"])
}

// bounded returns a context that ends when something awaited is clearly not coming, so
// a failing test fails instead of hanging.
func bounded(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCreateMessage(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	form := sms(customer)
	form.Set("StatusCallback", "https://engine.example.com/webhooks/twilio/sms-status")
	before := time.Now()

	status, body := post(t, srv, accountSID, authToken, form)
	require.Equal(t, http.StatusCreated, status)
	sid, _ := body["sid"].(string)
	require.Regexp(t, `^SM[0-9a-f]{32}$`, sid)
	require.Equal(t, "queued", body["status"])
	require.Equal(t, customer, body["to"])
	require.Equal(t, business, body["from"])
	require.Equal(t, "Hello", body["body"])
	require.Equal(t, "1", body["num_segments"])
	require.Equal(t, "outbound-api", body["direction"])
	require.Equal(t, accountSID, body["account_sid"])
	require.Equal(t, "2010-04-01", body["api_version"])
	require.Equal(t, "/2010-04-01/Accounts/"+accountSID+"/Messages/"+sid+".json", body["uri"])
	require.Contains(t, body, "error_code")
	require.Nil(t, body["error_code"])
	created, err := time.Parse(time.RFC1123Z, body["date_created"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, before, created, time.Minute)

	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, twiliofake.Message{
		SID: sid, From: business, To: customer, Body: "Hello",
		StatusCallback: form.Get("StatusCallback"), ReceivedAt: msgs[0].ReceivedAt,
	}, msgs[0])
	require.False(t, msgs[0].ReceivedAt.Before(before))
}

func TestSegments(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.DisableCallbacks()
	tests := []struct {
		body string
		want string
	}{
		{strings.Repeat("a", 160), "1"},
		{strings.Repeat("a", 161), "2"},
		{strings.Repeat("€", 80), "1"}, // GSM extension: two septets each
		{strings.Repeat("€", 81), "2"},
		{strings.Repeat("é", 160), "1"}, // in the GSM basic set
		{strings.Repeat("ł", 70), "1"},  // UCS-2
		{strings.Repeat("ł", 71), "2"},
	}
	for _, tt := range tests {
		form := sms(customer)
		form.Set("Body", tt.body)
		status, body := post(t, srv, accountSID, authToken, form)
		require.Equal(t, http.StatusCreated, status)
		require.Equal(t, tt.want, body["num_segments"], "%d × %q", len([]rune(tt.body)), []rune(tt.body)[0])
	}
}

func TestAuthFailure(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	for name, creds := range map[string][2]string{
		"wrong token":   {accountSID, "wrongtoken"},
		"wrong account": {"AC00000000000000000000000000000000", authToken},
		"no auth":       {"", ""},
	} {
		status, raw, header := postRaw(t, srv, creds[0], creds[1], sms(customer))
		require.Equal(t, http.StatusUnauthorized, status, name)
		require.Contains(t, header.Get("WWW-Authenticate"), "Basic", name)
		var body map[string]any
		require.NoError(t, json.Unmarshal(raw, &body))
		requireTwilioError(t, body, 401, 20003)
	}
	require.Empty(t, srv.Messages())
	require.Equal(t, 3, srv.Requests())
}

func TestOtherAccountPathIsNotFound(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	u := srv.URL() + "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json"
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(sms(customer).Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(accountSID, authToken)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Empty(t, srv.Messages())
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	tests := []struct {
		name string
		form url.Values
		code int
	}{
		{"missing To", url.Values{"From": {business}, "Body": {"Hi"}}, 21604},
		{"missing From", url.Values{"To": {customer}, "Body": {"Hi"}}, 21603},
		{"missing Body", url.Values{"From": {business}, "To": {customer}}, 21602},
		{"To not E.164", sms("5125550199"), 21211},
		{"To with letters", sms("+1512555O199"), 21211},
		{"body too long", url.Values{"From": {business}, "To": {customer}, "Body": {strings.Repeat("a", 1601)}}, 21617},
		{"bad StatusCallback", url.Values{"From": {business}, "To": {customer}, "Body": {"Hi"}, "StatusCallback": {"not a url"}}, 21609},
		{"magic invalid To", sms("+15005550001"), 21211},
		{"magic unreachable To", sms("+15005550002"), 21612},
		{"magic no permission", sms("+15005550003"), 21408},
		{"magic opted out", sms("+15005550004"), 21610},
		{"magic not mobile", sms("+15005550009"), 21614},
		{"magic queue full", url.Values{"From": {"+15005550008"}, "To": {customer}, "Body": {"Hi"}}, 21611},
	}
	for _, tt := range tests {
		status, body := post(t, srv, accountSID, authToken, tt.form)
		require.Equal(t, http.StatusBadRequest, status, tt.name)
		requireTwilioError(t, body, 400, tt.code)
	}
	require.Empty(t, srv.Messages())
	require.Equal(t, len(tests), srv.Requests())
}

func TestOptOut(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.DisableCallbacks()
	srv.OptOut(customer)

	status, body := post(t, srv, accountSID, authToken, sms(customer))
	require.Equal(t, http.StatusBadRequest, status)
	requireTwilioError(t, body, 400, 21610)
	status, _ = post(t, srv, accountSID, authToken, sms("+15125550198"))
	require.Equal(t, http.StatusCreated, status, "another recipient")

	srv.OptIn(customer)
	status, _ = post(t, srv, accountSID, authToken, sms(customer))
	require.Equal(t, http.StatusCreated, status)
	require.Len(t, srv.Messages(), 2)
}

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fault    twiliofake.Fault
		status   int
		code     int  // 0: not a JSON error
		html     bool // an HTML body
		accepted bool
	}{
		{name: "rate limited", fault: twiliofake.RateLimited(), status: 429, code: 20429},
		{name: "server error", fault: twiliofake.ServerError(), status: 500, code: 20500},
		{name: "bad gateway", fault: twiliofake.BadGateway(), status: 502, html: true},
		{name: "custom", fault: twiliofake.Fault{Status: 400, Code: 21611}, status: 400, code: 21611},
		{name: "malformed JSON", fault: twiliofake.MalformedJSON(), status: 201, accepted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			srv.DisableCallbacks()
			srv.FailNext(2, tt.fault)

			for range 2 {
				status, raw, header := postRaw(t, srv, accountSID, authToken, sms(customer))
				require.Equal(t, tt.status, status)
				switch {
				case tt.code != 0:
					var body map[string]any
					require.NoError(t, json.Unmarshal(raw, &body))
					requireTwilioError(t, body, tt.status, tt.code)
				case tt.html:
					require.Contains(t, header.Get("Content-Type"), "text/html")
					require.True(t, strings.HasPrefix(string(raw), "<html>"), "body %s", raw)
				default:
					require.False(t, json.Valid(raw), "valid JSON: %s", raw)
				}
			}
			// The third request is served normally.
			status, _ := post(t, srv, accountSID, authToken, sms(customer))
			require.Equal(t, http.StatusCreated, status)

			want := 1
			if tt.accepted {
				want = 3
			}
			require.Len(t, srv.Messages(), want)
			require.Equal(t, 3, srv.Requests())
		})
	}
}

func TestFailAlwaysUntilHealed(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.FailAlways(twiliofake.ServerError())
	srv.FailNext(1, twiliofake.RateLimited())

	status, _ := post(t, srv, accountSID, authToken, sms(customer))
	require.Equal(t, 429, status, "FailNext goes first")
	for range 3 {
		status, _ = post(t, srv, accountSID, authToken, sms(customer))
		require.Equal(t, 500, status)
	}
	srv.Heal()
	status, _ = post(t, srv, accountSID, authToken, sms(customer))
	require.Equal(t, http.StatusCreated, status)
	require.Equal(t, 5, srv.Requests())
}

func TestSlowAnswerStillCreatesTheMessage(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.DisableCallbacks()
	const delay = 100 * time.Millisecond
	srv.FailNext(1, twiliofake.Slow(delay))

	start := time.Now()
	status, _ := post(t, srv, accountSID, authToken, sms(customer))
	require.Equal(t, http.StatusCreated, status)
	require.GreaterOrEqual(t, time.Since(start), delay)

	// A client that gives up while the answer is held has sent the message anyway. It
	// gives up once the message exists, not after a timer that could fire before the
	// request reached the server (which hung this test under -race on a loaded machine).
	srv.FailNext(1, twiliofake.Slow(time.Minute))
	ctx, giveUp := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		srv.URL()+"/2010-04-01/Accounts/"+accountSID+"/Messages.json", strings.NewReader(sms(customer).Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(accountSID, authToken)
	answered := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	wait, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	msgs, err := srv.WaitForMessages(wait, 2)
	require.NoError(t, err, "the message exists while its answer is held")
	require.Len(t, msgs, 2)
	giveUp()
	require.Error(t, <-answered, "the client gave up before the answer")
}

// A Close during a held answer returns promptly rather than after the delay.
func TestCloseEndsHeldAnswers(t *testing.T) {
	t.Parallel()
	srv := twiliofake.New(accountSID, authToken)
	srv.FailAlways(twiliofake.Slow(time.Hour))
	errc := make(chan error, 1)
	go func() {
		c, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, APIURL: srv.URL(), Timeout: time.Hour})
		if err != nil {
			errc <- err
			return
		}
		_, err = c.Send(context.Background(), twilio.Message{From: business, To: customer, Body: "Hi"})
		errc <- err
	}()
	_, err := srv.WaitForMessages(t.Context(), 1)
	require.NoError(t, err)
	srv.Close()
	// The held request was answered (201) or its connection dropped; either way it ended.
	select {
	case <-errc:
	case <-bounded(t).Done():
		t.Fatal("send still held after Close")
	}
}

// callback is one status callback as the receiver saw it.
type callback struct {
	form     url.Values
	validSig bool
	token    string
}

// receiver is an httptest server standing in for the engine's status webhook; it
// checks each callback's signature over the exact URL it was posted to.
func receiver(t *testing.T) (string, <-chan callback) {
	t.Helper()
	got := make(chan callback, 64)
	var ts *httptest.Server
	ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fullURL := ts.URL + r.URL.RequestURI()
		got <- callback{
			form:     r.PostForm,
			validSig: twilio.Valid(authToken, fullURL, r.PostForm, r.Header.Get("X-Twilio-Signature")),
			token:    r.Header.Get("I-Twilio-Idempotency-Token"),
		}
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/webhooks/twilio/sms-status?tenant=acme", got
}

func receive(t *testing.T, got <-chan callback, n int) []callback {
	t.Helper()
	ctx := bounded(t)
	var cbs []callback
	for range n {
		select {
		case cb := <-got:
			cbs = append(cbs, cb)
		case <-ctx.Done():
			t.Fatalf("%d of %d callbacks arrived", len(cbs), n)
		}
	}
	return cbs
}

func TestCallbacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		setup  func(*twiliofake.Server)
		want   []string
		errors []string // ErrorCode per callback, "" for none
	}{
		{name: "default", want: []string{"sent", "delivered"}, errors: []string{"", ""}},
		{name: "undeliverable", setup: func(s *twiliofake.Server) { s.Undeliverable(customer) },
			want: []string{"sent", "undelivered"}, errors: []string{"", "30003"}},
		{name: "failed", setup: func(s *twiliofake.Server) { s.FailDelivery(customer) },
			want: []string{"failed"}, errors: []string{"30005"}},
		{name: "out of order and redelivered", setup: func(s *twiliofake.Server) {
			s.CallbackOrder([]string{"delivered", "sent", "sent"})
		}, want: []string{"delivered", "sent", "sent"}, errors: []string{"", "", ""}},
		{name: "custom order with a failure", setup: func(s *twiliofake.Server) {
			s.CallbackOrder([]string{"undelivered", "sent"})
		}, want: []string{"undelivered", "sent"}, errors: []string{"30003", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t)
			if tt.setup != nil {
				tt.setup(srv)
			}
			cbURL, got := receiver(t)
			form := sms(customer)
			form.Set("StatusCallback", cbURL)
			status, body := post(t, srv, accountSID, authToken, form)
			require.Equal(t, http.StatusCreated, status)
			sid := body["sid"].(string)

			cbs := receive(t, got, len(tt.want))
			tokens := map[string]bool{}
			for i, cb := range cbs {
				require.True(t, cb.validSig, "callback %d: bad signature", i)
				require.Equal(t, tt.want[i], cb.form.Get("MessageStatus"), "callback %d", i)
				require.Equal(t, tt.want[i], cb.form.Get("SmsStatus"), "callback %d", i)
				require.Equal(t, sid, cb.form.Get("MessageSid"))
				require.Equal(t, sid, cb.form.Get("SmsSid"))
				require.Equal(t, accountSID, cb.form.Get("AccountSid"))
				require.Equal(t, business, cb.form.Get("From"))
				require.Equal(t, customer, cb.form.Get("To"))
				require.Equal(t, "2010-04-01", cb.form.Get("ApiVersion"))
				require.Equal(t, tt.errors[i], cb.form.Get("ErrorCode"), "callback %d", i)
				require.Equal(t, tt.errors[i] != "", cb.form.Has("ErrorCode"), "callback %d", i)
				require.NotEmpty(t, cb.token)
				require.False(t, tokens[cb.token], "idempotency token reused")
				tokens[cb.token] = true
			}

			srv.Close() // waits for the callbacks in flight
			log := srv.Callbacks()
			require.Len(t, log, len(tt.want))
			for i, cb := range log {
				require.Equal(t, tt.want[i], cb.Status)
				require.Equal(t, http.StatusOK, cb.StatusCode)
				require.NoError(t, cb.Err)
				require.Equal(t, cbURL, cb.URL)
			}
		})
	}
}

func TestDisableCallbacks(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	cbURL, got := receiver(t)
	form := sms(customer)
	form.Set("StatusCallback", cbURL)

	srv.DisableCallbacks()
	status, quiet := post(t, srv, accountSID, authToken, form)
	require.Equal(t, http.StatusCreated, status)
	srv.EnableCallbacks()
	status, loud := post(t, srv, accountSID, authToken, form)
	require.Equal(t, http.StatusCreated, status)

	// Had the first message's callbacks been scheduled, they would have started before
	// the second message was even accepted.
	for _, cb := range receive(t, got, 2) {
		require.Equal(t, loud["sid"], cb.form.Get("MessageSid"))
	}
	srv.Close()
	for _, cb := range srv.Callbacks() {
		require.NotEqual(t, quiet["sid"], cb.MessageSID)
	}
	require.Empty(t, got)
}

// Close waits for a callback in flight and posts none after it.
func TestCloseWaitsForCallbacksInFlight(t *testing.T) {
	t.Parallel()
	srv := twiliofake.New(accountSID, authToken)
	arrived := make(chan string, 4)
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.FormValue("MessageStatus")
		<-release
	}))
	t.Cleanup(ts.Close)
	form := sms(customer)
	form.Set("StatusCallback", ts.URL)
	status, _ := post(t, srv, accountSID, authToken, form)
	require.Equal(t, http.StatusCreated, status)
	require.Equal(t, "sent", <-arrived)

	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	// Close cannot finish while the receiver holds the callback.
	select {
	case <-closed:
		t.Fatal("Close returned while a callback was in flight")
	default:
	}
	close(release)
	<-closed

	log := srv.Callbacks()
	require.NotEmpty(t, log)
	require.Equal(t, "sent", log[0].Status)
	require.Equal(t, http.StatusOK, log[0].StatusCode)
	require.Len(t, log, len(arrived)+1, "every posted callback is logged")
}

func TestWaitForMessages(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	srv.DisableCallbacks()
	const n = 20

	type result struct {
		msgs []twiliofake.Message
		err  error
	}
	done := make(chan result, 1)
	go func() {
		msgs, err := srv.WaitForMessages(bounded(t), n)
		done <- result{msgs, err}
	}()

	c, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, APIURL: srv.URL()})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = c.Send(t.Context(), twilio.Message{From: business, To: customer, Body: "Hi"})
		})
	}
	r := <-done
	require.NoError(t, r.err)
	require.GreaterOrEqual(t, len(r.msgs), n)
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.Equal(t, n, srv.Requests())

	// Already satisfied: returns at once.
	msgs, err := srv.WaitForMessages(t.Context(), 1)
	require.NoError(t, err)
	require.Len(t, msgs, n)
}

func TestWaitForMessagesGivesUp(t *testing.T) {
	t.Parallel()
	srv := twiliofake.New(accountSID, authToken)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := srv.WaitForMessages(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)

	errc := make(chan error, 1)
	go func() {
		_, err := srv.WaitForMessages(t.Context(), 1)
		errc <- err
	}()
	srv.Close()
	require.True(t, errors.Is(<-errc, twiliofake.ErrClosed))
}

// Many senders, with callbacks to a receiver, under -race.
func TestConcurrentSenders(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	cbURL, got := receiver(t)
	srv.Undeliverable("+15125550001")
	c, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, APIURL: srv.URL()})
	require.NoError(t, err)

	// Each sender that queues a fault sends afterwards, so every fault is consumed.
	const n, faulty = 30, 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			if i%(n/faulty) == 0 {
				srv.FailNext(1, twiliofake.RateLimited())
			}
			to := customer
			if i%2 == 0 {
				to = "+15125550001"
			}
			_, errs[i] = c.Send(t.Context(), twilio.Message{From: business, To: to, Body: "Hi", StatusCallback: cbURL})
			_ = srv.Messages()
			_ = srv.Requests()
		})
	}
	wg.Wait()
	limited := 0
	for _, err := range errs {
		if err != nil {
			require.True(t, twilio.IsRetryable(err), "%v", err)
			limited++
		}
	}
	require.Equal(t, faulty, limited)
	accepted := len(srv.Messages())
	require.Equal(t, n, srv.Requests())
	require.Equal(t, n-faulty, accepted)
	for _, cb := range receive(t, got, 2*accepted) {
		require.True(t, cb.validSig)
	}
}

func TestNewUnstartedServesThroughHandler(t *testing.T) {
	t.Parallel()
	srv := twiliofake.NewUnstarted(accountSID, authToken)
	t.Cleanup(srv.Close)
	require.Empty(t, srv.URL())
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	c, err := twilio.New(twilio.Config{AccountSID: accountSID, AuthToken: authToken, APIURL: ts.URL})
	require.NoError(t, err)
	sent, err := c.Send(t.Context(), twilio.Message{From: business, To: customer, Body: "Hi"})
	require.NoError(t, err)
	require.Equal(t, sent.SID, srv.Messages()[0].SID)
}

func TestUnknownRoute(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	res, err := http.Get(srv.URL() + "/2010-04-01/Accounts/" + accountSID + "/Calls.json")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	var body map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	requireTwilioError(t, body, 404, 20404)
	require.Equal(t, 1, srv.Requests())
}
