package http

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"ringback/persistence"
	"ringback/tenant"
	"ringback/vendors/jobber"
)

// SyncAdmin is what the admin API needs of the sync side: connection health, and the
// two things a person does about it.
type SyncAdmin interface {
	ConnectionViews(ctx context.Context, tenantID string) ([]persistence.ConnectionView, error)
	// Resume gives a parked connection a fresh start (tenant.ErrNotFound if none).
	Resume(ctx context.Context, tenantID, connID string) error
	// ReadCalendars imports a connection's busy time now.
	ReadCalendars(ctx context.Context, tenantID, connID string) error
}

// VendorWebhooks takes verified vendor webhooks: stores them, then hands them on.
type VendorWebhooks interface {
	// Jobber reports duplicate for a redelivery; ignored for an account no tenant has.
	Jobber(ctx context.Context, ev jobber.Event, body []byte) (duplicate, ignored bool, err error)
}

func (s *Server) routeSync() {
	admin := s.router.PathPrefix("/admin/v1").Subrouter()
	admin.Use(s.adminAuth)
	admin.HandleFunc("/tenants/{tenant}/connections", s.listConnections).Methods(http.MethodGet)
	admin.HandleFunc("/tenants/{tenant}/connections/{connection}/resume", s.resumeConnection).Methods(http.MethodPost)
	admin.HandleFunc("/tenants/{tenant}/connections/{connection}/read-calendars", s.readCalendars).Methods(http.MethodPost)
	s.router.HandleFunc("/webhooks/jobber", s.jobberWebhook).Methods(http.MethodPost)
}

func (s *Server) listConnections(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["tenant"]
	if _, _, err := s.deps.Tenants.Get(r.Context(), id); err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	views, err := s.deps.Sync.ConnectionViews(r.Context(), id)
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	if views == nil {
		views = []persistence.ConnectionView{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": views})
}

func (s *Server) resumeConnection(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := s.deps.Sync.Resume(r.Context(), v["tenant"], v["connection"]); err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	s.listConnections(w, r)
}

func (s *Server) readCalendars(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	err := s.deps.Sync.ReadCalendars(r.Context(), v["tenant"], v["connection"])
	if errors.Is(err, tenant.ErrNotFound) {
		writeError(w, r, s.deps.Log, err)
		return
	}
	if err != nil {
		writeProblem(w, Problem{Type: problemBase + "calendar-read-failed", Title: "Bad Gateway", Status: http.StatusBadGateway, Detail: err.Error()})
		return
	}
	s.listConnections(w, r)
}

// jobberWebhook takes Jobber's webhooks: signed with the app's client secret, stored
// under (topic, item, time) before the 200, answered fast (Jobber wants a second at most).
func (s *Server) jobberWebhook(w http.ResponseWriter, r *http.Request) {
	const source = "jobber"
	kind := "event"
	fail := s.webhookFailer(w, source, &kind)
	body, ok := s.webhookBody(w, r, "application/json", fail)
	if !ok {
		return
	}
	if s.cfg.JobberClientSecret == "" || !jobber.VerifyWebhook(s.cfg.JobberClientSecret, body, r.Header.Get("X-Jobber-Hmac-SHA256")) {
		fail(http.StatusForbidden, "bad_signature", "missing or wrong X-Jobber-Hmac-SHA256")
		return
	}
	ev, err := jobber.ParseWebhook(body)
	if err == nil && (!utf8.Valid(body) || bytes.Contains(body, []byte(`\u0000`))) {
		// Postgres's jsonb refuses both; stored, it would fail every retry forever.
		err = errors.New("the body is not UTF-8 JSON without NUL")
	}
	if err != nil {
		fail(http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	kind = ev.Topic
	duplicate, ignored, err := s.deps.VendorWebhooks.Jobber(r.Context(), ev, body)
	if err != nil {
		s.deps.Log.Error("webhook: storing a Jobber event failed", "err", err)
		fail(http.StatusServiceUnavailable, "bad_request", "storage unavailable; retry")
		return
	}
	result := "accepted"
	switch {
	case ignored:
		result = "unknown_number" // no tenant has this account: nothing stored
	case duplicate:
		result = "duplicate"
	}
	s.webhookResult(source, kind, result)
	writeJSON(w, http.StatusOK, map[string]string{"status": result})
}
