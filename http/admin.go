package http

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"ringback/actors/resource"
	"ringback/persistence"
	"ringback/tenant"
)

// adminAuth requires `Authorization: Bearer $ADMIN_TOKEN`, compared in constant time.
// Without a configured token the admin API is closed (503), never open.
func (s *Server) adminAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AdminToken == "" {
			writeProblem(w, Problem{Type: problemBase + "admin-disabled", Title: "Service Unavailable", Status: http.StatusServiceUnavailable, Detail: "the admin API is disabled until ADMIN_TOKEN is set"})
			return
		}
		if !bearerMatches(r, s.cfg.AdminToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="admin"`)
			writeProblem(w, Problem{Type: problemBase + "unauthorized", Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: "missing or wrong admin token"})
			return
		}
		if pathNamesNothing(r) {
			writeProblem(w, Problem{Type: problemBase + "not-found", Title: "Not Found", Status: http.StatusNotFound, Detail: "no such tenant, connection or number"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// pathNamesNothing reports whether a route's {tenant}, {connection} or {number} is one no
// config can have, so that it is answered 404 without asking Postgres (which refuses
// invalid UTF-8 and U+0000 with an error, not "no rows"). PUT of a tenant is left to
// its handler, which names the bad id as a field.
func pathNamesNothing(r *http.Request) bool {
	v := mux.Vars(r)
	if id, ok := v["tenant"]; ok && r.Method != http.MethodPut && !tenant.ValidID(id) {
		return true
	}
	if id, ok := v["connection"]; ok && !tenant.ValidItemID(id) {
		return true
	}
	if n, ok := v["number"]; ok && !storable(n) {
		return true
	}
	return false
}

// storable reports whether s can be stored in or compared with a Postgres text column:
// valid UTF-8 without U+0000.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// bearerToken returns the token of an `Authorization: Bearer` header, or "".
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	return strings.TrimSpace(h[7:])
}

func bearerMatches(r *http.Request, want string) bool {
	got := bearerToken(r)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// readBody reads a request body of at most the configured size.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &statusError{status: http.StatusRequestEntityTooLarge, slug: "too-large", detail: "request body too large"}
	}
	if err != nil {
		return nil, badRequest("could not read request body")
	}
	return body, nil
}

// putTenant applies a tenant config (JSON, or YAML with a YAML content type). The id in the
// path names the tenant; a body id, when given, must agree.
func (s *Server) putTenant(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["tenant"]
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "", "application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
	default:
		writeError(w, r, s.deps.Log, &statusError{status: http.StatusUnsupportedMediaType, slug: "unsupported-media-type", detail: "send application/json or application/yaml"})
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	cfg, err := tenant.Parse(body)
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	if cfg.ID == "" {
		cfg.ID = id
	}
	if cfg.ID != id {
		writeError(w, r, s.deps.Log, invalidField("id", "does not match the tenant in the URL"))
		return
	}
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	res, err := s.deps.Tenants.Apply(r.Context(), cfg)
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	if res.Changed && s.deps.Listener != nil {
		s.deps.Listener.TenantChanged(cfg.ID)
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	s.deps.Log.Info("tenant applied", "tenant", cfg.ID, "changed", res.Changed, "version", res.Version)
	writeJSON(w, status, res)
}

// getTenant answers the stored config with credentials redacted, as JSON, or YAML when
// the client accepts only YAML.
func (s *Server) getTenant(w http.ResponseWriter, r *http.Request) {
	cfg, _, err := s.deps.Tenants.Get(r.Context(), mux.Vars(r)["tenant"])
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	if accept := r.Header.Get("Accept"); strings.Contains(accept, "yaml") && !strings.Contains(accept, "json") {
		b, err := tenant.MarshalYAML(cfg)
		if err != nil {
			writeError(w, r, s.deps.Log, err)
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(b)
		return
	}
	writeJSON(w, http.StatusOK, cfg)
}

// Appointments lists a tenant's appointments with their sync state.
type Appointments interface {
	Appointments(ctx context.Context, tenantID string, from, to time.Time) ([]persistence.AppointmentView, error)
	// Appointment is one of the tenant's appointments (resource.ErrNotFound for another's).
	Appointment(ctx context.Context, tenantID string, id uuid.UUID) (resource.Appointment, error)
}

// listAppointments answers a tenant's appointments starting in [from, to) (default: the
// next 90 days) with the state of each vendor sync.
func (s *Server) listAppointments(w http.ResponseWriter, r *http.Request) {
	tenantID := mux.Vars(r)["tenant"]
	if _, _, err := s.deps.Tenants.Get(r.Context(), tenantID); err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	from, to := time.Now().Add(-24*time.Hour), time.Time{}
	var err error
	if v := r.URL.Query().Get("from"); v != "" {
		if from, err = parseTime("from", v); err != nil {
			writeError(w, r, s.deps.Log, err)
			return
		}
	}
	to = from.Add(90 * 24 * time.Hour)
	if v := r.URL.Query().Get("to"); v != "" {
		if to, err = parseTime("to", v); err != nil {
			writeError(w, r, s.deps.Log, err)
			return
		}
	}
	views, err := s.deps.Appointments.Appointments(r.Context(), tenantID, from, to)
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	type item struct {
		appointmentJSON
		Sync []persistence.SyncState `json:"sync"`
	}
	out := struct {
		Appointments []item `json:"appointments"`
	}{Appointments: make([]item, len(views))}
	for i, v := range views {
		out.Appointments[i] = item{appointmentJSON: appointmentOf(v.Appointment), Sync: v.Sync}
		if out.Appointments[i].Sync == nil {
			out.Appointments[i].Sync = []persistence.SyncState{}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// ConversationViews lists a tenant's conversations for the admin API.
type ConversationViews interface {
	ConversationsOf(ctx context.Context, tenantID, phone string, needsAttention bool, limit int) ([]persistence.ConversationView, error)
}

// listConversations answers a tenant's conversations (of one customer with ?phone=, only
// those waiting for a person with ?needs_attention=true), newest first, with their messages
// and delivery statuses.
func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	tenantID := mux.Vars(r)["tenant"]
	if _, _, err := s.deps.Tenants.Get(r.Context(), tenantID); err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	phone := r.URL.Query().Get("phone")
	if !storable(phone) {
		writeError(w, r, s.deps.Log, invalidField("phone", "must be valid UTF-8 without NUL"))
		return
	}
	var needsAttention bool
	switch v := r.URL.Query().Get("needs_attention"); v {
	case "", "false":
	case "true":
		needsAttention = true
	default:
		writeError(w, r, s.deps.Log, invalidField("needs_attention", "must be true or false"))
		return
	}
	views, err := s.deps.Conversations.ConversationsOf(r.Context(), tenantID, phone, needsAttention, 200)
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	if views == nil {
		views = []persistence.ConversationView{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": views})
}

// getEndpoint says which tenant owns a business number (operators and `engine simulate`).
func (s *Server) getEndpoint(w http.ResponseWriter, r *http.Request) {
	number := mux.Vars(r)["number"]
	tenantID, _, err := s.deps.Intake.EndpointOwner(r.Context(), number)
	if errors.Is(err, persistence.ErrUnknownNumber) {
		writeError(w, r, s.deps.Log, &statusError{status: http.StatusNotFound, slug: "not-found", detail: "no tenant owns this number"})
		return
	}
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"number": number, "tenant_id": tenantID})
}
