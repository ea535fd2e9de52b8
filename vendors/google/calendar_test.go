package google_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"

	vsync "ringback/actors/sync"
	"ringback/fakes/googlefake"
	"ringback/fakes/oauthfake"
	"ringback/vendors/google"
	"ringback/vendors/oauth"
)

const (
	clientID     = "ringback-google"
	clientSecret = "s3cret"
	firstRefresh = "rt-connected"
	calID        = "van-2@group.calendar.google.com"
)

// env is one connected Google account on a fake Google.
type env struct {
	auth *oauthfake.Server
	fake *googlefake.Server
	cal  *google.Calendar
}

type option func(*env, *oauth.SaveFunc, *google.Config)

// rotating makes the token endpoint rotate refresh tokens.
func rotating(e *env, _ *oauth.SaveFunc, _ *google.Config) {
	e.auth = oauthfake.New(clientID, clientSecret, true)
}

func saving(save oauth.SaveFunc) option {
	return func(_ *env, s *oauth.SaveFunc, _ *google.Config) { *s = save }
}

func withConfig(f func(*google.Config)) option {
	return func(_ *env, _ *oauth.SaveFunc, c *google.Config) { f(c) }
}

func newEnv(t *testing.T, opts ...option) *env {
	t.Helper()
	e := &env{auth: oauthfake.New(clientID, clientSecret, false)}
	var save oauth.SaveFunc
	var cfg google.Config
	for _, o := range opts {
		o(e, &save, &cfg)
	}
	e.auth.AddRefreshToken(firstRefresh)
	e.fake = googlefake.New(e.auth)
	t.Cleanup(e.fake.Close)
	cfg.BaseURL = e.fake.Endpoint()
	if cfg.TokenSource == nil {
		cfg.TokenSource = oauth.TokenSource(t.Context(), clientID, clientSecret, e.fake.TokenURL(), firstRefresh, save, nil)
	}
	cal, err := google.New(t.Context(), cfg)
	require.NoError(t, err)
	e.cal = cal
	return e
}

func appointment() vsync.Appointment {
	start := time.Date(2030, 1, 7, 15, 0, 0, 0, time.UTC)
	return vsync.Appointment{
		ID:            uuid.New(),
		TenantID:      "acme-plumbing",
		BusinessName:  "Acme Plumbing",
		TimeZone:      "America/Chicago",
		ResourceName:  "Van 2",
		ServiceName:   "Drain cleaning",
		Start:         start,
		End:           start.Add(90 * time.Minute),
		CustomerPhone: "+15125550199",
		CustomerName:  "Ada Lovelace",
		Quote:         "$210.00",
		CalendarID:    calID,
	}
}

func job(a vsync.Appointment, action vsync.Action) vsync.Job {
	return vsync.Job{Seq: 1, TenantID: a.TenantID, ConnectionID: "c1", Provider: "google", AppointmentID: a.ID, Action: action}
}

func (e *env) sync(t *testing.T, a vsync.Appointment, action vsync.Action) error {
	t.Helper()
	return e.cal.Sync(t.Context(), job(a, action), a, nil)
}

// only returns the calendar's single event, failing unless there is exactly one.
func (e *env) only(t *testing.T) *calendar.Event {
	t.Helper()
	events := e.fake.Events(calID)
	require.Len(t, events, 1)
	return events[0]
}

func requireTimes(t *testing.T, ev *calendar.Event, start, end time.Time) {
	t.Helper()
	got, err := time.Parse(time.RFC3339, ev.Start.DateTime)
	require.NoError(t, err)
	require.True(t, got.Equal(start), "start: got %v, want %v", got, start)
	got, err = time.Parse(time.RFC3339, ev.End.DateTime)
	require.NoError(t, err)
	require.True(t, got.Equal(end), "end: got %v, want %v", got, end)
}

// requireTransient fails unless err is one sync retries with backoff.
func requireTransient(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	require.False(t, vsync.IsPermanent(err), "permanent: %v", err)
	require.NotErrorIs(t, err, vsync.ErrReconnect)
}

func TestEventID(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("0b6f1d1e-93c2-4c8e-9a51-2f1c8a7f3d10")
	got := google.EventID(id)
	require.Regexp(t, regexp.MustCompile(`^[a-v0-9]{52}$`), got)
	require.Equal(t, got, google.EventID(id))
	require.NotEqual(t, got, google.EventID(uuid.New()))
}

