package http

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/jackc/pgx/v5/pgconn"

	"ringback/actors/resource"
	"ringback/actors/wirepb"
	"ringback/tenant"
)

// Problem is an RFC 9457 problem document. Type is a stable URI the clients may switch on.
type Problem struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail,omitempty"`
	Errors []tenant.FieldError `json:"errors,omitempty"` // the offending field paths, for validation errors
}

// problemBase prefixes every problem type.
const problemBase = "https://ringback.dev/problems/"

// statusError is an error that knows its HTTP answer; handlers return these for request
// problems they detect themselves.
type statusError struct {
	status int
	slug   string
	detail string
	fields []tenant.FieldError
}

func (e *statusError) Error() string { return e.detail }

func badRequest(detail string) error {
	return &statusError{status: http.StatusBadRequest, slug: "bad-request", detail: detail}
}

func invalidField(field, message string) error {
	return &statusError{status: http.StatusUnprocessableEntity, slug: "validation", detail: field + ": " + message,
		fields: []tenant.FieldError{{Field: field, Message: message}}}
}

// errorTable maps domain errors to answers: the one place that decides statuses.
var errorTable = []struct {
	err    error
	status int
	slug   string
}{
	{tenant.ErrNotFound, http.StatusNotFound, "not-found"},
	{resource.ErrNotFound, http.StatusNotFound, "not-found"},
	{resource.ErrResourceRetired, http.StatusNotFound, "not-found"},
	{resource.ErrConflict, http.StatusConflict, "slot-taken"},
	{resource.ErrAlreadyBooked, http.StatusConflict, "already-confirmed"},
	{resource.ErrCalendarStale, http.StatusConflict, "calendar-stale"},
	{resource.ErrGone, http.StatusGone, "reservation-gone"},
	{resource.ErrKeyReused, http.StatusUnprocessableEntity, "idempotency-key-reused"},
	{actor.ErrTimeout, http.StatusServiceUnavailable, "busy"},
}

// writeError answers err as a problem document. Unknown errors are 500s, logged, and never
// shown to the client.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var se *statusError
	var ve *tenant.ValidationError
	var re *resource.RuleError
	switch {
	case errors.As(err, &re):
		writeProblem(w, Problem{Type: problemBase + "validation", Title: "Unprocessable Entity", Status: http.StatusUnprocessableEntity, Detail: re.Error(),
			Errors: []tenant.FieldError{{Field: re.Field, Message: re.Message}}})
		return
	case errors.As(err, &se):
		writeProblem(w, Problem{Type: problemBase + se.slug, Title: http.StatusText(se.status), Status: se.status, Detail: se.detail, Errors: se.fields})
		return
	case errors.As(err, &ve):
		writeProblem(w, Problem{Type: problemBase + "validation", Title: "Invalid configuration", Status: http.StatusUnprocessableEntity, Detail: ve.Error(), Errors: ve.Errors})
		return
	}
	for _, row := range errorTable {
		if errors.Is(err, row.err) {
			writeProblem(w, Problem{Type: problemBase + row.slug, Title: http.StatusText(row.status), Status: row.status, Detail: err.Error()})
			return
		}
	}
	if unavailable(err) {
		log.Warn("request failed: storage unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
		writeProblem(w, Problem{Type: problemBase + "unavailable", Title: "Service Unavailable", Status: http.StatusServiceUnavailable,
			Detail: "storage is unavailable; retry shortly"})
		return
	}
	if r.Context().Err() != nil {
		log.Info("request cancelled", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeProblem(w, Problem{Type: problemBase + "internal", Title: "Internal Server Error", Status: http.StatusInternalServerError})
}

// unavailable reports whether err is Postgres being unreachable (refused, dropped, timed
// out) rather than a bug: the client should retry, so it gets 503, not 500.
func unavailable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, wirepb.ErrUnavailable) // the same, on the node that answered
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
