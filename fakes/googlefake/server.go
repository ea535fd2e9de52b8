// Package googlefake is a fake Google Calendar API v3 for tests, the load harness and
// sandbox demos. It speaks Calendar's wire format (JSON resources, Google's error
// envelope, bearer tokens checked against an oauthfake token endpoint it also serves), so
// the unchanged google.golang.org/api/calendar/v3 client works against it, and it lets
// tests inject the failures real Google produces: rate limits, server errors, slow and
// unreadable answers, expired sync tokens.
//
// It serves events insert, get, update, patch, delete and list, and freeBusy.query, at
// Endpoint(); the token endpoint is at TokenURL(). Any calendar id names a calendar, empty
// until written to, unless RemoveCalendar made it unknown. Like Google, it keeps deleted
// events (status "cancelled") and their ids: inserting one again is a 409 duplicate.
package googlefake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"time"

	"google.golang.org/api/calendar/v3"

	"ringback/fakes/oauthfake"

	inject "ringback/fakes/internal/fault"
)

// ErrClosed is returned by WaitForCalls once the server is closed.
var ErrClosed = errors.New("googlefake: server closed")

// Method names a Calendar API method, as Google names it.
type Method string

// The methods the fake serves.
const (
	Insert   Method = "calendar.events.insert"
	Get      Method = "calendar.events.get"
	Update   Method = "calendar.events.update"
	Patch    Method = "calendar.events.patch"
	Delete   Method = "calendar.events.delete"
	List     Method = "calendar.events.list"
	FreeBusy Method = "calendar.freebusy.query"
)

// Call is one API request the fake received, failed and refused ones included.
type Call struct {
	Method     Method
	CalendarID string // "" for FreeBusy
	EventID    string // "" for Insert, List and FreeBusy
	Query      url.Values
}

// Server is a fake Google Calendar. All methods are safe for concurrent use.
type Server struct {
	auth      *oauthfake.Server
	handler   http.Handler
	ts        *httptest.Server // nil for NewUnstarted
	done      chan struct{}    // closed by Close: ends held answers
	closeOnce sync.Once

	mu         sync.Mutex
	calendars  map[string]*calendarState
	removed    map[string]bool
	seq        int64                // bumped by every change; etags and sync tokens
	syncTokens map[string]syncPoint // token → where it was issued
	calls      []Call
	arrived    chan struct{} // closed and replaced whenever a call arrives
	faults     inject.Queue[Fault]
}

type calendarState struct {
	events map[string]*stored
	order  []string // event ids, insertion order
	busy   []span   // added with AddBusy
}

type stored struct {
	ev  *calendar.Event
	seq int64 // the change that last touched it
}

type syncPoint struct {
	calendarID string
	seq        int64
}

type span struct{ start, end time.Time }

// New starts a fake Google Calendar on an httptest server on 127.0.0.1 that accepts the
// bearer tokens auth issued, and serves auth itself at TokenURL(). With a nil auth every
// request is accepted and no token endpoint is served. Close it when done.
func New(auth *oauthfake.Server) *Server {
	s := NewUnstarted(auth)
	s.ts = httptest.NewServer(s.handler)
	return s
}

// NewUnstarted returns a fake that does not listen: mount Handler() on a listener of your
// own (a standalone demo or load harness), at the root of its URL space: the API is
// then at <base>/calendar/v3/ and the token endpoint at <base>/token. URL(), Endpoint()
// and TokenURL() are empty.
func NewUnstarted(auth *oauthfake.Server) *Server {
	s := &Server{
		auth:       auth,
		done:       make(chan struct{}),
		calendars:  map[string]*calendarState{},
		removed:    map[string]bool{},
		syncTokens: map[string]syncPoint{},
		arrived:    make(chan struct{}),
	}
	const events = "/calendar/v3/calendars/{calendarId}/events"
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+events, s.route(Insert, s.insertEvent))
	mux.HandleFunc("GET "+events, s.route(List, s.listEvents))
	mux.HandleFunc("GET "+events+"/{eventId}", s.route(Get, s.getEvent))
	mux.HandleFunc("PUT "+events+"/{eventId}", s.route(Update, s.updateEvent))
	mux.HandleFunc("PATCH "+events+"/{eventId}", s.route(Patch, s.patchEvent))
	mux.HandleFunc("DELETE "+events+"/{eventId}", s.route(Delete, s.deleteEvent))
	mux.HandleFunc("POST /calendar/v3/freeBusy", s.route(FreeBusy, s.queryFreeBusy))
	if auth != nil {
		mux.Handle("/token", auth)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		status, body := apiError(http.StatusNotFound, "notFound", "Not Found")
		write(w, status, body, false)
	})
	s.handler = mux
	return s
}

// URL is the fake's base URL ("http://127.0.0.1:port"), or empty for NewUnstarted.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Endpoint is the Calendar API root to configure the client with, trailing slash
// included (without it the client drops the last path segment), or empty for
// NewUnstarted.
func (s *Server) Endpoint() string { return s.under("/calendar/v3/") }

// TokenURL is the OAuth token endpoint, or empty for NewUnstarted.
func (s *Server) TokenURL() string { return s.under("/token") }

func (s *Server) under(path string) string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL + path
}

// Handler serves the fake's API and token endpoint.
func (s *Server) Handler() http.Handler { return s.handler }

