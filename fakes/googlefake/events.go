package googlefake

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/api/calendar/v3"
)

const (
	cancelled = "cancelled"
	// stampLayout is how Google writes created and updated: UTC with milliseconds.
	stampLayout = "2006-01-02T15:04:05.000Z"
)

// eventIDChars is the alphabet of event ids (base32hex, lowercase). Go's RE2 refuses
// {5,1024}, so the length is checked apart.
var eventIDChars = regexp.MustCompile(`^[a-v0-9]+$`)

func validID(id string) bool {
	return len(id) >= 5 && len(id) <= 1024 && eventIDChars.MatchString(id)
}

// insertEvent serves POST …/calendars/{calendarId}/events.
func (s *Server) insertEvent(r *http.Request) (int, any) {
	var ev calendar.Event
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		return apiError(http.StatusBadRequest, "parseError", "Parse Error")
	}
	if ev.Id != "" && !validID(ev.Id) {
		return apiError(http.StatusBadRequest, "invalid", "Invalid resource id value.")
	}
	if status, body := checkTimes(&ev); status != 0 {
		return status, body
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	calID := r.PathValue("calendarId")
	if s.removed[calID] {
		return notFound()
	}
	c := s.calendarLocked(calID)
	if ev.Id == "" {
		ev.Id = newID()
	}
	// Google keeps the ids of deleted events too: they cannot be inserted again.
	if c.events[ev.Id] != nil {
		return apiError(http.StatusConflict, "duplicate", "The requested identifier already exists.")
	}
	ev.Kind = "calendar#event"
	ev.Created = time.Now().UTC().Format(stampLayout)
	ev.ICalUID = ev.Id + "@google.com"
	ev.Sequence = 0
	if ev.Status == "" {
		ev.Status = "confirmed"
	}
	c.order = append(c.order, ev.Id)
	return http.StatusOK, s.putLocked(c, &ev)
}

// getEvent serves GET …/events/{eventId}. Deleted events are still there, cancelled.
func (s *Server) getEvent(r *http.Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, st := s.eventLocked(r)
	if st == nil {
		return notFound()
	}
	return http.StatusOK, clone(st.ev)
}

// updateEvent serves PUT …/events/{eventId}: the body replaces the event. Updating a
// cancelled event with status "confirmed" (the default) restores it.
func (s *Server) updateEvent(r *http.Request) (int, any) {
	var ev calendar.Event
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		return apiError(http.StatusBadRequest, "parseError", "Parse Error")
	}
	if ev.Status == "" {
		ev.Status = "confirmed"
	}
	return s.replace(r, func(*calendar.Event) (*calendar.Event, error) { return &ev, nil })
}

// patchEvent serves PATCH …/events/{eventId}: the fields in the body replace the event's.
func (s *Server) patchEvent(r *http.Request) (int, any) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return apiError(http.StatusBadRequest, "parseError", "Parse Error")
	}
	return s.replace(r, func(old *calendar.Event) (*calendar.Event, error) {
		ev := clone(old)
		return ev, json.Unmarshal(raw, ev)
	})
}

// replace stores the event edit makes of the stored one, keeping what clients cannot set.
func (s *Server) replace(r *http.Request, edit func(old *calendar.Event) (*calendar.Event, error)) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, st := s.eventLocked(r)
	if st == nil {
		return notFound()
	}
	ev, err := edit(st.ev)
	if err != nil {
		return apiError(http.StatusBadRequest, "parseError", "Parse Error")
	}
	if status, body := checkTimes(ev); status != 0 {
		return status, body
	}
	old := st.ev
	ev.Id, ev.Kind, ev.Created, ev.ICalUID, ev.Sequence = old.Id, old.Kind, old.Created, old.ICalUID, old.Sequence+1
	return http.StatusOK, s.putLocked(c, ev)
}

// deleteEvent serves DELETE …/events/{eventId}: the event stays, cancelled; deleting it
// again is 410 Gone.
func (s *Server) deleteEvent(r *http.Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, st := s.eventLocked(r)
	switch {
	case st == nil:
		return notFound()
	case st.ev.Status == cancelled:
		return apiError(http.StatusGone, "deleted", "Resource has been deleted")
	}
	ev := clone(st.ev)
	ev.Status = cancelled
	s.putLocked(c, ev)
	return http.StatusNoContent, nil
}

