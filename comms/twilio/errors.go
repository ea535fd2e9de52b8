package twilio

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/twilio/twilio-go/client"

	"ringback/tenant"
)

// Permanent refusals: the same message will be refused again, so the outbox must not
// retry it. Match them with errors.Is on an error from Send.
var (
	// ErrOptedOut: Twilio error 21610, the recipient replied STOP to this sender. Nothing
	// reaches that number from this sender until the recipient opts back in (START).
	ErrOptedOut = errors.New("twilio: recipient opted out")
	// ErrInvalidTo: the recipient cannot receive SMS from us: 21211 (invalid To number),
	// 21614 (not a mobile number), 21612 (unreachable from this sender) or 21408 (no
	// permission to send to that region).
	ErrInvalidTo = errors.New("twilio: invalid or unreachable recipient")
	// ErrRejected: any other 4xx answer (bad credentials 20003, invalid From 21212, …).
	ErrRejected = errors.New("twilio: request rejected")
)

// Twilio error codes the classification depends on.
const (
	codeOptedOut       = 21610
	codeInvalidTo      = 21211
	codeNotMobile      = 21614
	codeUnreachable    = 21612
	codeNoPermission   = 21408
	codeQueueFull      = 21611
	codeTooManyRequest = 20429
)

// SendError is the error of every failed Send. Its message names the recipient masked
// (+1512***0100) and never the body or Twilio's own message text, which can quote the
// full number. It wraps one of the sentinels above when the refusal is permanent, and the
// underlying cause: a *client.TwilioRestError when Twilio answered with its JSON error
// envelope (errors.As gives its Code and Message), else a transport or decode error.
type SendError struct {
	To     string // recipient, masked
	Status int    // HTTP status of the answer; 0 when none arrived
	Code   int    // Twilio error code; 0 when the answer carried none

	kind      error // a sentinel, or nil when retryable
	reason    string
	retryable bool
	ambiguous bool
	err       error
}

func (e *SendError) Error() string {
	msg := fmt.Sprintf("twilio: send to %s: %s", e.To, e.reason)
	switch {
	case e.Code != 0:
		msg += fmt.Sprintf(" (HTTP %d, Twilio error %d)", e.Status, e.Code)
	case e.Status != 0:
		msg += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	var rest *client.TwilioRestError
	if e.err != nil && !errors.As(e.err, &rest) {
		// Transport and decode errors name the request URL and the parse failure,
		// never the message; Twilio's error text may quote the number, so it is left out.
		msg += ": " + e.err.Error()
	}
	return msg
}

// Unwrap gives errors.Is/As both the sentinel (if any) and the cause.
func (e *SendError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// IsRetryable reports whether a failed send may be tried again later. Whether the
// message may already have gone out differs by case; Ambiguous tells:
//
//   - 429 / Twilio 20429 (too many concurrent requests) and 21611 (the sender's queue holds
//     more than ten hours of messages): never processed, per Twilio, so a retry cannot
//     duplicate. Twilio's Retry-After header is not available: twilio-go drops the
//     headers of error responses, so back off on your own schedule.
//   - 5xx with Twilio's JSON envelope, or with a non-JSON body (a 502/503 page from a proxy
//     or load balancer): ambiguous, the request may have been processed before the failure.
//   - Other answers whose body is not Twilio's JSON: 4xx ones and redirects (3xx, never
//     followed) were not processed; a 2xx whose body cannot be decoded means Twilio
//     accepted the message but its SID is unknown, so it is ambiguous.
//   - Timeouts, a cancelled ctx and connection failures: ambiguous exactly when the
//     request had been written in full before the failure (a connection reset while
//     waiting for the answer); a refused dial, a DNS failure or a ctx already done is not.
//
// An ambiguous send should be reconciled (list the account's messages to the recipient
// since the first attempt) before it is sent again: v2010 Messages take no idempotency key.
func IsRetryable(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.retryable
}

// Ambiguous reports whether a failed send may nevertheless have reached Twilio and be
// delivered: timeouts and connection failures after the request was written, 5xx
// answers, and accepted messages whose answer could not be read. Permanent refusals and
// 429s are never ambiguous.
func Ambiguous(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.ambiguous
}

// classify turns the failure of one exchange into a *SendError.
func classify(to string, ex *exchange, err error) *SendError {
	se := &SendError{To: MaskNumber(to), Status: ex.status, err: err}

	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		se.Code = rest.Code
		if se.Status == 0 {
			se.Status = rest.Status
		}
		switch {
		case se.Status == 429 || rest.Code == codeTooManyRequest:
			se.reason, se.retryable = "rate limited", true
		case rest.Code == codeQueueFull:
			se.reason, se.retryable = "sender queue full", true
		case se.Status >= 500:
			se.reason, se.retryable, se.ambiguous = "Twilio server error", true, true
		case rest.Code == codeOptedOut:
			se.reason, se.kind = "recipient opted out", ErrOptedOut
		case rest.Code == codeInvalidTo, rest.Code == codeNotMobile,
			rest.Code == codeUnreachable, rest.Code == codeNoPermission:
			se.reason, se.kind = "invalid or unreachable recipient", ErrInvalidTo
		default:
			se.reason, se.kind = "rejected", ErrRejected
		}
		return se
	}

	switch {
	case se.Status >= 500:
		se.reason, se.retryable, se.ambiguous = "server error with a non-JSON body", true, true
	case se.Status >= 400:
		se.reason, se.retryable = "error with a non-JSON body", true
	case se.Status >= 300:
		// twilio-go passes 3xx answers on as successes; the redirect is not followed.
		se.reason, se.retryable = "redirected", true
	case se.Status != 0:
		se.reason, se.retryable, se.ambiguous = "accepted, but the answer is unreadable", true, true
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		se.reason, se.retryable, se.ambiguous = "timed out", true, ex.wrote.Load()
	case errors.Is(err, context.Canceled):
		se.reason, se.retryable, se.ambiguous = "cancelled", true, ex.wrote.Load()
	default:
		se.reason, se.retryable, se.ambiguous = "connection failed", true, ex.wrote.Load()
	}
	return se
}

// isTimeout reports a network timeout other than the ctx deadline, such as a TLS
// handshake or a dial that ran out of time.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// MaskNumber is how a phone number may appear in logs and errors (tenant.MaskPhone).
func MaskNumber(n string) string { return tenant.MaskPhone(n) }
