package jobber_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	vsync "ringback/actors/sync"
	"ringback/fakes/jobberfake"
	"ringback/vendors/jobber"
)

const (
	appClientID     = "ringback-app"
	appClientSecret = "app-secret"
	refreshToken    = "rt-initial"
	zone            = "America/Chicago"
)

// refs is an in-memory sync.Refs.
type refs struct {
	mu sync.Mutex
	m  map[string]string
}

func newRefs() *refs { return &refs{m: map[string]string{}} }

func (r *refs) Get(_ context.Context, kind string) (string, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.m[kind]
	return id, ok, nil
}

func (r *refs) Put(_ context.Context, kind, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[kind] = id
	return nil
}

func (r *refs) get(kind string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[kind]
}

// setup starts a fake Jobber and a client connected to it through a rotating refresh
// token. Options adjust the client's Config.
func setup(t *testing.T, opts ...func(*jobber.Config)) (*jobberfake.Server, *jobber.Client) {
	t.Helper()
	fake := jobberfake.New(appClientID, appClientSecret)
	t.Cleanup(fake.Close)
	fake.OAuth().AddRefreshToken(refreshToken)
	oc := &oauth2.Config{
		ClientID: appClientID, ClientSecret: appClientSecret,
		Endpoint: oauth2.Endpoint{TokenURL: fake.URL() + "/api/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	cfg := jobber.Config{
		APIURL:      fake.URL() + "/api/graphql",
		TokenSource: oc.TokenSource(t.Context(), &oauth2.Token{RefreshToken: refreshToken}),
	}
	for _, o := range opts {
		o(&cfg)
	}
	return fake, jobber.New(cfg)
}

func appointment(t *testing.T) vsync.Appointment {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	require.NoError(t, err)
	start := time.Date(2026, 7, 2, 19, 0, 0, 0, loc) // the next day in UTC
	return vsync.Appointment{
		ID: uuid.New(), TenantID: "tenant-1", BusinessName: "Acme Plumbing", TimeZone: zone,
		ResourceName: "Dana", ServiceName: "Water heater repair",
		Start: start, End: start.Add(90 * time.Minute),
		CustomerPhone: "+15125550199", CustomerName: "Jane Q Doe", Quote: "$210.00",
	}
}

func job(a vsync.Action) vsync.Job {
	return vsync.Job{Seq: 1, TenantID: "tenant-1", ConnectionID: "conn-1", Provider: "jobber", Action: a}
}

// liveVisits returns the visits Jobber still schedules.
func liveVisits(fake *jobberfake.Server) []jobberfake.Visit {
	var out []jobberfake.Visit
	for _, v := range fake.Visits() {
		if v.Status != jobberfake.StatusDeleted {
			out = append(out, v)
		}
	}
	return out
}

// requireOneOfEach checks the fake holds exactly one client, job and visit, at appt's
// time, and that refs name them.
func requireOneOfEach(t *testing.T, fake *jobberfake.Server, r *refs, appt vsync.Appointment) {
	t.Helper()
	clients, jobs, visits := fake.Clients(), fake.Jobs(), fake.Visits()
	require.Len(t, clients, 1, "clients")
	require.Len(t, jobs, 1, "jobs")
	require.Len(t, visits, 1, "visits")
	require.Equal(t, clients[0].ID, r.get(jobber.RefClient))
	require.Equal(t, clients[0].PropertyIDs, []string{r.get(jobber.RefProperty)})
	require.Equal(t, jobs[0].ID, r.get(jobber.RefJob))
	require.Equal(t, visits[0].ID, r.get(jobber.RefVisit))
	require.Equal(t, jobs[0].ID, visits[0].JobID)
	require.True(t, visits[0].Start.Equal(appt.Start), "visit starts %s, want %s", visits[0].Start, appt.Start)
	require.True(t, visits[0].End.Equal(appt.End), "visit ends %s, want %s", visits[0].End, appt.End)
	require.Equal(t, jobberfake.StatusUpcoming, visits[0].Status)
}

func requireTransient(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	require.False(t, vsync.IsPermanent(err), "permanent: %v", err)
	require.NotErrorIs(t, err, vsync.ErrReconnect)
	_, delayed := vsync.RetryDelay(err)
	require.False(t, delayed, "retry delay on %v", err)
}

func TestBookingCreatesClientPropertyJobAndVisit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		accountZone string
		wantEdits   int // visitEditSchedule calls: jobCreate's times are read in the account's zone
	}{
		{"account in the business's zone", zone, 0},
		{"account in another zone", "UTC", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, client := setup(t)
			loc, err := time.LoadLocation(tc.accountZone)
			require.NoError(t, err)
			fake.SetTimeZone(loc)
			appt, r := appointment(t), newRefs()

			require.NoError(t, client.Sync(t.Context(), job(vsync.Create), appt, r))

			requireOneOfEach(t, fake, r, appt)
			c := fake.Clients()[0]
			require.Equal(t, "Jane", c.FirstName)
			require.Equal(t, "Q Doe", c.LastName)
			require.Equal(t, []string{"+15125550199"}, c.Phones)
			j := fake.Jobs()[0]
			require.Equal(t, "Water heater repair", j.Title)
			require.Contains(t, j.Instructions, "$210.00")
			require.Contains(t, j.Instructions, "Dana")
			require.False(t, j.Closed)
			require.Equal(t, tc.wantEdits, fake.Calls("visitEditSchedule"))
		})
	}
}