// syncTokenExclusive are the list parameters Google refuses next to a syncToken.
var syncTokenExclusive = []string{"iCalUID", "orderBy", "privateExtendedProperty", "q",
	"sharedExtendedProperty", "timeMin", "timeMax", "updatedMin"}

// listEvents serves GET …/calendars/{calendarId}/events in a single page. A full list
// honours showDeleted, timeMin and timeMax; a list with syncToken returns every event
// changed since the token was issued, deleted ones included. Both end with a
// nextSyncToken.
func (s *Server) listEvents(r *http.Request) (int, any) {
	q := r.URL.Query()
	token := q.Get("syncToken")
	if token != "" && slices.ContainsFunc(syncTokenExclusive, q.Has) {
		return apiError(http.StatusBadRequest, "invalid", "Sync token cannot be combined with other filters.")
	}
	var window span
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"timeMin", &window.start}, {"timeMax", &window.end}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return apiError(http.StatusBadRequest, "badRequest", "Bad Request")
			}
			*p.t = t
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	calID := r.PathValue("calendarId")
	if s.removed[calID] {
		return notFound()
	}
	c := s.calendarLocked(calID)
	since := int64(-1)
	if token != "" {
		p, ok := s.syncTokens[token]
		if !ok || p.calendarID != calID {
			return apiError(http.StatusGone, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
		}
		since = p.seq
	}
	var items []*calendar.Event
	for _, id := range c.order {
		st := c.events[id]
		if token != "" {
			if st.seq <= since {
				continue
			}
		} else {
			if st.ev.Status == cancelled && q.Get("showDeleted") != "true" {
				continue
			}
			start, end, _ := spanOf(st.ev)
			if (!window.start.IsZero() && !end.After(window.start)) || (!window.end.IsZero() && !start.Before(window.end)) {
				continue
			}
		}
		items = append(items, clone(st.ev))
	}
	next := newID()
	s.syncTokens[next] = syncPoint{calendarID: calID, seq: s.seq}
	return http.StatusOK, &calendar.Events{
		Kind: "calendar#events", Summary: calID, TimeZone: "UTC", AccessRole: "owner",
		Updated: time.Now().UTC().Format(stampLayout), Items: items, NextSyncToken: next,
	}
}

// queryFreeBusy serves POST /calendar/v3/freeBusy: per calendar, the merged busy time of
// its confirmed, opaque events and its AddBusy blocks, clipped to [timeMin, timeMax).
func (s *Server) queryFreeBusy(r *http.Request) (int, any) {
	var req calendar.FreeBusyRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return apiError(http.StatusBadRequest, "parseError", "Parse Error")
	}
	from, err1 := time.Parse(time.RFC3339, req.TimeMin)
	to, err2 := time.Parse(time.RFC3339, req.TimeMax)
	switch {
	case err1 != nil || err2 != nil:
		return apiError(http.StatusBadRequest, "badRequest", "Bad Request")
	case !to.After(from):
		return apiError(http.StatusBadRequest, "timeRangeEmpty", "The specified time range is empty.")
	}
	loc := time.UTC
	if l, err := time.LoadLocation(req.TimeZone); req.TimeZone != "" && err == nil {
		loc = l
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	res := &calendar.FreeBusyResponse{
		Kind: "calendar#freeBusy", TimeMin: req.TimeMin, TimeMax: req.TimeMax,
		Calendars: map[string]calendar.FreeBusyCalendar{},
	}
	for _, item := range req.Items {
		if s.removed[item.Id] {
			res.Calendars[item.Id] = calendar.FreeBusyCalendar{
				Errors: []*calendar.Error{{Domain: "global", Reason: "notFound"}},
			}
			continue
		}
		busy := []*calendar.TimePeriod{}
		for _, sp := range s.busyLocked(item.Id, span{from, to}) {
			busy = append(busy, &calendar.TimePeriod{
				Start: sp.start.In(loc).Format(time.RFC3339), End: sp.end.In(loc).Format(time.RFC3339),
			})
		}
		res.Calendars[item.Id] = calendar.FreeBusyCalendar{Busy: busy}
	}
	return http.StatusOK, res
}

