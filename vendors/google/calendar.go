// Package google is the Google Calendar side of calendar sync: it writes a business's
// appointments as events on its resources' calendars and reads their busy time back,
// through the Calendar API v3 client.
//
// It owns the translation between appointments and events: one event per appointment,
// whose id is derived from the appointment's, so every write is an upsert that a retry
// after a lost answer never duplicates; and the translation of Google's failures into the
// classification of package sync (Permanent, RetryAfter, ErrReconnect, or transient).
// It never retries, except once when Google refuses an access token (see Config).
package google

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	vsync "ringback/actors/sync"
	"ringback/tenant"
	"ringback/vendors/oauth"
)

// DefaultBaseURL is the production Calendar API root.
const DefaultBaseURL = "https://www.googleapis.com/calendar/v3/"

// DefaultTimeout bounds one API request when neither Config.Timeout nor
// Config.HTTPClient.Timeout is set.
const DefaultTimeout = 30 * time.Second

// Event statuses.
const (
	confirmed = "confirmed"
	cancelled = "cancelled"
)

// Config for a Calendar.
type Config struct {
	// BaseURL is the Calendar API root (GOOGLE_CALENDAR_URL): DefaultBaseURL, the default,
	// or a fake's URL + "/calendar/v3/". A missing trailing slash is added: without it the
	// client drops the last path segment.
	BaseURL string
	// TokenSource gives the connection's access tokens; required (see package oauth). Its
	// errors surface from Sync and Busy, invalid_grant as sync.ErrReconnect. If it also has
	// an Invalidate(*oauth2.Token) method (as *oauth.Source does), a token Google refuses
	// with 401 is invalidated and the request sent once more with a fresh one.
	TokenSource oauth2.TokenSource
	// HTTPClient carries the API requests, its Transport under the bearer-token layer.
	// Default: a client on http.DefaultTransport.
	HTTPClient *http.Client
	// Timeout bounds each API request, reading the answer included. Default:
	// HTTPClient.Timeout if set, else DefaultTimeout.
	Timeout time.Duration
}

// Calendar syncs appointments with the calendars of one Google account (one connection).
// It is safe for concurrent use.
type Calendar struct {
	svc *calendar.Service
}

var (
	_ vsync.Provider   = (*Calendar)(nil)
	_ vsync.BusyReader = (*Calendar)(nil)
)

// New validates cfg and returns a Calendar. No request is made.
func New(ctx context.Context, cfg Config) (*Calendar, error) {
	if cfg.TokenSource == nil {
		return nil, errors.New("google: a token source is required")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("google: negative timeout %v", cfg.Timeout)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("google: base URL %q: want http(s)://host/calendar/v3/", cfg.BaseURL)
	}
	if !strings.HasSuffix(cfg.BaseURL, "/") {
		cfg.BaseURL += "/"
	}

	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		*hc = *cfg.HTTPClient
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &oauth.Transport{Source: cfg.TokenSource, Base: base}
	switch {
	case cfg.Timeout > 0:
		hc.Timeout = cfg.Timeout
	case hc.Timeout == 0:
		hc.Timeout = DefaultTimeout
	}
	svc, err := calendar.NewService(ctx, option.WithHTTPClient(hc), option.WithEndpoint(cfg.BaseURL))
	if err != nil {
		return nil, fmt.Errorf("google: calendar client: %w", err)
	}
	return &Calendar{svc: svc}, nil
}

// EventID is the id of an appointment's event: the lowercase, unpadded base32hex of the
// SHA-256 of the appointment id, 52 characters that Google accepts as a client-supplied
// event id. The same appointment always maps to the same event, on any calendar.
func EventID(appointmentID uuid.UUID) string {
	sum := sha256.Sum256([]byte(appointmentID.String()))
	return strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))
}

// Sync makes the appointment's event on appt.CalendarID match appt as it stands: present
// with its times and details while booked (an Update of a missing event creates it, a
// Create of a stale or deleted one rewrites it), deleted once cancelled or once a Delete
// job says so (cancellation is final). Google keeps a deleted event, cancelled. Refs are
// not used: the event id is derived from the appointment's.
func (c *Calendar) Sync(ctx context.Context, job vsync.Job, appt vsync.Appointment, _ vsync.Refs) error {
	if appt.CalendarID == "" {
		return vsync.Permanent(fmt.Errorf("google: appointment %s: its resource has no calendar on this connection", appt.ID))
	}
	id := EventID(appt.ID)
	var err error
	switch {
	case appt.Cancelled || job.Action == vsync.Delete:
		err = c.remove(ctx, appt.CalendarID, id)
	case job.Action == vsync.Update:
		err = c.update(ctx, appt.CalendarID, event(id, appt))
		if status(err) == http.StatusNotFound { // never created: its create failed for good, or the calendar changed
			err = c.insert(ctx, appt.CalendarID, event(id, appt))
		}
	default:
		err = c.insert(ctx, appt.CalendarID, event(id, appt))
	}
	return classify(err)
}

// insert creates the event. A 409 duplicate means an earlier attempt created it (and its
// answer was lost) or it was deleted since (Google keeps the ids of deleted events): the
// event is then brought to the wanted state.
func (c *Calendar) insert(ctx context.Context, calID string, want *calendar.Event) error {
	_, err := c.svc.Events.Insert(calID, want).SendUpdates("none").Context(ctx).Do()
	if !isDuplicate(err) {
		return wrap(err, "insert event %s", want.Id)
	}
	got, err := c.svc.Events.Get(calID, want.Id).Context(ctx).Do()
	if err != nil {
		return wrap(err, "get existing event %s", want.Id)
	}
	if same(got, want) {
		return nil
	}
	return c.update(ctx, calID, want)
}