func TestRetryAfterAFailedJobCreateMakesOneJob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name           string
		fault          jobberfake.Fault
		timeout        time.Duration
		wantJobCreates int // 1 when the job was made and found again by its marker
	}{
		{"500 before the job was made", jobberfake.ServerError(), 0, 2},
		{"503 before the job was made", jobberfake.Unavailable(), 0, 2},
		{"500 after the job was made", jobberfake.Lost(), 0, 1},
		{"truncated answer", jobberfake.MalformedJSON(), 0, 1},
		{"answer slower than the timeout", jobberfake.Slow(time.Hour), 300 * time.Millisecond, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, client := setup(t, func(c *jobber.Config) { c.Timeout = tc.timeout })
			fake.FailNext("jobCreate", 1, tc.fault)
			appt, r := appointment(t), newRefs()

			err := client.Sync(t.Context(), job(vsync.Create), appt, r)
			requireTransient(t, err)
			require.NotEmpty(t, r.get(jobber.RefClient), "client ref stored before the failure")
			require.NotEmpty(t, r.get(jobber.RefProperty), "property ref stored before the failure")

			require.NoError(t, client.Sync(t.Context(), job(vsync.Create), appt, r))
			requireOneOfEach(t, fake, r, appt)
			require.Equal(t, 1, fake.Calls("clientCreate"))
			require.Equal(t, 1, fake.Calls("propertyCreate"))
			require.Equal(t, tc.wantJobCreates, fake.Calls("jobCreate"))
		})
	}
}

func TestSameJobTwiceMakesOneOfEach(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	appt, r := appointment(t), newRefs()

	require.NoError(t, client.Sync(t.Context(), job(vsync.Create), appt, r))
	require.NoError(t, client.Sync(t.Context(), job(vsync.Create), appt, r))

	requireOneOfEach(t, fake, r, appt)
	for _, op := range []string{"clientCreate", "propertyCreate", "jobCreate"} {
		require.Equal(t, 1, fake.Calls(op), op)
	}
}

func TestExistingClientIsReused(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	// A different number containing the same digits comes first in the search.
	fake.AddClient("Other", "Person", "+44 5125 550199")
	clientID, propertyID := fake.AddClient("Jane", "Doe", "(512) 555-0199")
	appt, r := appointment(t), newRefs()

	require.NoError(t, client.Sync(t.Context(), job(vsync.Create), appt, r))

	require.Len(t, fake.Clients(), 2)
	require.Equal(t, clientID, r.get(jobber.RefClient))
	require.Equal(t, propertyID, r.get(jobber.RefProperty))
	require.Equal(t, propertyID, fake.Jobs()[0].PropertyID)
	require.Zero(t, fake.Calls("clientCreate"))
	require.Zero(t, fake.Calls("propertyCreate"))
}

func TestRescheduleMovesTheVisit(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	appt, r := appointment(t), newRefs()
	require.NoError(t, client.Sync(t.Context(), job(vsync.Create), appt, r))

	appt.Start, appt.End = appt.Start.AddDate(0, 0, 2).Add(3*time.Hour), appt.End.AddDate(0, 0, 2).Add(4*time.Hour)
	require.NoError(t, client.Sync(t.Context(), job(vsync.Update), appt, r))

	requireOneOfEach(t, fake, r, appt)
	require.Equal(t, 1, fake.Calls("jobCreate"))
}

func TestRescheduleBeforeCreateCreates(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	appt, r := appointment(t), newRefs()

	require.NoError(t, client.Sync(t.Context(), job(vsync.Update), appt, r))

	requireOneOfEach(t, fake, r, appt)
}

