package http

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"ringback/actors/resource"
	"ringback/persistence"
	"ringback/tenant"
)

// The console's appointments: a week per page, per day and resource, with status, quote
// and sync state; cancel and reschedule go through the booking API's own commands (the
// resource actors), and a parked vendor connection can be resumed from here.

const (
	appointmentDays  = 7
	rescheduleDays   = 14 // how far ahead the reschedule page looks for open times
	rescheduleSlots  = 12
	consoleDayLayout = "2006-01-02"
)

func (s *Server) routeConsoleAppointments(authed *mux.Router) {
	if s.deps.Appointments == nil || s.deps.Bookings == nil {
		return
	}
	authed.HandleFunc("/appointments", s.consoleAppointments).Methods(http.MethodGet)
	authed.HandleFunc("/appointments/{id}/reschedule", s.consoleReschedulePage).Methods(http.MethodGet)
	authed.HandleFunc("/appointments/{id}/{action:cancel|reschedule}", s.consoleAppointmentPost).Methods(http.MethodPost)
	if s.deps.Sync != nil {
		authed.HandleFunc("/connections/{connection}/resume", s.consoleResume).Methods(http.MethodPost)
	}
}

type syncView struct{ Provider, Class, Label, Error string }

type appointmentView struct {
	ID, Time, ISO, Resource, Service, Customer, Quote, Status string
	Sync                                                      []syncView
	Changeable                                                bool // booked and not yet begun
	// Confirmation is the customer's answer to the reminders: "confirmed" (with when),
	// "unconfirmed" (the deadline passed unanswered), or "" (not asked yet).
	Confirmation, ConfirmedWhen string
}

type dayView struct {
	Label, Summary string
	Today          bool
	Appointments   []appointmentView
}

type connectionView struct{ ID, Provider, State, Reason string }

// names are a tenant's resource and service names by id.
type names struct{ resources, services map[string]string }

func namesOf(cfg *tenant.Config) names {
	n := names{resources: map[string]string{}, services: map[string]string{}}
	if cfg == nil {
		return n
	}
	for _, r := range cfg.Resources {
		n.resources[r.ID] = r.Name
	}
	for _, sv := range cfg.Services {
		n.services[sv.ID] = sv.Name
	}
	return n
}

func orID(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// weekOf reads ?from=YYYY-MM-DD in loc, today when absent.
func weekOf(r *http.Request, loc *time.Location, now time.Time) (time.Time, bool) {
	if v := r.URL.Query().Get("from"); v != "" {
		d, err := time.ParseInLocation(consoleDayLayout, v, loc)
		return d, err == nil
	}
	l := now.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc), true
}

func (s *Server) consoleAppointments(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	cfg, _, _ := s.deps.Tenants.Get(r.Context(), u.TenantID)
	loc := s.zoneOf(r.Context(), u.TenantID)
	now := s.cfg.Now()
	from, ok := weekOf(r, loc, now)
	if !ok {
		s.consoleError(w, http.StatusBadRequest, "That date is not a day (YYYY-MM-DD).")
		return
	}
	to := from.AddDate(0, 0, appointmentDays)
	list, err := s.deps.Appointments.Appointments(r.Context(), u.TenantID, from, to)
	if err != nil {
		s.consoleError(w, http.StatusServiceUnavailable, "The appointments are unavailable right now. Try again shortly.")
		return
	}
	n := namesOf(cfg)
	parked := s.parkedConnections(r, u.TenantID)
	paused := map[string]bool{}
	for _, c := range parked {
		paused[c.ID] = true
	}
	days := make([]dayView, appointmentDays)
	today, _ := weekOf(&http.Request{URL: &url.URL{}}, loc, now)
	for i := range days {
		d := from.AddDate(0, 0, i)
		days[i].Label, days[i].Today = d.Format("Monday, January 2"), d.Equal(today)
	}
	booked := make([]int, appointmentDays)
	totals := make([]int64, appointmentDays)
	currency := ""
	for _, a := range list {
		start := a.Start.In(loc)
		i := int(time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, loc).Sub(from).Hours()+12) / 24
		if i < 0 || i >= appointmentDays {
			continue
		}
		v := appointmentView{ID: a.ID.String(), Time: start.Format("3:04 PM") + "–" + a.End.In(loc).Format("3:04 PM"),
			ISO: a.Start.UTC().Format(time.RFC3339), Resource: orID(n.resources[a.ResourceID], a.ResourceID),
			Service: orID(n.services[a.ServiceID], a.ServiceID), Customer: orID(a.Customer.Name, a.Customer.Phone),
			Quote: tenant.FormatMoney(a.Quote.AmountMinor, a.Quote.Currency), Status: a.Status,
			Changeable: a.Status == "booked" && a.Start.After(now)}
		if a.Customer.Name != "" {
			v.Customer += " · " + a.Customer.Phone
		}
		switch {
		case a.Status != "booked":
		case !a.ConfirmedAt.IsZero():
			v.Confirmation, v.ConfirmedWhen = "confirmed", a.ConfirmedAt.In(loc).Format("Mon Jan 2, 3:04 PM")
		case !a.UnconfirmedAt.IsZero():
			v.Confirmation = "unconfirmed"
		}
		for _, st := range a.Sync {
			v.Sync = append(v.Sync, syncViewOf(st, paused[st.ConnectionID]))
		}
		days[i].Appointments = append(days[i].Appointments, v)
		if a.Status == "booked" {
			booked[i]++
			totals[i] += a.Quote.AmountMinor
			currency = a.Quote.Currency
		}
	}
	for i := range days {
		switch booked[i] {
		case 0:
		case 1:
			days[i].Summary = "1 visit · " + tenant.FormatMoney(totals[i], currency)
		default:
			days[i].Summary = strconv.Itoa(booked[i]) + " visits · " + tenant.FormatMoney(totals[i], currency)
		}
	}
	data := s.chrome(r.Context(), u, "Appointments", "appointments")
	data["Days"] = days
	data["Range"] = from.Format("Mon Jan 2") + " – " + to.AddDate(0, 0, -1).Format("Mon Jan 2")
	data["Prev"] = from.AddDate(0, 0, -appointmentDays).Format(consoleDayLayout)
	data["Next"] = to.Format(consoleDayLayout)
	data["Parked"] = parked
	if f := r.URL.Query().Get("done"); f != "" {
		data["Flash"] = map[string]string{"cancel": "Cancelled. The calendars follow.", "reschedule": "Moved. The calendars follow.",
			"resume": "Resumed: the connection's waiting changes go out now."}[f]
	}
	s.page(w, http.StatusOK, "appointments", data)
}