// busyLocked returns a calendar's busy time within window, sorted and merged.
func (s *Server) busyLocked(calID string, window span) []span {
	c := s.calendars[calID]
	if c == nil {
		return nil
	}
	all := slices.Clone(c.busy)
	for _, id := range c.order {
		ev := c.events[id].ev
		if ev.Status == cancelled || ev.Transparency == "transparent" {
			continue
		}
		if start, end, err := spanOf(ev); err == nil {
			all = append(all, span{start, end})
		}
	}
	slices.SortFunc(all, func(a, b span) int { return a.start.Compare(b.start) })
	var out []span
	for _, sp := range all {
		sp.start, sp.end = later(sp.start, window.start), earlier(sp.end, window.end)
		switch {
		case !sp.end.After(sp.start):
		case len(out) > 0 && !sp.start.After(out[len(out)-1].end):
			out[len(out)-1].end = later(out[len(out)-1].end, sp.end)
		default:
			out = append(out, sp)
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// calendarLocked returns a calendar's state, making it on first use.
func (s *Server) calendarLocked(id string) *calendarState {
	c := s.calendars[id]
	if c == nil {
		c = &calendarState{events: map[string]*stored{}}
		s.calendars[id] = c
	}
	return c
}

// eventLocked finds the event a request names; st is nil when there is none.
func (s *Server) eventLocked(r *http.Request) (c *calendarState, st *stored) {
	c = s.calendars[r.PathValue("calendarId")]
	if c == nil {
		return nil, nil
	}
	return c, c.events[r.PathValue("eventId")]
}

// putLocked records ev as the event's newest version and returns a copy to answer with.
func (s *Server) putLocked(c *calendarState, ev *calendar.Event) *calendar.Event {
	s.seq++
	ev.Etag = fmt.Sprintf(`"%d"`, s.seq)
	ev.Updated = time.Now().UTC().Format(stampLayout)
	c.events[ev.Id] = &stored{ev: ev, seq: s.seq}
	return clone(ev)
}

// checkTimes returns Google's 400 for an event without a valid, non-empty time span, or 0.
func checkTimes(ev *calendar.Event) (int, any) {
	switch {
	case ev.Start == nil:
		return apiError(http.StatusBadRequest, "required", "Missing start time.")
	case ev.End == nil:
		return apiError(http.StatusBadRequest, "required", "Missing end time.")
	}
	start, err := instant(ev.Start)
	if err != nil {
		return apiError(http.StatusBadRequest, "invalid", "Invalid start time.")
	}
	end, err := instant(ev.End)
	if err != nil {
		return apiError(http.StatusBadRequest, "invalid", "Invalid end time.")
	}
	if !end.After(start) {
		return apiError(http.StatusBadRequest, "timeRangeEmpty", "The specified time range is empty.")
	}
	return 0, nil
}

func spanOf(ev *calendar.Event) (start, end time.Time, err error) {
	if start, err = instant(ev.Start); err != nil {
		return start, end, err
	}
	end, err = instant(ev.End)
	return start, end, err
}

// instant reads a dateTime (RFC 3339), or the midnight starting an all-day date.
func instant(dt *calendar.EventDateTime) (time.Time, error) {
	if dt == nil {
		return time.Time{}, errors.New("missing")
	}
	loc, err := time.LoadLocation(dt.TimeZone) // "" is UTC
	if err != nil {
		return time.Time{}, err
	}
	if dt.DateTime != "" {
		return time.Parse(time.RFC3339, dt.DateTime)
	}
	return time.ParseInLocation(time.DateOnly, dt.Date, loc)
}

func notFound() (int, any) { return apiError(http.StatusNotFound, "notFound", "Not Found") }

// newID returns a random event id of the kind Google generates (base32hex, lowercase).
func newID() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	return strings.ToLower(base32.HexEncoding.EncodeToString(b))
}

// clone deep-copies an event, so callers never share the fake's state.
func clone(ev *calendar.Event) *calendar.Event {
	b, err := json.Marshal(ev)
	if err != nil {
		panic(fmt.Sprintf("googlefake: marshal event: %v", err))
	}
	var out calendar.Event
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("googlefake: unmarshal event: %v", err))
	}
	return &out
}