func TestRescheduleOfAVisitDeletedInJobberIsPermanent(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	appt, r := appointment(t), newRefs()
	require.NoError(t, client.Sync(t.Context(), job(vsync.Create), appt, r))
	require.NoError(t, fake.DeleteVisit(r.get(jobber.RefVisit)))

	appt.Start, appt.End = appt.Start.Add(time.Hour), appt.End.Add(time.Hour)
	err := client.Sync(t.Context(), job(vsync.Update), appt, r)

	require.True(t, vsync.IsPermanent(err), "want permanent, got %v", err)
	require.ErrorContains(t, err, "Visit not found")
}

func TestCancel(t *testing.T) {
	t.Parallel()
	requireCancelled := func(t *testing.T, fake *jobberfake.Server, client *jobber.Client, r *refs) {
		t.Helper()
		jobs := fake.Jobs()
		require.Len(t, jobs, 1)
		require.True(t, jobs[0].Closed, "job closed")
		require.Equal(t, jobs[0].ID, r.get(jobber.RefJob))
		require.Empty(t, liveVisits(fake))
		_, _, cancelled, err := client.Visit(t.Context(), r.get(jobber.RefVisit))
		require.NoError(t, err)
		require.True(t, cancelled)
	}

	t.Run("delete closes the job and destroys its visit, twice", func(t *testing.T) {
		t.Parallel()
		fake, client := setup(t)
		appt, r := appointment(t), newRefs()
		require.NoError(t, client.Sync(t.Context(), job(vsync.Create), appt, r))

		require.NoError(t, client.Sync(t.Context(), job(vsync.Delete), appt, r))
		requireCancelled(t, fake, client, r)
		// A rerun (the first answer lost) finds Jobber refusing a closed job: still done.
		require.NoError(t, client.Sync(t.Context(), job(vsync.Delete), appt, r))
		requireCancelled(t, fake, client, r)
	})
	t.Run("an update of a cancelled appointment closes the job", func(t *testing.T) {
		t.Parallel()
		fake, client := setup(t)
		appt, r := appointment(t), newRefs()
		require.NoError(t, client.Sync(t.Context(), job(vsync.Create), appt, r))

		appt.Cancelled = true
		require.NoError(t, client.Sync(t.Context(), job(vsync.Update), appt, r))
		requireCancelled(t, fake, client, r)
	})
	t.Run("a cancelled appointment never created is not created", func(t *testing.T) {
		t.Parallel()
		fake, client := setup(t)
		appt, r := appointment(t), newRefs()
		appt.Cancelled = true

		require.NoError(t, client.Sync(t.Context(), job(vsync.Create), appt, r))
		require.NoError(t, client.Sync(t.Context(), job(vsync.Delete), appt, r))
		require.Empty(t, fake.Clients())
		require.Empty(t, fake.Jobs())
		require.Zero(t, fake.Calls("jobClose"))
	})
	t.Run("a job whose creation answer was lost is found and closed", func(t *testing.T) {
		t.Parallel()
		fake, client := setup(t)
		fake.FailNext("jobCreate", 1, jobberfake.Lost())
		appt, r := appointment(t), newRefs()
		requireTransient(t, client.Sync(t.Context(), job(vsync.Create), appt, r))
		require.Empty(t, r.get(jobber.RefJob))

		require.NoError(t, client.Sync(t.Context(), job(vsync.Delete), appt, r))
		requireCancelled(t, fake, client, r)
	})
}

func TestThrottledRetriesAfterTheBucketRefills(t *testing.T) {
	t.Parallel()
	t.Run("wait for the missing points", func(t *testing.T) {
		t.Parallel()
		fake, client := setup(t)
		fake.SetThrottle(0, 10)

		err := client.Sync(t.Context(), job(vsync.Create), appointment(t), newRefs())

		d, ok := vsync.RetryDelay(err)
		require.True(t, ok, "want RetryAfter, got %v", err)
		want := float64(jobberfake.Cost("clients")) / 10 // seconds for the first call's cost
		require.InDelta(t, want, d.Seconds(), 0.5, "delay %s", d)
		require.False(t, vsync.IsPermanent(err))
		require.Empty(t, fake.Clients())
	})
	t.Run("at least a second", func(t *testing.T) {
		t.Parallel()
		fake, client := setup(t)
		fake.SetThrottle(jobberfake.Cost("clients")-3, 10) // 0.3 s short

		err := client.Sync(t.Context(), job(vsync.Create), appointment(t), newRefs())

		d, ok := vsync.RetryDelay(err)
		require.True(t, ok, "want RetryAfter, got %v", err)
		require.Equal(t, time.Second, d)
	})
}

