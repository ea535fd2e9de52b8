package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"ringback/actors/resource"
	"ringback/tenant"
)

// BookingAuth checks booking API keys.
type BookingAuth interface {
	BookingKeyMatches(ctx context.Context, tenantID, key string) (bool, error)
}

// Bookings is what the booking API needs of the fulfillment core.
type Bookings interface {
	Availability(ctx context.Context, tenantID, serviceID, resourceID string, from, to time.Time, limit int) ([]resource.Slot, []string, error)
	Hold(ctx context.Context, tenantID string, req resource.HoldRequest) (resource.Claim, bool, error)
	Confirm(ctx context.Context, tenantID string, holdID uuid.UUID) (resource.Appointment, error)
	Release(ctx context.Context, tenantID string, holdID uuid.UUID) error
	Cancel(ctx context.Context, tenantID string, id uuid.UUID) (resource.Appointment, error)
	Reschedule(ctx context.Context, tenantID string, id uuid.UUID, start time.Time, key string) (resource.Appointment, error)
}

// routeBooking registers the booking API (contract.md, "Booking API").
func (s *Server) routeBooking() {
	api := s.router.PathPrefix("/api/v1/tenants/{tenant}").Subrouter()
	api.Use(s.bookingAuth)
	api.HandleFunc("/availability", s.availability).Methods(http.MethodGet)
	api.HandleFunc("/reservations", s.createReservation).Methods(http.MethodPost)
	api.HandleFunc("/reservations/{id}/confirm", s.confirmReservation).Methods(http.MethodPost)
	api.HandleFunc("/reservations/{id}", s.releaseReservation).Methods(http.MethodDelete)
	api.HandleFunc("/appointments/{id}/cancel", s.cancelAppointment).Methods(http.MethodPost)
	api.HandleFunc("/appointments/{id}/reschedule", s.rescheduleAppointment).Methods(http.MethodPost)
}

// bookingAuth requires the tenant's booking_api_key as a bearer token. An unknown tenant
// and a wrong key answer the same 401, so keys cannot be used to probe for tenants.
func (s *Server) bookingAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := bearerToken(r)
		ok := false
		// An id no tenant can have is answered without asking Postgres, which refuses
		// some strings (invalid UTF-8, U+0000) with an error rather than no rows.
		if key != "" && tenant.ValidID(mux.Vars(r)["tenant"]) {
			var err error
			ok, err = s.deps.BookingAuth.BookingKeyMatches(r.Context(), mux.Vars(r)["tenant"], key)
			if err != nil {
				writeError(w, r, s.deps.Log, err)
				return
			}
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="booking"`)
			writeProblem(w, Problem{Type: problemBase + "unauthorized", Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: "missing or wrong booking API key for this tenant"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

type quoteJSON struct {
	Amount      string `json:"amount"`
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
}

func quoteOf(q resource.Quote) quoteJSON {
	return quoteJSON{Amount: fmt.Sprintf("%d.%02d", q.AmountMinor/100, q.AmountMinor%100), AmountMinor: q.AmountMinor, Currency: q.Currency}
}

type reservationJSON struct {
	ID         uuid.UUID `json:"id"`
	ResourceID string    `json:"resource_id"`
	Service    string    `json:"service"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Quote      quoteJSON `json:"quote"`
}

type customerJSON struct {
	Phone string `json:"phone"`
	Name  string `json:"name,omitempty"`
}

type appointmentJSON struct {
	ID            uuid.UUID    `json:"id"`
	ReservationID uuid.UUID    `json:"reservation_id"`
	ResourceID    string       `json:"resource_id"`
	Service       string       `json:"service"`
	StartsAt      time.Time    `json:"starts_at"`
	EndsAt        time.Time    `json:"ends_at"`
	Status        string       `json:"status"`
	Customer      customerJSON `json:"customer"`
	Quote         quoteJSON    `json:"quote"`
	Version       int64        `json:"version"`
	// ConfirmedAt: the customer confirmed in answer to a reminder; UnconfirmedAt: the
	// confirmation deadline passed unanswered. Absent when not.
	ConfirmedAt   *time.Time `json:"confirmed_at,omitempty"`
	UnconfirmedAt *time.Time `json:"unconfirmed_at,omitempty"`
}

