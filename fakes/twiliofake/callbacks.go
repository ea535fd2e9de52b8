package twiliofake

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"ringback/comms/twilio"
)

// Default ErrorCodes of failed and undelivered statuses without a configured ending.
const (
	codeUnreachable        = 30003
	codeUnknownDestination = 30005
)

// scheduleCallbacks starts the status callbacks of an accepted message, one goroutine
// per message posting its statuses in sequence: each waits for the answer to the last.
func (s *Server) scheduleCallbacks(m Message) {
	if m.StatusCallback == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.callbacksOff {
		return
	}
	statuses, code := []string{"sent", "delivered"}, 0
	if e, ok := s.endings[m.To]; ok {
		statuses, code = e.statuses, e.code
	}
	if s.order != nil {
		statuses = s.order
	}
	statuses = slices.Clone(statuses)
	delay := s.callbackDelay
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		for _, status := range statuses {
			if !s.pause(delay) {
				return
			}
			s.record(s.postCallback(m, status, code))
		}
	}()
}

// pause waits d and reports whether the server is still open.
func (s *Server) pause(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-s.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// postCallback posts one status callback the way Twilio does: form-encoded, signed over
// the exact callback URL with the auth token, no retry.
func (s *Server) postCallback(m Message, status string, code int) Callback {
	form := url.Values{
		"MessageSid":    {m.SID},
		"SmsSid":        {m.SID},
		"MessageStatus": {status},
		"SmsStatus":     {status},
		"AccountSid":    {s.accountSID},
		"To":            {m.To},
		"ApiVersion":    {apiVersion},
	}
	if m.From != "" {
		form.Set("From", m.From)
	}
	if m.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	switch status {
	case "failed", "undelivered":
		if code == 0 {
			code = codeUnreachable
			if status == "failed" {
				code = codeUnknownDestination
			}
		}
		form.Set("ErrorCode", strconv.Itoa(code))
	}
	if status == "delivered" || status == "undelivered" {
		// The carrier's delivery report time, YYMMDDhhmm.
		form.Set("RawDlrDoneDate", time.Now().UTC().Format("0601021504"))
	}

	cb := Callback{MessageSID: m.SID, Status: status, URL: m.StatusCallback}
	ctx, cancel := context.WithTimeout(context.Background(), callbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.StatusCallback, strings.NewReader(form.Encode()))
	if err != nil {
		cb.Err = err
		return cb
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("I-Twilio-Idempotency-Token", newSID(""))
	req.Header.Set("X-Twilio-Signature", twilio.Sign(s.authToken, m.StatusCallback, form))
	res, err := s.callbackClient.Do(req)
	if err != nil {
		cb.Err = err
		return cb
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20)) // lets the connection be reused
	_ = res.Body.Close()
	cb.StatusCode = res.StatusCode
	return cb
}

func (s *Server) record(cb Callback) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbacks = append(s.callbacks, cb)
}