// syncViewOf says where an appointment's change stands at one vendor; paused when its
// connection is parked (the banner says why).
func syncViewOf(st persistence.SyncState, paused bool) syncView {
	if st.State == "running" { // claimed by a worker: still on its way, as far as a person cares
		st.State = "pending"
	}
	v := syncView{Provider: providerName(st.Provider), Class: st.State, Label: st.State}
	switch {
	case st.State == "done":
		v.Label = "in sync"
	case st.State == "pending" && paused:
		v.Class, v.Label = "waiting", "waiting"
	case st.State == "pending" && st.Attempts > 0:
		v.Class, v.Label, v.Error = "retrying", "retrying", shortReason(st.LastError)
	case st.State == "pending":
		v.Label = "sending"
	case st.State == "failed":
		v.Error = shortReason(st.LastError)
	}
	return v
}

// providerName is how a business owner knows the vendor.
func providerName(p string) string {
	switch p {
	case "google":
		return "Google Calendar"
	case "jobber":
		return "Jobber"
	}
	return p
}

// shortReason cuts a vendor error to what fits a line.
func shortReason(s string) string {
	if r := []rune(s); len(r) > 140 {
		return string(r[:140]) + "…"
	}
	return s
}

// parkedConnections are the tenant's vendor connections that are not running, with why.
func (s *Server) parkedConnections(r *http.Request, tenantID string) []connectionView {
	if s.deps.Sync == nil {
		return nil
	}
	views, err := s.deps.Sync.ConnectionViews(r.Context(), tenantID)
	if err != nil {
		return nil
	}
	var out []connectionView
	for _, c := range views {
		if c.State != "active" {
			v := connectionView{ID: c.ID, Provider: providerName(c.Provider), State: c.State, Reason: shortReason(c.Reason)}
			if c.State == "reconnect_needed" {
				v.Reason = v.Provider + " refused the saved sign-in: reconnect the account, then resume."
			}
			out = append(out, v)
		}
	}
	return out
}

// appointment loads the signed-in user's appointment {id}; another tenant's is 404.
func (s *Server) appointment(w http.ResponseWriter, r *http.Request, u consoleUser) (persistence.AppointmentView, bool) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err == nil {
		var a resource.Appointment
		if a, err = s.deps.Appointments.Appointment(r.Context(), u.TenantID, id); err == nil {
			return persistence.AppointmentView{Appointment: a}, true
		}
		if !errors.Is(err, resource.ErrNotFound) {
			s.consoleError(w, http.StatusServiceUnavailable, "This appointment is unavailable right now. Try again shortly.")
			return persistence.AppointmentView{}, false
		}
	}
	s.consoleError(w, http.StatusNotFound, "There is no such appointment.")
	return persistence.AppointmentView{}, false
}

type slotView struct{ Value, Label string }

