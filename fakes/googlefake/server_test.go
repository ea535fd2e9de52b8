package googlefake_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"ringback/fakes/googlefake"
	"ringback/fakes/oauthfake"
)

const cal = "primary"

var day = time.Date(2030, 1, 7, 0, 0, 0, 0, time.UTC)

// open starts a fake that checks no tokens and a real client on it.
func open(t *testing.T) (*googlefake.Server, *calendar.Service) {
	t.Helper()
	srv := googlefake.New(nil)
	t.Cleanup(srv.Close)
	return srv, client(t, srv, option.WithoutAuthentication())
}

func client(t *testing.T, srv *googlefake.Server, opts ...option.ClientOption) *calendar.Service {
	t.Helper()
	svc, err := calendar.NewService(t.Context(), append(opts, option.WithEndpoint(srv.Endpoint()))...)
	require.NoError(t, err)
	return svc
}

// event is an event from hour h to hour h+1 of day.
func event(id string, h int) *calendar.Event {
	return &calendar.Event{
		Id:      id,
		Summary: "Drain cleaning",
		Start:   &calendar.EventDateTime{DateTime: day.Add(time.Duration(h) * time.Hour).Format(time.RFC3339), TimeZone: "America/Chicago"},
		End:     &calendar.EventDateTime{DateTime: day.Add(time.Duration(h+1) * time.Hour).Format(time.RFC3339), TimeZone: "America/Chicago"},
	}
}

func requireAPIError(t *testing.T, err error, code int, reason string) *googleapi.Error {
	t.Helper()
	var ge *googleapi.Error
	require.ErrorAs(t, err, &ge)
	require.Equal(t, code, ge.Code, "err %v", err)
	require.Len(t, ge.Errors, 1, "err %v", err)
	require.Equal(t, reason, ge.Errors[0].Reason)
	require.NotEmpty(t, ge.Message)
	return ge
}

func TestInsertGetAndDuplicate(t *testing.T) {
	t.Parallel()
	srv, svc := open(t)

	got, err := svc.Events.Insert(cal, event("appt00001", 9)).SendUpdates("none").Do()
	require.NoError(t, err)
	require.Equal(t, "appt00001", got.Id)
	require.Equal(t, "confirmed", got.Status)
	require.NotEmpty(t, got.Etag)
	require.Equal(t, "none", srv.Calls()[0].Query.Get("sendUpdates"))

	got, err = svc.Events.Get(cal, "appt00001").Do()
	require.NoError(t, err)
	require.Equal(t, "Drain cleaning", got.Summary)
	require.Equal(t, "America/Chicago", got.Start.TimeZone)

	_, err = svc.Events.Insert(cal, event("appt00001", 11)).Do()
	ge := requireAPIError(t, err, http.StatusConflict, "duplicate")
	require.Contains(t, ge.Body, `"domain":"global"`)
	require.Equal(t, "The requested identifier already exists.", ge.Message)

	// The same id on another calendar is another event.
	_, err = svc.Events.Insert("other", event("appt00001", 9)).Do()
	require.NoError(t, err)

	generated, err := svc.Events.Insert(cal, event("", 12)).Do()
	require.NoError(t, err)
	require.Regexp(t, `^[a-v0-9]{5,}$`, generated.Id)

	require.Equal(t, 2, srv.EventCount(cal))
	require.Equal(t, 4, srv.InsertCalls())
	require.Equal(t, 1, srv.CallCount(googlefake.Get))
}

func TestInsertRefusesInvalidEvents(t *testing.T) {
	t.Parallel()
	srv, svc := open(t)

	for _, id := range []string{"abcd", "ABCDE", "wxyz01", "abc-def"} {
		_, err := svc.Events.Insert(cal, event(id, 9)).Do()
		requireAPIError(t, err, http.StatusBadRequest, "invalid")
	}
	backwards := event("reversed", 9)
	backwards.End = backwards.Start
	_, err := svc.Events.Insert(cal, backwards).Do()
	requireAPIError(t, err, http.StatusBadRequest, "timeRangeEmpty")
	noEnd := event("noend", 9)
	noEnd.End = nil
	_, err = svc.Events.Insert(cal, noEnd).Do()
	requireAPIError(t, err, http.StatusBadRequest, "required")
	badZone := event("badtimes", 9)
	badZone.Start.TimeZone = "Mars/Olympus"
	_, err = svc.Events.Insert(cal, badZone).Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalid")

	require.Zero(t, srv.EventCount(cal))
}

