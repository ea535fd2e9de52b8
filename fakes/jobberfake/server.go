// Package jobberfake is a fake Jobber GraphQL API for tests, the load harness and sandbox
// demos. It speaks Jobber's wire format (POST /api/graphql with JSON bodies, a Bearer
// token, the X-JOBBER-GRAPHQL-VERSION header, EncodedId ids, extensions.cost and
// extensions.versioning on every answer), runs a query-cost leaky bucket that answers
// THROTTLED when drained, refreshes tokens at /api/oauth/token with rotation (an
// oauthfake.Server), and lets tests inject the failures real Jobber produces: 429s,
// 5xx, slow and unreadable answers, answers lost after the change was made, userErrors.
//
// It has no GraphQL parser. An operation is recognised by its root field, the first
// field of its selection set ("clientCreate" in `mutation M($input: ClientCreateInput!)
// { clientCreate(input: $input) { … } }`): operation names are the client's to choose.
// Arguments must come as variables (literals in the query are not read), and the answer
// carries every field the fake knows for that root field, whatever the selection.
//
// Root fields served: account, clients(searchTerm), client(id), job(id), visit(id),
// clientCreate, propertyCreate, jobCreate (one visit from scheduling), visitEditSchedule
// and jobClose. Other root fields answer a GraphQL error.
package jobberfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"ringback/fakes/oauthfake"
)

// Visit statuses as the fake reports them. Jobber reports no status for a visit it
// deleted (the visit query answers null); StatusDeleted is for inspection only.
const (
	StatusUpcoming  = "upcoming"
	StatusCompleted = "completed"
	StatusDeleted   = "deleted"
)

// Client is a Jobber client the fake holds.
type Client struct {
	ID                               string
	FirstName, LastName, CompanyName string
	Phones                           []string // numbers as stored
	PropertyIDs                      []string
}

// Job is a Jobber job the fake holds.
type Job struct {
	ID, ClientID, PropertyID string
	Title, Instructions      string
	Closed                   bool
	VisitIDs                 []string
}

// Visit is a visit of a job, deleted ones included.
type Visit struct {
	ID, JobID  string
	Start, End time.Time
	Status     string // StatusUpcoming, StatusCompleted or StatusDeleted
}

// Server is a fake Jobber account reached through one OAuth app. All methods are safe
// for concurrent use.
type Server struct {
	handler   http.Handler
	ts        *httptest.Server // nil for NewUnstarted
	oauth     *oauthfake.Server
	appID     string
	accountID string
	done      chan struct{} // closed by Close: releases held answers
	closeOnce sync.Once
	now       func() time.Time

	mu          sync.Mutex
	requests    int
	calls       map[string]int
	seq         map[string]int // last number used per Jobber type
	clients     map[string]*Client
	clientOrder []string
	properties  map[string]string // property id → client id
	jobs        map[string]*Job
	visits      map[string]*Visit
	loc         *time.Location // the account's zone: jobCreate's local times are read in it
	bucket      bucket
	nextFaults  []targeted
	always      map[string]Fault
}

type targeted struct {
	op    string
	fault Fault
}

// New starts a fake Jobber on an httptest server on 127.0.0.1 for the OAuth app
// clientID/clientSecret. The API is at URL()+"/api/graphql" and the token endpoint at
// URL()+"/api/oauth/token"; make refresh tokens with OAuth().AddRefreshToken. Close it
// when done.
func New(clientID, clientSecret string) *Server {
	s := NewUnstarted(clientID, clientSecret)
	s.ts = httptest.NewServer(s.handler)
	return s
}

// NewUnstarted returns a fake Jobber that does not listen: mount Handler() on a
// listener of your own. URL() is then empty.
func NewUnstarted(clientID, clientSecret string) *Server {
	s := &Server{
		oauth:      oauthfake.New(clientID, clientSecret, true), // Jobber rotates refresh tokens
		appID:      uuid.NewString(),
		accountID:  encodeID("Account", 1),
		done:       make(chan struct{}),
		now:        time.Now,
		calls:      map[string]int{},
		seq:        map[string]int{},
		clients:    map[string]*Client{},
		properties: map[string]string{},
		jobs:       map[string]*Job{},
		visits:     map[string]*Visit{},
		loc:        time.UTC,
		always:     map[string]Fault{},
	}
	s.bucket = bucket{max: maxAvailable, rate: restoreRate, available: maxAvailable, at: s.now()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/graphql", s.graphql)
	mux.Handle("/api/oauth/token", s.oauth)
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
	return s
}

// URL is the base URL of the fake ("http://127.0.0.1:port"), or empty when the server
// was made with NewUnstarted.
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Handler serves the fake's API and token endpoint.
func (s *Server) Handler() http.Handler { return s.handler }

// OAuth is the fake's token endpoint: add, revoke and expire tokens through it.
func (s *Server) OAuth() *oauthfake.Server { return s.oauth }

// Close stops the server; held answers return first. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.ts != nil {
			s.ts.Close()
		}
	})
}

