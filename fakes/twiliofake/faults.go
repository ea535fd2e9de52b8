package twiliofake

import "time"

// Fault is a misbehaviour injected into the answer to a send request. The zero Fault is
// none. Faults apply before authentication, like failures of Twilio's edge.
type Fault struct {
	// Status, when non-zero, answers with this HTTP status instead of processing the
	// request: no message is created.
	Status int
	// Code is the Twilio error code in the JSON error envelope of a Status answer.
	Code int
	// HTML answers a Status with an HTML page, as a proxy or load balancer does, instead
	// of Twilio's JSON envelope.
	HTML bool
	// Delay holds the answer this long (or until the client gives up or the server
	// closes). Without Status the message is created first, so a client that times out
	// has nevertheless sent it: the ambiguity a slow Twilio creates.
	Delay time.Duration
	// Malformed creates the message but answers 201 with a truncated JSON body.
	Malformed bool
}

// RateLimited is Twilio's answer to too many concurrent requests: 429, error 20429. The
// request was not processed.
func RateLimited() Fault { return Fault{Status: 429, Code: 20429} }

// ServerError is a 500 with Twilio's JSON envelope, error 20500.
func ServerError() Fault { return Fault{Status: 500, Code: 20500} }

// BadGateway is a 502 with an HTML body, as from a load balancer in front of Twilio.
func BadGateway() Fault { return Fault{Status: 502, HTML: true} }

// Slow creates the message normally but holds the answer for d.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

// MalformedJSON creates the message but answers with a body that is not valid JSON.
func MalformedJSON() Fault { return Fault{Malformed: true} }

// FailNext queues f for n send requests, after the faults queued before; the queue
// takes precedence over FailAlways.
func (s *Server) FailNext(n int, f Fault) { s.faults.FailNext(n, f) }

// FailAlways makes every send request suffer f once the FailNext queue is empty. The
// zero Fault switches it off.
func (s *Server) FailAlways(f Fault) { s.faults.FailAlways(f) }

// Heal clears the FailNext queue and FailAlways.
func (s *Server) Heal() { s.faults.Heal() }