func TestRateLimited(t *testing.T) {
	t.Parallel()
	t.Run("with Retry-After", func(t *testing.T) {
		t.Parallel()
		fake, client := setup(t)
		fake.FailNext("", 1, jobberfake.RateLimited("7"))

		err := client.Sync(t.Context(), job(vsync.Create), appointment(t), newRefs())

		d, ok := vsync.RetryDelay(err)
		require.True(t, ok, "want RetryAfter, got %v", err)
		require.Equal(t, 7*time.Second, d)
		require.False(t, vsync.IsPermanent(err))
	})
	t.Run("without", func(t *testing.T) {
		t.Parallel()
		fake, client := setup(t)
		fake.FailNext("", 1, jobberfake.RateLimited(""))

		requireTransient(t, client.Sync(t.Context(), job(vsync.Create), appointment(t), newRefs()))
	})
}

func TestUserErrorsArePermanent(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	fake.FailNext("clientCreate", 1, jobberfake.Rejected("Phone number is invalid", "Email is taken"))
	r := newRefs()

	err := client.Sync(t.Context(), job(vsync.Create), appointment(t), r)

	require.True(t, vsync.IsPermanent(err), "want permanent, got %v", err)
	require.ErrorContains(t, err, "Phone number is invalid; Email is taken")
	require.Empty(t, fake.Clients())
	require.Empty(t, r.get(jobber.RefClient))
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		sabotage  func(*jobberfake.Server)
		reconnect bool
	}{
		{"refresh token revoked", func(f *jobberfake.Server) { f.OAuth().Revoke(refreshToken) }, true},
		{"app disconnected by the user", func(f *jobberfake.Server) { f.FailAlways("", jobberfake.Disconnected()) }, true},
		{"token endpoint down", func(f *jobberfake.Server) { f.OAuth().FailNext(1) }, false},
		{"access token refused", func(f *jobberfake.Server) { f.FailNext("", 1, jobberfake.Fault{Status: 401}) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake, client := setup(t)
			tc.sabotage(fake)

			err := client.Sync(t.Context(), job(vsync.Create), appointment(t), newRefs())

			if tc.reconnect {
				require.ErrorIs(t, err, vsync.ErrReconnect)
				require.False(t, vsync.IsPermanent(err))
			} else {
				requireTransient(t, err)
			}
			require.Empty(t, fake.Clients())
		})
	}
}

func TestAccountAndVisitReconciliation(t *testing.T) {
	t.Parallel()
	fake, client := setup(t)
	id, err := client.AccountID(t.Context())
	require.NoError(t, err)
	require.Equal(t, fake.AccountID(), id)

	appt, r := appointment(t), newRefs()
	require.NoError(t, client.Sync(t.Context(), job(vsync.Create), appt, r))
	visitID := r.get(jobber.RefVisit)

	start, end, cancelled, err := client.Visit(t.Context(), visitID)
	require.NoError(t, err)
	require.False(t, cancelled)
	require.True(t, start.Equal(appt.Start) && end.Equal(appt.End), "visit %s–%s, want %s–%s", start, end, appt.Start, appt.End)

	moved := appt.Start.Add(26 * time.Hour)
	require.NoError(t, fake.MoveVisit(visitID, moved, moved.Add(time.Hour)))
	start, end, cancelled, err = client.Visit(t.Context(), visitID)
	require.NoError(t, err)
	require.False(t, cancelled)
	require.True(t, start.Equal(moved) && end.Equal(moved.Add(time.Hour)), "visit %s–%s after the move", start, end)

	require.NoError(t, fake.DeleteVisit(visitID))
	_, _, cancelled, err = client.Visit(t.Context(), visitID)
	require.NoError(t, err)
	require.True(t, cancelled)
}

func TestInvalidAppointmentsArePermanent(t *testing.T) {
	t.Parallel()
	_, client := setup(t)
	for name, change := range map[string]func(*vsync.Appointment){
		"no time zone":      func(a *vsync.Appointment) { a.TimeZone = "" },
		"unknown time zone": func(a *vsync.Appointment) { a.TimeZone = "Mars/Olympus" },
		"ends before start": func(a *vsync.Appointment) { a.End = a.Start.Add(-time.Minute) },
		"bad phone":         func(a *vsync.Appointment) { a.CustomerPhone = "call me" },
	} {
		appt := appointment(t)
		change(&appt)
		err := client.Sync(t.Context(), job(vsync.Create), appt, newRefs())
		require.True(t, vsync.IsPermanent(err), "%s: want permanent, got %v", name, err)
	}
	err := client.Sync(t.Context(), job("archive"), appointment(t), newRefs())
	require.True(t, vsync.IsPermanent(err), "unknown action: want permanent, got %v", err)
	require.ErrorContains(t, err, "archive")
}