func (s *Server) consoleReschedulePage(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	a, ok := s.appointment(w, r, u)
	if !ok {
		return
	}
	cfg, _, _ := s.deps.Tenants.Get(r.Context(), u.TenantID)
	loc := s.zoneOf(r.Context(), u.TenantID)
	now := s.cfg.Now()
	slots, withheld, err := s.deps.Bookings.Availability(r.Context(), u.TenantID, a.ServiceID, a.ResourceID, now, now.AddDate(0, 0, rescheduleDays), rescheduleSlots)
	if err != nil && !errors.Is(err, resource.ErrCalendarStale) {
		s.consoleError(w, http.StatusServiceUnavailable, "Open times are unavailable right now. Try again shortly.")
		return
	}
	n := namesOf(cfg)
	views := make([]slotView, 0, len(slots))
	for _, sl := range slots {
		if !sl.Start.Equal(a.Start) {
			views = append(views, slotView{Value: sl.Start.UTC().Format(time.RFC3339), Label: sl.Start.In(loc).Format("Mon Jan 2, 3:04 PM")})
		}
	}
	data := s.chrome(r.Context(), u, "Reschedule", "appointments")
	data["A"] = appointmentView{ID: a.ID.String(), Time: a.Start.In(loc).Format("Mon Jan 2, 3:04 PM"), Resource: orID(n.resources[a.ResourceID], a.ResourceID),
		Service: orID(n.services[a.ServiceID], a.ServiceID), Customer: orID(a.Customer.Name, a.Customer.Phone), Status: a.Status,
		Changeable: a.Status == "booked" && a.Start.After(now)}
	data["Slots"], data["Key"] = views, uuid.NewString()
	data["Withheld"] = len(withheld) > 0 || errors.Is(err, resource.ErrCalendarStale)
	s.page(w, http.StatusOK, "reschedule", data)
}

func (s *Server) consoleAppointmentPost(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	a, ok := s.appointment(w, r, u)
	if !ok {
		return
	}
	action := mux.Vars(r)["action"]
	var err error
	changed := a.Appointment
	switch action {
	case "cancel":
		changed, err = s.deps.Bookings.Cancel(r.Context(), u.TenantID, a.ID)
	case "reschedule":
		start, perr := time.Parse(time.RFC3339, r.PostForm.Get("starts_at"))
		if perr != nil {
			s.consoleError(w, http.StatusUnprocessableEntity, "Choose one of the open times.")
			return
		}
		key := r.PostForm.Get("key")
		if _, kerr := uuid.Parse(key); kerr != nil {
			s.consoleError(w, http.StatusUnprocessableEntity, "That form is out of date; open the reschedule page again.")
			return
		}
		changed, err = s.deps.Bookings.Reschedule(r.Context(), u.TenantID, a.ID, start, "console:"+key)
	}
	switch {
	case errors.Is(err, resource.ErrConflict):
		s.consoleError(w, http.StatusConflict, "That time was just taken. Nothing changed; choose another.")
		return
	case errors.Is(err, resource.ErrNotFound), errors.Is(err, resource.ErrGone):
		s.consoleError(w, http.StatusConflict, "This appointment can no longer be changed. Nothing changed.")
		return
	case errors.Is(err, resource.ErrCalendarStale):
		s.consoleError(w, http.StatusConflict, "The technician's calendar could not be read recently, so no time is offered. Nothing changed.")
		return
	case err != nil:
		s.deps.Log.Error("console: appointment command failed", "action", action, "err", err)
		s.consoleError(w, http.StatusServiceUnavailable, "That did not go through. Nothing changed; try again.")
		return
	}
	// The customer's conversation follows the change (so their next text is about the
	// visit as it is now), and hears of it unless the form said not to text them.
	key := "cancel:" + a.ID.String()
	if action == "reschedule" {
		key = "reschedule:" + r.PostForm.Get("key")
	}
	if err := s.deps.ConsoleConversations.VisitChanged(r.Context(), changed, action == "cancel", r.PostForm.Get("notify") == "on", key); err != nil {
		s.deps.Log.Warn("console: the customer's conversation did not hear of the change", "action", action, "appointment", a.ID, "err", err)
	}
	if s.deps.Live != nil {
		s.deps.Live.Publish(u.TenantID)
	}
	http.Redirect(w, r, "/console/appointments?"+url.Values{"from": {a.Start.In(s.zoneOf(r.Context(), u.TenantID)).Format(consoleDayLayout)}, "done": {action}}.Encode(), http.StatusSeeOther)
}

func (s *Server) consoleResume(w http.ResponseWriter, r *http.Request) {
	u := userOf(r)
	err := s.deps.Sync.Resume(r.Context(), u.TenantID, mux.Vars(r)["connection"])
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		s.consoleError(w, http.StatusNotFound, "There is no such connection.")
		return
	case err != nil:
		s.deps.Log.Error("console: resume failed", "err", err)
		s.consoleError(w, http.StatusServiceUnavailable, "That did not go through. Try again.")
		return
	}
	back := "/console/appointments?done=resume"
	if ref := r.PostForm.Get("from"); ref != "" && !strings.ContainsAny(ref, "/?#\\") {
		back += "&from=" + url.QueryEscape(ref)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