// AccountID is the EncodedId of the Jobber account the fake plays.
func (s *Server) AccountID() string { return s.accountID }

// AppID is the app id webhooks carry.
func (s *Server) AppID() string { return s.appID }

// SetTimeZone sets the account's time zone, in which jobCreate reads its local dates
// and times (Jobber uses the account's zone there). Default UTC.
func (s *Server) SetTimeZone(loc *time.Location) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loc = loc
}

// Requests counts every request received, the token endpoint's and refused ones included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Calls counts the GraphQL requests for a root field ("jobCreate"), failed ones included.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// AddClient creates a client with one phone number and one property, as if entered in
// Jobber, and returns their ids.
func (s *Server) AddClient(firstName, lastName, phone string) (clientID, propertyID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.newClient(firstName, lastName, "", []string{phone})
	return c.ID, s.newProperty(c)
}

// Clients returns copies of the clients in creation order.
func (s *Server) Clients() []Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Client, 0, len(s.clientOrder))
	for _, id := range s.clientOrder {
		c := *s.clients[id]
		c.Phones, c.PropertyIDs = slices.Clone(c.Phones), slices.Clone(c.PropertyIDs)
		out = append(out, c)
	}
	return out
}

// Jobs returns copies of the jobs in creation order.
func (s *Server) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Job, 0, len(s.jobs))
	for n := 1; n <= s.seq["Job"]; n++ {
		j := *s.jobs[encodeID("Job", n)]
		j.VisitIDs = slices.Clone(j.VisitIDs)
		out = append(out, j)
	}
	return out
}

// Visits returns copies of the visits in creation order, deleted ones included.
func (s *Server) Visits() []Visit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Visit, 0, len(s.visits))
	for n := 1; n <= s.seq["Visit"]; n++ {
		out = append(out, *s.visits[encodeID("Visit", n)])
	}
	return out
}

// MoveVisit reschedules a visit as a user would in Jobber (then send the VISIT_UPDATE
// webhook yourself).
func (s *Server) MoveVisit(id string, start, end time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.visits[id]
	if v == nil || v.Status == StatusDeleted {
		return fmt.Errorf("jobberfake: no visit %s", id)
	}
	v.Start, v.End = start, end
	return nil
}

// DeleteVisit deletes a visit as a user would in Jobber (then send VISIT_DESTROY).
func (s *Server) DeleteVisit(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.visits[id]
	if v == nil || v.Status == StatusDeleted {
		return fmt.Errorf("jobberfake: no visit %s", id)
	}
	v.Status = StatusDeleted
	return nil
}

// WebhookPayload builds the body Jobber posts for a webhook event about itemID. Sign it
// with SignWebhook and the app's client secret, and send it in the X-Jobber-Hmac-SHA256
// header.
func (s *Server) WebhookPayload(topic, itemID string, occurredAt time.Time) []byte {
	body, _ := json.Marshal(map[string]any{"data": map[string]any{"webHookEvent": map[string]string{
		"topic": topic, "appId": s.appID, "accountId": s.accountID, "itemId": itemID,
		"occurredAt": occurredAt.UTC().Format(time.RFC3339),
	}}}) // a map of strings always encodes
	return body
}

// SignWebhook returns the X-Jobber-Hmac-SHA256 header for body: the base64 HMAC-SHA256
// of the raw body, keyed with the app's client secret.
func SignWebhook(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// encodeID returns Jobber's EncodedId for object n of a type: base64 of a global id.
func encodeID(typ string, n int) string {
	return base64.StdEncoding.EncodeToString([]byte("gid://Jobber/" + typ + "/" + strconv.Itoa(n)))
}

// decodeID returns the type of an EncodedId, or "" if id is not one.
func decodeID(id string) string {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil {
		return ""
	}
	rest, ok := strings.CutPrefix(string(raw), "gid://Jobber/")
	typ, n, ok2 := strings.Cut(rest, "/")
	if _, err := strconv.Atoi(n); !ok || !ok2 || err != nil {
		return ""
	}
	return typ
}

// nextID returns a new EncodedId of a type. Callers hold mu.
func (s *Server) nextID(typ string) string {
	s.seq[typ]++
	return encodeID(typ, s.seq[typ])
}

func (s *Server) newClient(first, last, company string, phones []string) *Client {
	c := &Client{ID: s.nextID("Client"), FirstName: first, LastName: last, CompanyName: company, Phones: phones}
	s.clients[c.ID] = c
	s.clientOrder = append(s.clientOrder, c.ID)
	return c
}

func (s *Server) newProperty(c *Client) string {
	id := s.nextID("Property")
	s.properties[id] = c.ID
	c.PropertyIDs = append(c.PropertyIDs, id)
	return id
}
