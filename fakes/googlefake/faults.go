package googlefake

import (
	"net/http"
	"time"
)

// Fault is a misbehaviour injected into the answer to one Calendar API request. The zero
// Fault is none. Faults apply before authentication, like failures of Google's front end.
type Fault struct {
	// Status, when non-zero, answers with this HTTP status and Google's error envelope
	// instead of processing the request: nothing changes.
	Status int
	// Reason and Message go into the envelope of a Status answer (errors[0].reason, and
	// both message fields). Rate-limit reasons get Google's "usageLimits" domain.
	Reason, Message string
	// RetryAfter, when non-zero, adds a Retry-After header (whole seconds) to a Status
	// answer. Google's Calendar API rarely sends one; its front end sometimes does.
	RetryAfter time.Duration
	// Delay holds the answer this long (or until the client gives up or the server
	// closes). Without Status the request is processed first, so a client that times out
	// has nevertheless made its change: the ambiguity a slow Google creates.
	Delay time.Duration
	// Malformed processes the request but truncates the JSON body of a successful answer.
	Malformed bool
}

// ServerError is a 500 backendError, Google's "try again" failure.
func ServerError() Fault {
	return Fault{Status: http.StatusInternalServerError, Reason: "backendError", Message: "Backend Error"}
}

// Unavailable is a 503 backendError, as during an outage.
func Unavailable() Fault {
	return Fault{Status: http.StatusServiceUnavailable, Reason: "backendError", Message: "Service unavailable. Please try again"}
}

// RateLimited is the 403 rateLimitExceeded Calendar answers when a project exceeds its
// per-minute quota.
func RateLimited() Fault {
	return Fault{Status: http.StatusForbidden, Reason: "rateLimitExceeded", Message: "Rate Limit Exceeded"}
}

// UserRateLimited is the 403 userRateLimitExceeded of a user over their per-minute quota.
func UserRateLimited() Fault {
	return Fault{Status: http.StatusForbidden, Reason: "userRateLimitExceeded", Message: "User Rate Limit Exceeded"}
}

// QuotaExceeded is the 403 quotaExceeded of Calendar's own usage limits (too many events
// created), not the API quota.
func QuotaExceeded() Fault {
	return Fault{Status: http.StatusForbidden, Reason: "quotaExceeded", Message: "Calendar usage limits exceeded."}
}

// TooManyRequests is the 429 rateLimitExceeded variant of RateLimited.
func TooManyRequests() Fault {
	return Fault{Status: http.StatusTooManyRequests, Reason: "rateLimitExceeded", Message: "Rate Limit Exceeded"}
}

// Forbidden is the 403 a user without write access to the calendar gets: not retryable.
func Forbidden() Fault {
	return Fault{Status: http.StatusForbidden, Reason: "requiredAccessLevel", Message: "You need to have writer access to this calendar."}
}

// Slow processes the request normally but holds the answer for d.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

// MalformedJSON processes the request but answers with a body that is not valid JSON.
func MalformedJSON() Fault { return Fault{Malformed: true} }

// FailNext queues f for the next n API requests, after the faults queued before; the
// queue takes precedence over FailAlways.
func (s *Server) FailNext(n int, f Fault) { s.faults.FailNext(n, f) }

// FailAlways makes every API request suffer f once the FailNext queue is empty, until
// Heal. The zero Fault switches it off.
func (s *Server) FailAlways(f Fault) { s.faults.FailAlways(f) }

// Heal clears the FailNext queue and FailAlways.
func (s *Server) Heal() { s.faults.Heal() }
