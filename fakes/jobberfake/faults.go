package jobberfake

import (
	"slices"
	"time"
)

// Fault is a misbehaviour injected into the answer to a GraphQL request. The zero Fault
// is none.
type Fault struct {
	// Status, when non-zero, answers with this HTTP status and a JSON {"message": …}
	// body. Without Commit it answers before authentication, like Jobber's edge, and
	// nothing is done.
	Status int
	// Message is the message of a Status answer; default the status text.
	Message string
	// RetryAfter is the Retry-After header of a Status answer, if any.
	RetryAfter string
	// Commit carries the request out before answering with Status: the change is made
	// and its answer lost, the ambiguity a retried mutation must survive.
	Commit bool
	// Delay holds the answer this long, or until the client gives up or the server
	// closes. Without Status, or with Commit, the request is carried out first.
	Delay time.Duration
	// Malformed carries the request out and answers 200 with a truncated JSON body.
	Malformed bool
	// UserErrors answers a mutation with these userErrors (HTTP 200, no top-level
	// errors), as Jobber does for validation failures; nothing is changed.
	UserErrors []string
}

// RateLimited is Jobber's answer past 2500 requests in 300 s: HTTP 429, with a
// Retry-After header when retryAfter is not empty.
func RateLimited(retryAfter string) Fault { return Fault{Status: 429, RetryAfter: retryAfter} }

// ServerError is a 500; nothing is done.
func ServerError() Fault { return Fault{Status: 500} }

// Unavailable is a 503; nothing is done.
func Unavailable() Fault { return Fault{Status: 503} }

// Lost carries the request out and answers 500: the change is made, the caller cannot
// know it.
func Lost() Fault { return Fault{Status: 500, Commit: true} }

// Slow carries the request out but holds the answer for d.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

// MalformedJSON carries the request out and answers with a body that is not valid JSON.
func MalformedJSON() Fault { return Fault{Malformed: true} }

// Rejected answers a mutation with userErrors carrying messages.
func Rejected(messages ...string) Fault { return Fault{UserErrors: messages} }

// Disconnected is what Jobber answers once the user has disconnected the app from their
// account: 401 with its "disconnected" message.
func Disconnected() Fault {
	return Fault{Status: 401, Message: "User has disconnected this app from their account. Please delete this token"}
}

// FailNext queues f for the next n requests whose root field is op ("jobCreate"), after
// the faults queued before; op "" matches every request. The queue takes precedence
// over FailAlways.
func (s *Server) FailNext(op string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.nextFaults = append(s.nextFaults, targeted{op: op, fault: f})
	}
}

// FailAlways makes every request for op ("" for all) suffer f once no queued fault
// matches. The zero Fault switches it off.
func (s *Server) FailAlways(op string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.always[op] = f
}

// Heal clears the FailNext queue and every FailAlways.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextFaults = nil
	clear(s.always)
}

// SetThrottle sets the query-cost bucket: currentlyAvailable points now, refilled at
// restoreRate points a second up to 10000. A request whose cost exceeds what is
// available answers THROTTLED. Default: full, 500 a second.
func (s *Server) SetThrottle(currentlyAvailable, restoreRate int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bucket = bucket{max: maxAvailable, rate: restoreRate, available: float64(currentlyAvailable), at: s.now()}
}

// Cost is the requestedQueryCost the fake charges for a root field.
func Cost(op string) int {
	if c, ok := costs[op]; ok {
		return c
	}
	return 1
}

// takeFault returns the fault for a request for op.
func (s *Server) takeFault(op string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.nextFaults, func(t targeted) bool { return t.op == "" || t.op == op }); i >= 0 {
		f := s.nextFaults[i].fault
		s.nextFaults = slices.Delete(s.nextFaults, i, i+1)
		return f
	}
	if f, ok := s.always[op]; ok {
		return f
	}
	return s.always[""]
}

const (
	maxAvailable = 10000
	restoreRate  = 500
)

// costs are the fake's requestedQueryCost per root field: in the spirit of Jobber's
// rules (a connection costs first × fields), not Jobber's numbers.
var costs = map[string]int{
	"account":           2,
	"clients":           62,
	"client":            154,
	"job":               4,
	"visit":             5,
	"clientCreate":      11,
	"propertyCreate":    11,
	"jobCreate":         16,
	"visitEditSchedule": 12,
	"jobClose":          11,
}

// bucket is Jobber's query-cost leaky bucket for one app and account.
type bucket struct {
	max, rate int
	available float64
	at        time.Time
}

// take refills the bucket to now and spends cost if that much is available.
func (b *bucket) take(cost int, now time.Time) bool {
	b.available = min(float64(b.max), b.available+now.Sub(b.at).Seconds()*float64(b.rate))
	b.at = now
	if float64(cost) > b.available {
		return false
	}
	b.available -= float64(cost)
	return true
}