// update replaces the event with want, restoring it if it was deleted.
func (c *Calendar) update(ctx context.Context, calID string, want *calendar.Event) error {
	_, err := c.svc.Events.Update(calID, want.Id, want).SendUpdates("none").Context(ctx).Do()
	return wrap(err, "update event %s", want.Id)
}

// remove deletes the event; one that never existed or is deleted already is fine.
func (c *Calendar) remove(ctx context.Context, calID, id string) error {
	err := c.svc.Events.Delete(calID, id).SendUpdates("none").Context(ctx).Do()
	if s := status(err); s == http.StatusNotFound || s == http.StatusGone {
		return nil
	}
	return wrap(err, "delete event %s", id)
}

// Busy returns the busy time of a calendar within [from, to) as Google's free/busy sees
// it, the events written by Sync included.
func (c *Calendar) Busy(ctx context.Context, calendarID string, from, to time.Time) ([]vsync.Interval, error) {
	if calendarID == "" {
		return nil, vsync.Permanent(errors.New("google: free/busy: no calendar id"))
	}
	res, err := c.svc.Freebusy.Query(&calendar.FreeBusyRequest{
		TimeMin:  from.UTC().Format(time.RFC3339),
		TimeMax:  to.UTC().Format(time.RFC3339),
		TimeZone: "UTC",
		Items:    []*calendar.FreeBusyRequestItem{{Id: calendarID}},
	}).Context(ctx).Do()
	if err != nil {
		return nil, classify(wrap(err, "free/busy of calendar %q", calendarID))
	}
	fb, ok := res.Calendars[calendarID]
	if !ok {
		return nil, fmt.Errorf("google: free/busy of calendar %q: not in the answer", calendarID)
	}
	if len(fb.Errors) > 0 {
		reasons := make([]string, len(fb.Errors))
		for i, e := range fb.Errors {
			reasons[i] = e.Reason
		}
		return nil, fmt.Errorf("google: free/busy of calendar %q: %s", calendarID, strings.Join(reasons, ", "))
	}
	out := make([]vsync.Interval, 0, len(fb.Busy))
	for _, p := range fb.Busy {
		start, err1 := time.Parse(time.RFC3339, p.Start)
		end, err2 := time.Parse(time.RFC3339, p.End)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("google: free/busy of calendar %q: %w", calendarID, err)
		}
		out = append(out, vsync.Interval{Start: start, End: end})
	}
	return out, nil
}

// event is the event an appointment should be. The summary names the customer, or only
// the end of their number, as a calendar's titles show up on shared screens and
// notifications; the description, seen by whoever opens the event, has what the business
// needs to call them back.
func event(id string, a vsync.Appointment) *calendar.Event {
	summary := a.ServiceName
	if summary == "" {
		summary = "Appointment"
	}
	who := a.CustomerName
	if who == "" && a.CustomerPhone != "" {
		who = tenant.MaskPhone(a.CustomerPhone)
	}
	if who != "" {
		summary += " — " + who
	}
	var desc []string
	for _, l := range [][2]string{{"Customer", a.CustomerName}, {"Phone", a.CustomerPhone}, {"Quote", a.Quote}} {
		if l[1] != "" {
			desc = append(desc, l[0]+": "+l[1])
		}
	}
	if c := confirmedLine(a); c != "" {
		summary = "✓ " + summary // seen at a glance on the calendar
		desc = append(desc, c)
	}
	desc = append(desc, "Booked by Ringback.")
	return &calendar.Event{
		Id:          id,
		Status:      confirmed,
		Summary:     summary,
		Description: strings.Join(desc, "\n"),
		Start:       &calendar.EventDateTime{DateTime: a.Start.Format(time.RFC3339), TimeZone: a.TimeZone},
		End:         &calendar.EventDateTime{DateTime: a.End.Format(time.RFC3339), TimeZone: a.TimeZone},
	}
}

// confirmedLine says when the customer confirmed the visit by text, in the business's
// zone; "" when they have not.
func confirmedLine(a vsync.Appointment) string {
	if a.ConfirmedAt.IsZero() {
		return ""
	}
	at := a.ConfirmedAt
	if loc, err := time.LoadLocation(a.TimeZone); err == nil && a.TimeZone != "" {
		at = at.In(loc)
	}
	return "Confirmed by the customer by text on " + at.Format("Mon Jan 2, 3:04 PM") + "."
}

// same reports whether the event Google has matches the one wanted, comparing times as
// instants (Google may write them with another offset).
func same(got, want *calendar.Event) bool {
	return got.Status == want.Status && got.Summary == want.Summary &&
		got.Description == want.Description &&
		sameTime(got.Start, want.Start) && sameTime(got.End, want.End)
}

func sameTime(a, b *calendar.EventDateTime) bool {
	if a == nil || b == nil {
		return a == b
	}
	ta, err1 := time.Parse(time.RFC3339, a.DateTime)
	tb, err2 := time.Parse(time.RFC3339, b.DateTime)
	return err1 == nil && err2 == nil && ta.Equal(tb) && a.TimeZone == b.TimeZone
}

// status is the HTTP status of a failed call's answer, or 0.
func status(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

func isDuplicate(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusConflict &&
		len(ge.Errors) > 0 && ge.Errors[0].Reason == "duplicate"
}

// wrap names the failed call, or returns nil.
func wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("google: "+format+": %w", append(args, err)...)
}
