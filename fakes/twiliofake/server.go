// Package twiliofake is a fake Twilio REST API for tests, the load harness and sandbox
// demos. It speaks Twilio's wire format for sending SMS (form-encoded POSTs with Basic
// auth, Twilio's JSON resources and error envelopes), posts signed status callbacks the
// way Twilio does, and lets tests inject the failures real Twilio produces: opted-out
// recipients, rate limiting, server errors, proxy error pages, slow and unreadable answers.
//
// Only POST /2010-04-01/Accounts/{AccountSid}/Messages.json is implemented; every other
// route answers 404 with Twilio's error envelope.
package twiliofake

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"

	inject "ringback/fakes/internal/fault"
)

// ErrClosed is returned by WaitForMessages once the server is closed.
var ErrClosed = errors.New("twiliofake: server closed")

// callbackTimeout bounds each status callback request, so Close waits a bounded time.
const callbackTimeout = 5 * time.Second

// Message is one message the fake accepted.
type Message struct {
	SID                 string // "SM" + 32 hex digits
	From                string // empty when sent through a Messaging Service
	To                  string
	Body                string
	StatusCallback      string
	MessagingServiceSID string
	ReceivedAt          time.Time
	// CorrelationID is the request's X-Correlation-Id header (Twilio ignores it; the
	// engine's tests check that sends carry their webhook's).
	CorrelationID string
}

// Callback is the outcome of one status callback the fake posted.
type Callback struct {
	MessageSID string
	Status     string // MessageStatus posted
	URL        string
	StatusCode int   // the receiver's HTTP status; 0 when the request failed
	Err        error // why the request failed, if it did
}

// Server is a fake Twilio. All methods are safe for concurrent use.
type Server struct {
	accountSID string
	authToken  string
	handler    http.Handler
	ts         *httptest.Server // nil for NewUnstarted

	callbackTransport *http.Transport
	callbackClient    *http.Client
	done              chan struct{} // closed by Close: ends held answers and pending callbacks
	closeOnce         sync.Once
	inflight          sync.WaitGroup // callback goroutines; Add only under mu while !closed

	mu            sync.Mutex
	closed        bool
	requests      int
	messages      []Message
	arrived       chan struct{} // closed and replaced whenever a message is accepted
	faults        inject.Queue[Fault]
	optedOut      map[string]bool
	endings       map[string]ending
	order         []string // nil: the default sequence for the recipient
	callbacksOff  bool
	callbackDelay time.Duration
	callbacks     []Callback
}

// ending is how delivery of a message to one number ends.
type ending struct {
	statuses []string // callback sequence
	code     int      // ErrorCode of a failed or undelivered status
}

// New starts a fake Twilio on an httptest server on 127.0.0.1 that accepts Basic auth
// accountSID:authToken. Point twilio.Config.APIURL at URL(); Close it when done.
func New(accountSID, authToken string) *Server {
	s := NewUnstarted(accountSID, authToken)
	s.ts = httptest.NewServer(s.handler)
	return s
}

// NewUnstarted returns a fake Twilio that does not listen: mount Handler() on a listener
// of your own (a standalone demo or load harness). URL() is then empty. Close still waits
// for the status callbacks in flight.
func NewUnstarted(accountSID, authToken string) *Server {
	tr := &http.Transport{MaxIdleConnsPerHost: 16, ResponseHeaderTimeout: callbackTimeout}
	s := &Server{
		accountSID:        accountSID,
		authToken:         authToken,
		callbackTransport: tr,
		callbackClient: &http.Client{
			Transport: tr,
			Timeout:   callbackTimeout,
			// Twilio does not follow redirects from a status callback URL.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		done:     make(chan struct{}),
		arrived:  make(chan struct{}),
		optedOut: map[string]bool{},
		endings:  map[string]ending{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{AccountSid}/Messages.json", s.createMessage)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 20404,
			fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
	})
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
	return s
}

// URL is the base URL of the fake's REST API ("http://127.0.0.1:port"), or empty when
// the server was made with NewUnstarted.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Handler serves the fake's REST API.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the server: held answers return, no further status callback starts, and
// Close waits for those in flight (each bounded by a 5s timeout). It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		if s.ts != nil {
			s.ts.Close()
		}
		s.inflight.Wait()
		s.callbackTransport.CloseIdleConnections()
	})
}

// Requests counts every request received, failed and refused ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Messages returns a copy of the accepted messages in arrival order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// WaitForMessages returns the accepted messages as soon as there are at least n. It
// fails when ctx ends or the server is closed first.
func (s *Server) WaitForMessages(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.messages) >= n {
			msgs := append([]Message(nil), s.messages...)
			s.mu.Unlock()
			return msgs, nil
		}
		got, arrived := len(s.messages), s.arrived
		s.mu.Unlock()

		select {
		case <-arrived:
		case <-ctx.Done():
			return nil, fmt.Errorf("twiliofake: %d of %d messages arrived: %w", got, n, ctx.Err())
		case <-s.done:
			return nil, fmt.Errorf("twiliofake: %d of %d messages arrived: %w", got, n, ErrClosed)
		}
	}
}

// Callbacks returns a copy of the status callbacks posted so far, in completion order.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Callback(nil), s.callbacks...)
}

// OptOut makes sends to number fail with 400, error 21610, as after the recipient
// replied STOP. The fake keeps one opt-out list for all senders.
func (s *Server) OptOut(number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.optedOut[number] = true
}

// OptIn undoes OptOut, as after the recipient replied START.
func (s *Server) OptIn(number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.optedOut, number)
}

// Undeliverable makes later messages to number end "undelivered" after "sent", with
// ErrorCode 30003 (unreachable destination handset).
func (s *Server) Undeliverable(number string) {
	s.setEnding(number, ending{statuses: []string{"sent", "undelivered"}, code: 30003})
}

// FailDelivery makes later messages to number end "failed" without being sent, with
// ErrorCode 30005 (unknown destination handset).
func (s *Server) FailDelivery(number string) {
	s.setEnding(number, ending{statuses: []string{"failed"}, code: 30005})
}

func (s *Server) setEnding(number string, e ending) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endings[number] = e
}

// DisableCallbacks stops status callbacks for messages accepted from now on, as with
// Twilio's test credentials. EnableCallbacks turns them back on.
func (s *Server) DisableCallbacks() { s.setCallbacksOff(true) }

// EnableCallbacks undoes DisableCallbacks.
func (s *Server) EnableCallbacks() { s.setCallbacksOff(false) }

func (s *Server) setCallbacksOff(off bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbacksOff = off
}

// CallbackOrder sets the MessageStatus sequence posted for every message accepted from
// now on, whatever its recipient, so tests can replay what Twilio may do: statuses out
// of order ("delivered", "sent") or redelivered ("sent", "sent", "delivered"). A
// "failed" or "undelivered" status carries the recipient's ErrorCode (see Undeliverable),
// else 30003 or 30005. An empty sequence posts nothing; nil restores the default
// ("sent", "delivered", or the recipient's ending).
func (s *Server) CallbackOrder(statuses []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.order = slices.Clone(statuses)
}

// SetCallbackDelay sets the pause before each status callback of a message, for a
// realistic pace (Twilio reports "sent" about a second after accepting). Default none:
// the first callback may then reach the receiver before the sender has read the 201,
// a race real Twilio allows too.
func (s *Server) SetCallbackDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbackDelay = d
}

// newSID returns a Twilio resource SID: a two-letter prefix and 32 hex digits.
func newSID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return prefix + hex.EncodeToString(b)
}

// equal compares secrets in constant time.
func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