func TestDeletedEventKeepsItsID(t *testing.T) {
	t.Parallel()
	srv, svc := open(t)
	_, err := svc.Events.Insert(cal, event("appt00001", 9)).Do()
	require.NoError(t, err)

	require.NoError(t, svc.Events.Delete(cal, "appt00001").Do())
	got, err := svc.Events.Get(cal, "appt00001").Do()
	require.NoError(t, err)
	require.Equal(t, "cancelled", got.Status)

	requireAPIError(t, svc.Events.Delete(cal, "appt00001").Do(), http.StatusGone, "deleted")
	_, err = svc.Events.Insert(cal, event("appt00001", 9)).Do()
	requireAPIError(t, err, http.StatusConflict, "duplicate")

	// A full update restores it.
	got, err = svc.Events.Update(cal, "appt00001", event("appt00001", 10)).Do()
	require.NoError(t, err)
	require.Equal(t, "confirmed", got.Status)
	stored, ok := srv.Event(cal, "appt00001")
	require.True(t, ok)
	require.Equal(t, "confirmed", stored.Status)
	require.Equal(t, day.Add(10*time.Hour).Format(time.RFC3339), stored.Start.DateTime)

	_, err = svc.Events.Get(cal, "nosuchevent").Do()
	requireAPIError(t, err, http.StatusNotFound, "notFound")
	requireAPIError(t, svc.Events.Delete(cal, "nosuchevent").Do(), http.StatusNotFound, "notFound")
	_, err = svc.Events.Update(cal, "nosuchevent", event("nosuchevent", 9)).Do()
	requireAPIError(t, err, http.StatusNotFound, "notFound")
}

func TestPatchChangesOnlyTheFieldsSent(t *testing.T) {
	t.Parallel()
	srv, svc := open(t)
	_, err := svc.Events.Insert(cal, event("appt00001", 9)).Do()
	require.NoError(t, err)

	got, err := svc.Events.Patch(cal, "appt00001", &calendar.Event{Summary: "Boiler service"}).Do()
	require.NoError(t, err)
	require.Equal(t, "Boiler service", got.Summary)
	require.Equal(t, int64(1), got.Sequence)

	stored := srv.Events(cal)
	require.Len(t, stored, 1)
	require.Equal(t, "Boiler service", stored[0].Summary)
	require.Equal(t, day.Add(9*time.Hour).Format(time.RFC3339), stored[0].Start.DateTime)
}

func TestBearerTokens(t *testing.T) {
	t.Parallel()
	auth := oauthfake.New("client", "secret", false)
	auth.AddRefreshToken("rt-1")
	srv := googlefake.New(auth)
	t.Cleanup(srv.Close)
	conf := &oauth2.Config{ClientID: "client", ClientSecret: "secret",
		Endpoint: oauth2.Endpoint{TokenURL: srv.TokenURL(), AuthStyle: oauth2.AuthStyleInParams}}
	authorized := client(t, srv, option.WithTokenSource(conf.TokenSource(t.Context(), &oauth2.Token{RefreshToken: "rt-1"})))
	anonymous := client(t, srv, option.WithoutAuthentication())

	_, err := authorized.Events.Insert(cal, event("appt00001", 9)).Do()
	require.NoError(t, err)
	require.Equal(t, 1, auth.Grants())

	_, err = anonymous.Events.Get(cal, "appt00001").Do()
	ge := requireAPIError(t, err, http.StatusUnauthorized, "authError")
	require.Contains(t, ge.Header.Get("WWW-Authenticate"), "invalid_token")

	auth.ExpireAccessTokens()
	_, err = authorized.Events.Get(cal, "appt00001").Do()
	requireAPIError(t, err, http.StatusUnauthorized, "authError")
}

