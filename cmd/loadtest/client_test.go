package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"ringback/comms/twilio"
)

func TestErrorKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&statusError{op: "x", status: 503, body: "busy"}, "reserve: HTTP 503"},
		{fmt.Errorf("insert: %w", &pgconn.PgError{Code: "40P01"}), "reserve: postgres 40P01 DeadlockDetected"},
		{context.DeadlineExceeded, "reserve: timeout"},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), "reserve: connection reset"},
		{fmt.Errorf("something else"), "reserve: transport error"},
	} {
		require.Equal(t, tc.want, errorKind("reserve", tc.err))
	}
}

// The carrier signs its webhooks as Twilio does, over the public URL and the path, so the
// engine's check (the same comms/twilio code) accepts them; SIDs never repeat.
func TestCarrierSignsLikeTwilio(t *testing.T) {
	t.Parallel()
	const token, public = "s3cret", "https://ringback.example"
	var mu sync.Mutex
	var sids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !twilio.Valid(token, public+r.URL.Path, r.PostForm, r.Header.Get("X-Twilio-Signature")) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		want := map[string][2]string{"/webhooks/twilio/voice": {"CallStatus", "no-answer"}, "/webhooks/twilio/sms": {"Body", "YES"}}[r.URL.Path]
		if r.PostForm.Get(want[0]) != want[1] {
			http.Error(w, "unexpected form", http.StatusBadRequest)
			return
		}
		mu.Lock()
		sids = append(sids, r.PostForm.Get("CallSid")+r.PostForm.Get("MessageSid"))
		mu.Unlock()
	}))
	defer srv.Close()
	c := &carrier{base: srv.URL, public: public, token: token, accountSID: "AC" + randomHex(16), client: srv.Client(), tag: randomHex(8)}
	ctx := context.Background()
	require.NoError(t, c.missedCall(ctx, "+17372000001", "+15126000001"))
	require.NoError(t, c.sms(ctx, "+17372000001", "+15126000001", "YES"))
	require.Len(t, sids, 2)
	require.NotEqual(t, sids[0][2:], sids[1][2:])
	require.Len(t, sids[0], 34, "a SID is two letters and 32 hex digits")

	bad := &carrier{base: srv.URL, public: public, token: "wrong", accountSID: c.accountSID, client: srv.Client(), tag: c.tag}
	err := bad.missedCall(ctx, "+17372000001", "+15126000001")
	require.Equal(t, "missed-call webhook: HTTP 403", errorKind("missed-call webhook", err))
}

// The inbox hands each customer the engine's messages in order, each once, and waits
// for the next one.
func TestInbox(t *testing.T) {
	t.Parallel()
	in := newInbox()
	p := pair{customer: "+17372000001", business: "+15126000001"}
	got := make(chan sms)
	go func() {
		m, err := in.next(context.Background(), p)
		if err == nil {
			got <- m
		}
	}()
	in.deliver(sms{From: "+15126000002", To: p.customer, Body: "other business"})
	in.deliver(sms{From: p.business, To: p.customer, Body: "first"})
	in.deliver(sms{From: p.business, To: p.customer, Body: "second"})
	require.Equal(t, "first", (<-got).Body)
	m, err := in.next(context.Background(), p)
	require.NoError(t, err)
	require.Equal(t, "second", m.Body)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = in.next(ctx, p)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Len(t, in.all(p), 2)
	require.Equal(t, 3, in.count())
}

// The fake Twilio sink files what the engine sends, as it arrives.
func TestTwilioSinkFilesMessages(t *testing.T) {
	t.Parallel()
	in := newInbox()
	sink := startTwilioSink("AC0123", "tok", in, false)
	defer sink.Close()
	form := url.Values{"From": {"+15126000001"}, "To": {"+17372000001"}, "Body": {"hello"}}
	req, err := http.NewRequest(http.MethodPost, sink.URL()+"/2010-04-01/Accounts/AC0123/Messages.json", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.SetBasicAuth("AC0123", "tok")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	msgs := in.all(pair{customer: "+17372000001", business: "+15126000001"})
	require.Len(t, msgs, 1)
	require.Equal(t, "hello", msgs[0].Body)
	require.False(t, msgs[0].At.IsZero())

	// A refused send (wrong credentials) is not a message.
	req, _ = http.NewRequest(http.MethodPost, sink.URL()+"/2010-04-01/Accounts/AC0123/Messages.json", strings.NewReader(form.Encode()))
	req.SetBasicAuth("AC0123", "wrong")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, 1, in.count())
}