func TestCreateWritesOneEventWithTheDerivedID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := appointment()

	require.NoError(t, e.sync(t, a, vsync.Create))

	ev := e.only(t)
	require.Equal(t, google.EventID(a.ID), ev.Id)
	require.Equal(t, "confirmed", ev.Status)
	require.Equal(t, "Drain cleaning — Ada Lovelace", ev.Summary)
	require.Contains(t, ev.Description, "+15125550199")
	require.Contains(t, ev.Description, "$210.00")
	requireTimes(t, ev, a.Start, a.End)
	require.Equal(t, "America/Chicago", ev.Start.TimeZone)
	calls := e.fake.Calls()
	require.Len(t, calls, 1)
	require.Equal(t, "none", calls[0].Query.Get("sendUpdates"), "attendees must not be emailed")
}

func TestSummaryMasksAnUnnamedCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := appointment()
	a.CustomerName = ""

	require.NoError(t, e.sync(t, a, vsync.Create))
	require.Equal(t, "Drain cleaning — +1512***0199", e.only(t).Summary)
}

func TestCreateRetriedAfterServerErrorStillOneEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := appointment()
	e.fake.FailNext(1, googlefake.ServerError())

	err := e.sync(t, a, vsync.Create)
	requireTransient(t, err)
	_, hasDelay := vsync.RetryDelay(err)
	require.False(t, hasDelay)
	require.Zero(t, e.fake.EventCount(calID))

	require.NoError(t, e.sync(t, a, vsync.Create))
	require.Equal(t, google.EventID(a.ID), e.only(t).Id)
	require.Equal(t, 2, e.fake.InsertCalls())
}

// The insert succeeds but its answer is lost: the retry finds the event and leaves it.
func TestCreateAfterLostAnswerDoesNotDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := appointment()
	e.fake.FailNext(1, googlefake.MalformedJSON())

	requireTransient(t, e.sync(t, a, vsync.Create))
	require.Equal(t, 1, e.fake.EventCount(calID))

	require.NoError(t, e.sync(t, a, vsync.Create))
	require.NoError(t, e.sync(t, a, vsync.Create))
	e.only(t)
	require.Zero(t, e.fake.CallCount(googlefake.Update), "an unchanged event is not rewritten")
}

// The caller gives up while Google holds the answer to an insert it made: the retry
// must find the event, not make a second.
func TestCreateAbandonedThenRetriedDoesNotDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := appointment()
	e.fake.FailNext(1, googlefake.Slow(time.Hour))
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		_, _ = e.fake.WaitForCalls(t.Context(), 1)
		cancel()
	}()

	err := e.cal.Sync(ctx, job(a, vsync.Create), a, nil)
	requireTransient(t, err)
	require.ErrorIs(t, err, context.Canceled)

	require.NoError(t, e.sync(t, a, vsync.Create))
	e.only(t)
}

func TestTimeoutIsTransient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *google.Config) { c.Timeout = 50 * time.Millisecond }))
	e.fake.FailNext(1, googlefake.Slow(time.Hour))

	err := e.sync(t, appointment(), vsync.Create)
	requireTransient(t, err)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "err %v", err)
	require.Equal(t, 1, e.fake.EventCount(calID), "Google made the event all the same")
}

// A late create of an event that is on Google but stale (or deleted there) brings it to
// the appointment's current state.
func TestCreateOverStaleEventUpdatesIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := appointment()
	require.NoError(t, e.sync(t, a, vsync.Delete)) // nothing there: fine
	require.NoError(t, e.sync(t, a, vsync.Create))
	cancelled := a
	cancelled.Cancelled = true
	require.NoError(t, e.sync(t, cancelled, vsync.Delete))
	require.Equal(t, "cancelled", e.only(t).Status)

	moved := a
	moved.Start, moved.End = a.Start.Add(time.Hour), a.End.Add(time.Hour)
	require.NoError(t, e.sync(t, moved, vsync.Create))

	ev := e.only(t)
	require.Equal(t, "confirmed", ev.Status)
	requireTimes(t, ev, moved.Start, moved.End)
}

func TestRescheduleMovesTheEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := appointment()
	require.NoError(t, e.sync(t, a, vsync.Create))

	a.Start, a.End = a.Start.Add(24*time.Hour), a.End.Add(26*time.Hour)
	require.NoError(t, e.sync(t, a, vsync.Update))

	requireTimes(t, e.only(t), a.Start, a.End)
	require.Equal(t, 1, e.fake.InsertCalls())
}

func TestRescheduleOfMissingEventCreatesIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := appointment()

	require.NoError(t, e.sync(t, a, vsync.Update))

	ev := e.only(t)
	require.Equal(t, google.EventID(a.ID), ev.Id)
	requireTimes(t, ev, a.Start, a.End)
}

func TestCancelDeletesTheEventOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := appointment()
	require.NoError(t, e.sync(t, a, vsync.Create))
	a.Cancelled = true

	require.NoError(t, e.sync(t, a, vsync.Delete))
	require.Equal(t, "cancelled", e.only(t).Status)
	require.NoError(t, e.sync(t, a, vsync.Delete), "deleting again (410) is done")
	require.Equal(t, 2, e.fake.CallCount(googlefake.Delete))
}

// A create or update job that runs after the appointment was cancelled sends the
// current state: the event must end up deleted, not created.
func TestLateJobOfCancelledAppointmentDeletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := appointment()
	require.NoError(t, e.sync(t, a, vsync.Create))
	a.Cancelled = true

	require.NoError(t, e.sync(t, a, vsync.Update))
	require.Equal(t, "cancelled", e.only(t).Status)
	require.NoError(t, e.sync(t, a, vsync.Create))
	require.Equal(t, "cancelled", e.only(t).Status)
	require.Equal(t, 1, e.fake.InsertCalls())
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		fault     googlefake.Fault
		permanent bool
		delay     time.Duration // Retry-After, if any
	}{
		{name: "403 rateLimitExceeded", fault: googlefake.RateLimited()},
		{name: "403 userRateLimitExceeded", fault: googlefake.UserRateLimited()},
		{name: "403 quotaExceeded", fault: googlefake.QuotaExceeded()},
		{name: "429", fault: googlefake.TooManyRequests()},
		{name: "503", fault: googlefake.Unavailable()},
		{name: "503 Retry-After", fault: googlefake.Fault{Status: 503, RetryAfter: 7 * time.Second}, delay: 7 * time.Second},
		{name: "403 no write access", fault: googlefake.Forbidden(), permanent: true},
		{name: "400", fault: googlefake.Fault{Status: 400, Reason: "badRequest"}, permanent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.fake.FailNext(1, tc.fault)

			err := e.sync(t, appointment(), vsync.Create)
			require.Error(t, err)
			require.Equal(t, tc.permanent, vsync.IsPermanent(err), "permanent? err %v", err)
			require.NotErrorIs(t, err, vsync.ErrReconnect)
			delay, ok := vsync.RetryDelay(err)
			require.Equal(t, tc.delay != 0, ok)
			require.Equal(t, tc.delay, delay)
			var ge *googleapi.Error
			require.ErrorAs(t, err, &ge)
			require.Equal(t, tc.fault.Status, ge.Code)
		})
	}
}

func TestRefusedRequestsArePermanent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	noCalendar := appointment()
	noCalendar.CalendarID = ""
	err := e.sync(t, noCalendar, vsync.Create)
	require.True(t, vsync.IsPermanent(err), "err %v", err)
	require.Zero(t, e.fake.Requests())

	backwards := appointment()
	backwards.End = backwards.Start.Add(-time.Hour)
	err = e.sync(t, backwards, vsync.Create)
	require.True(t, vsync.IsPermanent(err), "err %v", err)

	e.fake.RemoveCalendar(calID)
	err = e.sync(t, appointment(), vsync.Update) // 404, then the insert's 404
	require.True(t, vsync.IsPermanent(err), "err %v", err)
}

func TestNetworkFailureIsTransient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := appointment()
	require.NoError(t, e.sync(t, a, vsync.Create)) // the access token is cached now
	e.fake.Close()

	err := e.sync(t, a, vsync.Update)
	requireTransient(t, err)
	var ue *url.Error
	require.ErrorAs(t, err, &ue)
}

func TestRevokedRefreshTokenNeedsReconnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.auth.Revoke(firstRefresh)

	err := e.sync(t, appointment(), vsync.Create)
	require.ErrorIs(t, err, vsync.ErrReconnect)
	require.False(t, vsync.IsPermanent(err))
	require.Zero(t, e.fake.Requests())

	_, err = e.cal.Busy(t.Context(), calID, time.Now(), time.Now().Add(time.Hour))
	require.ErrorIs(t, err, vsync.ErrReconnect)
}

