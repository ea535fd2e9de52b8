package http

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"ringback/analytics"
)

// EventExport reads the analytics event log (persistence.Analytics).
type EventExport interface {
	// Export returns up to limit events of the tenant with seq > since, in seq order.
	Export(ctx context.Context, tenantID string, since int64, limit int) ([]analytics.Event, error)
}

// The export's page sizes.
const (
	defaultExportLimit = 1000
	maxExportLimit     = 10000
)

func (s *Server) routeEvents() {
	admin := s.router.PathPrefix("/admin/v1").Subrouter()
	admin.Use(s.adminAuth)
	admin.HandleFunc("/tenants/{tenant}/events", s.exportEvents).Methods(http.MethodGet)
}

// exportEvents answers GET /admin/v1/tenants/{tenant}/events?since=&limit= with the
// tenant's events after seq `since`, as JSON lines in seq order (docs/EVENTS.md). The
// X-Next-Since header is the `since` of the next page: the last seq answered, or the
// given one when there was nothing new. A page shorter than limit means "caught up".
func (s *Server) exportEvents(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["tenant"]
	q := r.URL.Query()
	since, err := queryInt(q, "since", 0, 0, 1<<63-1, "must be an event seq: an integer, 0 or more")
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	limit, err := queryInt(q, "limit", defaultExportLimit, 1, maxExportLimit, "must be an integer from 1 to 10000")
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	if s.deps.Events == nil {
		writeProblem(w, Problem{Type: problemBase + "events-disabled", Title: "Service Unavailable", Status: http.StatusServiceUnavailable, Detail: "the event log is not configured"})
		return
	}
	if _, _, err := s.deps.Tenants.Get(r.Context(), id); err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	events, err := s.deps.Events.Export(r.Context(), id, since, int(limit))
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	next := since
	if len(events) > 0 {
		next = events[len(events)-1].Seq
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Next-Since", strconv.FormatInt(next, 10))
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	for _, e := range events {
		if e.Data == nil {
			e.Data = json.RawMessage(`{}`)
		}
		if err := enc.Encode(e); err != nil {
			s.deps.Log.Info("event export cut short", "tenant", id, "err", err)
			return
		}
	}
}

// queryInt reads an optional integer query parameter in [lo, hi]; absent or empty is def.
// Anything else is a validation error naming the parameter, with message.
func queryInt(q url.Values, name string, def, lo, hi int64, message string) (int64, error) {
	raw := q.Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, invalidField(name, message)
	}
	return n, nil
}