func TestFailNextThenRecover(t *testing.T) {
	t.Parallel()
	srv, svc := open(t)
	srv.FailNext(1, googlefake.RateLimited())
	srv.FailNext(1, googlefake.TooManyRequests())
	srv.FailNext(1, googlefake.Fault{Status: http.StatusServiceUnavailable, RetryAfter: 30 * time.Second})

	_, err := svc.Events.Insert(cal, event("appt00001", 9)).Do()
	ge := requireAPIError(t, err, http.StatusForbidden, "rateLimitExceeded")
	require.Contains(t, ge.Body, `"domain":"usageLimits"`)
	_, err = svc.Events.Insert(cal, event("appt00001", 9)).Do()
	requireAPIError(t, err, http.StatusTooManyRequests, "rateLimitExceeded")
	_, err = svc.Events.Insert(cal, event("appt00001", 9)).Do()
	ge = requireAPIError(t, err, http.StatusServiceUnavailable, "backendError")
	require.Equal(t, "30", ge.Header.Get("Retry-After"))
	require.Zero(t, srv.EventCount(cal), "a refused request changes nothing")

	_, err = svc.Events.Insert(cal, event("appt00001", 9)).Do()
	require.NoError(t, err)
	require.Equal(t, 4, srv.InsertCalls())
}

func TestFailAlwaysUntilHealed(t *testing.T) {
	t.Parallel()
	srv, svc := open(t)
	srv.FailAlways(googlefake.ServerError())

	for range 3 {
		_, err := svc.Events.Get(cal, "appt00001").Do()
		requireAPIError(t, err, http.StatusInternalServerError, "backendError")
	}
	srv.Heal()
	_, err := svc.Events.Get(cal, "appt00001").Do()
	requireAPIError(t, err, http.StatusNotFound, "notFound")
}

func TestMalformedAnswerAfterTheChange(t *testing.T) {
	t.Parallel()
	srv, svc := open(t)
	srv.FailNext(1, googlefake.MalformedJSON())

	_, err := svc.Events.Insert(cal, event("appt00001", 9)).Do()
	require.Error(t, err)
	var ge *googleapi.Error
	require.NotErrorAs(t, err, &ge, "a 200 with a broken body is not an API error")
	require.Equal(t, 1, srv.EventCount(cal), "the event was made all the same")
}