func TestTokenEndpointOutageIsTransient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.auth.FailNext(1)

	requireTransient(t, e.sync(t, appointment(), vsync.Create))
	require.NoError(t, e.sync(t, appointment(), vsync.Create))
}

func TestRotatedRefreshTokenIsSavedBeforeUse(t *testing.T) {
	t.Parallel()
	var e *env
	var saved []string
	e = newEnv(t, rotating, saving(func(_ context.Context, rt string) error {
		require.Zero(t, e.fake.Requests(), "a request went out before the rotated token was saved")
		saved = append(saved, rt)
		return nil
	}))
	a := appointment()

	require.NoError(t, e.sync(t, a, vsync.Create))
	require.Equal(t, e.auth.ValidRefreshTokens(), saved)
	require.NotEqual(t, []string{firstRefresh}, saved)
	e.only(t)
}

func TestFailedSaveWithholdsTheToken(t *testing.T) {
	t.Parallel()
	errDB := errors.New("database down")
	down := true
	var saved []string
	e := newEnv(t, rotating, saving(func(_ context.Context, rt string) error {
		if down {
			return errDB
		}
		saved = append(saved, rt)
		return nil
	}))
	a := appointment()

	err := e.sync(t, a, vsync.Create)
	require.ErrorIs(t, err, errDB)
	requireTransient(t, err)
	require.Zero(t, e.fake.Requests())

	down = false
	require.NoError(t, e.sync(t, a, vsync.Create))
	require.Equal(t, e.auth.ValidRefreshTokens(), saved)
	require.Equal(t, 1, e.auth.Grants(), "the rotated token is kept, not refreshed again")
	e.only(t)
}

func TestRefusedAccessTokenIsRefreshedTransparently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := appointment()
	require.NoError(t, e.sync(t, a, vsync.Create))
	e.auth.ExpireAccessTokens()

	a.Start, a.End = a.Start.Add(time.Hour), a.End.Add(time.Hour)
	require.NoError(t, e.sync(t, a, vsync.Update))

	requireTimes(t, e.only(t), a.Start, a.End)
	require.Equal(t, 2, e.auth.Grants())
}

// A source that cannot refresh on demand keeps its refused token: a 401 is transient.
func TestUnauthorizedWithoutRefreshIsTransient(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withConfig(func(c *google.Config) {
		c.TokenSource = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "at-forged"})
	}))

	err := e.sync(t, appointment(), vsync.Create)
	requireTransient(t, err)
	var ge *googleapi.Error
	require.ErrorAs(t, err, &ge)
	require.Equal(t, 401, ge.Code)
	require.Zero(t, e.fake.EventCount(calID))
}

func TestBusyReadsBlocksAndEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	day := time.Date(2030, 1, 7, 0, 0, 0, 0, time.UTC)
	a := appointment() // 15:00–16:30
	require.NoError(t, e.sync(t, a, vsync.Create))
	gone := appointment()
	gone.Start, gone.End = day.Add(10*time.Hour), day.Add(11*time.Hour)
	require.NoError(t, e.sync(t, gone, vsync.Create))
	gone.Cancelled = true
	require.NoError(t, e.sync(t, gone, vsync.Delete))
	e.fake.AddBusy(calID, day.Add(8*time.Hour), day.Add(9*time.Hour))
	e.fake.AddBusy(calID, day.Add(30*time.Hour), day.Add(31*time.Hour)) // the next day
	e.fake.AddBusy("another-calendar", day.Add(12*time.Hour), day.Add(13*time.Hour))

	got, err := e.cal.Busy(t.Context(), calID, day, day.Add(24*time.Hour))
	require.NoError(t, err)

	want := []vsync.Interval{
		{Start: day.Add(8 * time.Hour), End: day.Add(9 * time.Hour)},
		{Start: a.Start, End: a.End},
	}
	require.Len(t, got, len(want))
	for i := range want {
		require.True(t, got[i].Start.Equal(want[i].Start) && got[i].End.Equal(want[i].End),
			"interval %d: got %v, want %v", i, got[i], want[i])
	}
}

func TestBusyOfUnknownCalendarFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fake.RemoveCalendar(calID)

	_, err := e.cal.Busy(t.Context(), calID, time.Now(), time.Now().Add(time.Hour))
	require.ErrorContains(t, err, "notFound")
}