func appointmentOf(a resource.Appointment) appointmentJSON {
	return appointmentJSON{
		ID: a.ID, ReservationID: a.ReservationID, ResourceID: a.ResourceID, Service: a.ServiceID,
		StartsAt: a.Start.UTC(), EndsAt: a.End.UTC(), Status: a.Status,
		Customer: customerJSON{Phone: a.Customer.Phone, Name: a.Customer.Name}, Quote: quoteOf(a.Quote), Version: a.Version,
		ConfirmedAt: timeOrNil(a.ConfirmedAt), UnconfirmedAt: timeOrNil(a.UnconfirmedAt),
	}
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// decodeJSON decodes a JSON object body strictly: a content type other than JSON (none
// is taken as JSON), unknown fields and trailing data are errors, reported with the field
// at fault.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &statusError{status: http.StatusUnsupportedMediaType, slug: "unsupported-media-type", detail: "send application/json"}
		}
	}
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return badRequest("body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return badRequest("invalid JSON body: want a JSON object")
			}
			return invalidField(te.Field, "has the wrong type: want "+jsonKind(te.Type))
		}
		return badRequest("invalid JSON body: " + err.Error())
	}
	if dec.More() {
		return badRequest("invalid JSON body: more than one value")
	}
	return nil
}

// jsonKind names the JSON type a Go type decodes from (not the Go type: it is the
// client's mistake to describe).
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	default:
		return "a number"
	}
}

func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, invalidField(field, "is required (RFC 3339)")
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, invalidField(field, "is not an RFC 3339 time such as 2026-12-01T09:00:00-06:00")
	}
	return t, nil
}

// pathID parses the {id} of a route; a malformed id names nothing, so it is a 404.
func pathID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		return uuid.Nil, &statusError{status: http.StatusNotFound, slug: "not-found", detail: "no such id"}
	}
	return id, nil
}

// idempotencyKey reads the Idempotency-Key header.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if len(k) > 255 {
		return "", invalidField("Idempotency-Key", "is longer than 255 characters")
	}
	for _, c := range k {
		if c < 0x21 || c > 0x7e {
			return "", invalidField("Idempotency-Key", "must be printable ASCII without spaces")
		}
	}
	return k, nil
}