func TestSlowAnswerIsReleasedOnClose(t *testing.T) {
	t.Parallel()
	// No Cleanup(Close): when Close cannot release the answer, it blocks, and the test
	// must fail rather than hang.
	srv := googlefake.New(nil)
	svc := client(t, srv, option.WithoutAuthentication())
	srv.FailNext(1, googlefake.Slow(time.Hour))
	done := make(chan error, 1)
	go func() {
		_, err := svc.Events.Insert(cal, event("appt00001", 9)).Do()
		done <- err
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := srv.WaitForCalls(ctx, 1)
	require.NoError(t, err)

	go srv.Close()
	select {
	case err := <-done:
		require.NoError(t, err, "a slow answer is still an answer")
	case <-ctx.Done():
		t.Fatal("Close did not release the held answer")
	}
	require.Equal(t, 1, srv.EventCount(cal))
}

func TestListAndSyncTokens(t *testing.T) {
	t.Parallel()
	srv, svc := open(t)
	for i, id := range []string{"appt00001", "appt00002", "appt00003"} {
		_, err := svc.Events.Insert(cal, event(id, 9+i)).Do()
		require.NoError(t, err)
	}
	require.NoError(t, svc.Events.Delete(cal, "appt00002").Do())

	full, err := svc.Events.List(cal).Do()
	require.NoError(t, err)
	require.Equal(t, []string{"appt00001", "appt00003"}, ids(full))
	require.NotEmpty(t, full.NextSyncToken)
	withDeleted, err := svc.Events.List(cal).ShowDeleted(true).Do()
	require.NoError(t, err)
	require.Equal(t, []string{"appt00001", "appt00002", "appt00003"}, ids(withDeleted))
	window, err := svc.Events.List(cal).TimeMin(day.Add(10 * time.Hour).Format(time.RFC3339)).Do()
	require.NoError(t, err)
	require.Equal(t, []string{"appt00003"}, ids(window))

	_, err = svc.Events.Patch(cal, "appt00003", &calendar.Event{Summary: "moved"}).Do()
	require.NoError(t, err)
	require.NoError(t, svc.Events.Delete(cal, "appt00001").Do())
	changes, err := svc.Events.List(cal).SyncToken(full.NextSyncToken).Do()
	require.NoError(t, err)
	require.Equal(t, []string{"appt00001", "appt00003"}, ids(changes))
	require.Equal(t, "cancelled", changes.Items[0].Status)

	none, err := svc.Events.List(cal).SyncToken(changes.NextSyncToken).Do()
	require.NoError(t, err)
	require.Empty(t, none.Items)

	_, err = svc.Events.List(cal).SyncToken(none.NextSyncToken).TimeMin(day.Format(time.RFC3339)).Do()
	requireAPIError(t, err, http.StatusBadRequest, "invalid")
	srv.ExpireSyncTokens()
	_, err = svc.Events.List(cal).SyncToken(none.NextSyncToken).Do()
	requireAPIError(t, err, http.StatusGone, "fullSyncRequired")
}

func ids(evs *calendar.Events) []string {
	var out []string
	for _, e := range evs.Items {
		out = append(out, e.Id)
	}
	return out
}

func TestFreeBusy(t *testing.T) {
	t.Parallel()
	srv, svc := open(t)
	for _, ev := range []*calendar.Event{event("nine00001", 9), event("ten000001", 10), event("noon00001", 12), event("five00001", 17)} {
		_, err := svc.Events.Insert(cal, ev).Do()
		require.NoError(t, err)
	}
	require.NoError(t, svc.Events.Delete(cal, "noon00001").Do())
	_, err := svc.Events.Patch(cal, "five00001", &calendar.Event{Transparency: "transparent"}).Do()
	require.NoError(t, err)
	srv.AddBusy(cal, day.Add(-2*time.Hour), day.Add(time.Hour)) // clipped to the window
	srv.AddBusy(cal, day.Add(14*time.Hour), day.Add(15*time.Hour))
	srv.RemoveCalendar("gone")

	res, err := svc.Freebusy.Query(&calendar.FreeBusyRequest{
		TimeMin: day.Format(time.RFC3339), TimeMax: day.Add(24 * time.Hour).Format(time.RFC3339),
		Items: []*calendar.FreeBusyRequestItem{{Id: cal}, {Id: "empty"}, {Id: "gone"}},
	}).Do()
	require.NoError(t, err)

	var got [][2]string
	for _, p := range res.Calendars[cal].Busy {
		got = append(got, [2]string{p.Start, p.End})
	}
	hour := func(h int) string { return day.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	require.Equal(t, [][2]string{{hour(0), hour(1)}, {hour(9), hour(11)}, {hour(14), hour(15)}}, got)
	require.Empty(t, res.Calendars["empty"].Busy)
	require.Empty(t, res.Calendars["empty"].Errors)
	require.Len(t, res.Calendars["gone"].Errors, 1)
	require.Equal(t, "notFound", res.Calendars["gone"].Errors[0].Reason)

	_, err = svc.Freebusy.Query(&calendar.FreeBusyRequest{
		TimeMin: day.Format(time.RFC3339), TimeMax: day.Format(time.RFC3339),
		Items: []*calendar.FreeBusyRequestItem{{Id: cal}},
	}).Do()
	requireAPIError(t, err, http.StatusBadRequest, "timeRangeEmpty")
	require.Equal(t, 2, srv.CallCount(googlefake.FreeBusy))
}

func TestRemovedCalendarIsNotFound(t *testing.T) {
	t.Parallel()
	srv, svc := open(t)
	srv.RemoveCalendar(cal)

	_, err := svc.Events.Insert(cal, event("appt00001", 9)).Do()
	requireAPIError(t, err, http.StatusNotFound, "notFound")
	_, err = svc.Events.List(cal).Do()
	requireAPIError(t, err, http.StatusNotFound, "notFound")
}