// Close releases held answers and stops the server. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.ts != nil {
			s.ts.Close()
		}
	})
}

// Calls returns a copy of the API requests received, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Requests counts the API requests received (token requests not included).
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// CallCount counts the requests received for m, failed and refused ones included.
func (s *Server) CallCount(m Method) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Method == m {
			n++
		}
	}
	return n
}

// InsertCalls counts the insert requests received, failed and refused ones included.
func (s *Server) InsertCalls() int { return s.CallCount(Insert) }

// WaitForCalls returns the requests received as soon as there are at least n. It fails
// when ctx ends or the server is closed first.
func (s *Server) WaitForCalls(ctx context.Context, n int) ([]Call, error) {
	for {
		s.mu.Lock()
		if len(s.calls) >= n {
			calls := append([]Call(nil), s.calls...)
			s.mu.Unlock()
			return calls, nil
		}
		got, arrived := len(s.calls), s.arrived
		s.mu.Unlock()

		select {
		case <-arrived:
		case <-ctx.Done():
			return nil, fmt.Errorf("googlefake: %d of %d calls arrived: %w", got, n, ctx.Err())
		case <-s.done:
			return nil, fmt.Errorf("googlefake: %d of %d calls arrived: %w", got, n, ErrClosed)
		}
	}
}

// Events returns copies of the events of a calendar in insertion order, cancelled ones
// included.
func (s *Server) Events(calendarID string) []*calendar.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendars[calendarID]
	if c == nil {
		return nil
	}
	out := make([]*calendar.Event, 0, len(c.order))
	for _, id := range c.order {
		out = append(out, clone(c.events[id].ev))
	}
	return out
}

// Event returns a copy of one event, cancelled or not.
func (s *Server) Event(calendarID, eventID string) (*calendar.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.calendars[calendarID]; c != nil && c.events[eventID] != nil {
		return clone(c.events[eventID].ev), true
	}
	return nil, false
}

// EventCount counts the events of a calendar, cancelled ones included: the number of
// event ids in use.
func (s *Server) EventCount(calendarID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.calendars[calendarID]; c != nil {
		return len(c.events)
	}
	return 0
}

// AddBusy adds busy time to a calendar that freeBusy.query reports and no event shows,
// as from another calendar system or a private event.
func (s *Server) AddBusy(calendarID string, start, end time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calendarLocked(calendarID)
	c.busy = append(c.busy, span{start, end})
}

// RemoveCalendar makes calendarID unknown, as after its owner deleted or unshared it:
// event requests answer 404 notFound and freeBusy.query reports a notFound error for it.
func (s *Server) RemoveCalendar(calendarID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removed[calendarID] = true
	delete(s.calendars, calendarID)
}

// ExpireSyncTokens invalidates every sync token issued so far: listing with one answers
// 410 fullSyncRequired, as when Google expires them.
func (s *Server) ExpireSyncTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.syncTokens)
}

// route wraps a method's handler with what every API request goes through: the call log,
// injected faults, then the bearer token check.
func (s *Server) route(m Method, h func(*http.Request) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f := s.arrive(m, r)
		if f.Status != 0 {
			inject.Hold(r.Context(), s.done, f.Delay)
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Round(time.Second)/time.Second)))
			}
			status, body := apiError(f.Status, f.Reason, f.Message)
			write(w, status, body, false)
			return
		}
		if s.auth != nil && !s.auth.Authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
			write(w, http.StatusUnauthorized, envelope{Error: errorBody{
				Code:    http.StatusUnauthorized,
				Message: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
				Errors: []errorItem{{Domain: "global", Reason: "authError", Message: "Invalid Credentials",
					LocationType: "header", Location: "Authorization"}},
			}}, false)
			return
		}
		status, body := h(r)
		inject.Hold(r.Context(), s.done, f.Delay)
		write(w, status, body, f.Malformed)
	}
}

// arrive logs the call, wakes WaitForCalls and returns the call's fault.
func (s *Server) arrive(m Method, r *http.Request) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{
		Method: m, CalendarID: r.PathValue("calendarId"), EventID: r.PathValue("eventId"), Query: r.URL.Query(),
	})
	close(s.arrived)
	s.arrived = make(chan struct{})
	return s.faults.Take()
}

// envelope is Google's JSON error answer.
type envelope struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Errors  []errorItem `json:"errors"`
	Code    int         `json:"code"`
	Message string      `json:"message"`
}

type errorItem struct {
	Domain       string `json:"domain"`
	Reason       string `json:"reason"`
	Message      string `json:"message"`
	LocationType string `json:"locationType,omitempty"`
	Location     string `json:"location,omitempty"`
}

// apiError returns the status and envelope of a failed request.
func apiError(status int, reason, msg string) (int, any) {
	domain := "global"
	switch reason {
	case "rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded":
		domain = "usageLimits"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	if reason == "" {
		reason = "backendError"
	}
	return status, envelope{Error: errorBody{
		Code: status, Message: msg, Errors: []errorItem{{Domain: domain, Reason: reason, Message: msg}},
	}}
}

// write sends body as JSON, or nothing when body is nil; malformed truncates the JSON of a
// successful answer.
func write(w http.ResponseWriter, status int, body any, malformed bool) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "googlefake: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if malformed && status < 300 {
		b = b[:len(b)/2]
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