func (s *Server) availability(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	err := func() error {
		service := q.Get("service")
		if service == "" {
			return invalidField("service", "is required")
		}
		from, err := parseTime("from", q.Get("from"))
		if err != nil {
			return err
		}
		to, err := parseTime("to", q.Get("to"))
		if err != nil {
			return err
		}
		if !to.After(from) {
			return invalidField("to", "must be after from")
		}
		if to.Sub(from) > 62*24*time.Hour {
			return invalidField("to", "the window may span at most 62 days")
		}
		limit := 0
		if v := q.Get("limit"); v != "" {
			if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 10000 {
				return invalidField("limit", "must be a number from 1 to 10000")
			}
		}
		slots, withheld, err := s.deps.Bookings.Availability(r.Context(), mux.Vars(r)["tenant"], service, q.Get("resource"), from, to, limit)
		if err != nil {
			return err
		}
		type slotJSON struct {
			ResourceID string    `json:"resource_id"`
			StartsAt   time.Time `json:"starts_at"`
			EndsAt     time.Time `json:"ends_at"`
		}
		out := struct {
			Slots    []slotJSON `json:"slots"`
			Withheld []string   `json:"withheld_resources,omitempty"`
		}{Slots: make([]slotJSON, len(slots)), Withheld: withheld}
		for i, sl := range slots {
			out.Slots[i] = slotJSON{ResourceID: sl.ResourceID, StartsAt: sl.Start.UTC(), EndsAt: sl.End.UTC()}
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}()
	if err != nil {
		writeError(w, r, s.deps.Log, err)
	}
}

func (s *Server) createReservation(w http.ResponseWriter, r *http.Request) {
	err := func() error {
		key, err := idempotencyKey(r)
		if err != nil {
			return err
		}
		var body struct {
			Service    string       `json:"service"`
			StartsAt   string       `json:"starts_at"`
			ResourceID string       `json:"resource_id"`
			Customer   customerJSON `json:"customer"`
		}
		if err := s.decodeJSON(w, r, &body); err != nil {
			return err
		}
		if body.Service == "" {
			return invalidField("service", "is required")
		}
		start, err := parseTime("starts_at", body.StartsAt)
		if err != nil {
			return err
		}
		if msg := tenant.PhoneProblem(body.Customer.Phone); msg != "" {
			return invalidField("customer.phone", msg)
		}
		if utf8.RuneCountInString(body.Customer.Name) > 200 {
			return invalidField("customer.name", "is longer than 200 characters")
		}
		if strings.ContainsFunc(body.Customer.Name, unicode.IsControl) {
			// Postgres text refuses U+0000; the name also ends up in SMS and vendor calendars.
			return invalidField("customer.name", "must not contain control characters")
		}
		hold, replayed, err := s.deps.Bookings.Hold(r.Context(), mux.Vars(r)["tenant"], resource.HoldRequest{
			ServiceID: body.Service, Start: start, ResourceID: body.ResourceID,
			Customer: resource.Customer{Phone: body.Customer.Phone, Name: body.Customer.Name}, Key: key,
		})
		if err != nil {
			return err
		}
		if replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeJSON(w, http.StatusCreated, reservationJSON{
			ID: hold.ID, ResourceID: hold.ResourceID, Service: hold.ServiceID,
			StartsAt: hold.Start.UTC(), EndsAt: hold.End.UTC(), ExpiresAt: hold.ExpiresAt.UTC(), Quote: quoteOf(hold.Quote),
		})
		return nil
	}()
	if err != nil {
		writeError(w, r, s.deps.Log, err)
	}
}

func (s *Server) confirmReservation(w http.ResponseWriter, r *http.Request) {
	s.appointmentCommand(w, r, http.StatusCreated, func(ctx context.Context, tenantID string, id uuid.UUID) (resource.Appointment, error) {
		return s.deps.Bookings.Confirm(ctx, tenantID, id)
	})
}

func (s *Server) cancelAppointment(w http.ResponseWriter, r *http.Request) {
	s.appointmentCommand(w, r, http.StatusOK, func(ctx context.Context, tenantID string, id uuid.UUID) (resource.Appointment, error) {
		return s.deps.Bookings.Cancel(ctx, tenantID, id)
	})
}

func (s *Server) rescheduleAppointment(w http.ResponseWriter, r *http.Request) {
	var body struct {
		StartsAt string `json:"starts_at"`
	}
	if err := s.decodeJSON(w, r, &body); err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	start, err := parseTime("starts_at", body.StartsAt)
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	key, err := idempotencyKey(r)
	if err != nil {
		writeError(w, r, s.deps.Log, err)
		return
	}
	s.appointmentCommand(w, r, http.StatusOK, func(ctx context.Context, tenantID string, id uuid.UUID) (resource.Appointment, error) {
		return s.deps.Bookings.Reschedule(ctx, tenantID, id, start, key)
	})
}

// appointmentCommand runs a command on the appointment or reservation {id} and answers
// {"appointment": …} with status.
func (s *Server) appointmentCommand(w http.ResponseWriter, r *http.Request, status int, run func(context.Context, string, uuid.UUID) (resource.Appointment, error)) {
	id, err := pathID(r)
	if err == nil {
		var appt resource.Appointment
		if appt, err = run(r.Context(), mux.Vars(r)["tenant"], id); err == nil {
			writeJSON(w, status, map[string]any{"appointment": appointmentOf(appt)})
			return
		}
	}
	writeError(w, r, s.deps.Log, err)
}

func (s *Server) releaseReservation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		if err = s.deps.Bookings.Release(r.Context(), mux.Vars(r)["tenant"], id); err == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeError(w, r, s.deps.Log, err)
}
