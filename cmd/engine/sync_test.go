package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	vsync "ringback/actors/sync"
	"ringback/clock"
	"ringback/fakes/googlefake"
	"ringback/fakes/jobberfake"
	"ringback/fakes/oauthfake"
	"ringback/persistence"
	"ringback/persistence/pgtest"
	"ringback/secrets"
	"ringback/vendors/google"
)

const (
	googleClientID, googleClientSecret = "ringback-google", "google-app-secret"
	jobberClientID, jobberClientSecret = "ringback-jobber", "jobber-app-secret"
	mikeCalendar                       = "mike@acme.example"
)

// syncedPlumber is the plumber with Mike's calendar in Google and every appointment in
// Jobber.
const syncedPlumber = plumber + `
connections:
  - id: acme-google
    provider: google
    credentials: { refresh_token: "rt-google" }
  - id: acme-jobber
    provider: jobber
    credentials: { refresh_token: "rt-jobber" }
`

// syncWorld is an engine whose vendors are the fake Google and Jobber.
type syncWorld struct {
	*testEngine
	tt     *testing.T
	google *googlefake.Server
	jobber *jobberfake.Server
	cfg    Config
	box    *secrets.Box
}

func withCalendar(yaml string) string {
	// Mike's resource gains `calendar:` right after his name.
	const anchor = "  - id: mike\n    name: Mike\n"
	i := len(anchor)
	for j := 0; j+len(anchor) <= len(yaml); j++ {
		if yaml[j:j+len(anchor)] == anchor {
			return yaml[:j+i] + "    calendar: { connection: acme-google, calendar_id: \"" + mikeCalendar + "\" }\n" + yaml[j+i:]
		}
	}
	panic("no mike")
}

// vendorFakes starts the fake Google and Jobber, with the refresh tokens syncedPlumber
// names, and returns them with a hook pointing an engine's Config at them.
func vendorFakes(t *testing.T) (*googlefake.Server, *jobberfake.Server, func(*Config)) {
	t.Helper()
	gauth := oauthfake.New(googleClientID, googleClientSecret, false)
	gauth.AddRefreshToken("rt-google")
	g := googlefake.New(gauth)
	t.Cleanup(g.Close)
	j := jobberfake.New(jobberClientID, jobberClientSecret)
	j.OAuth().AddRefreshToken("rt-jobber")
	t.Cleanup(j.Close)
	return g, j, func(cfg *Config) {
		cfg.GoogleCalendarURL, cfg.GoogleTokenURL = g.Endpoint(), g.TokenURL()
		cfg.GoogleClientID, cfg.GoogleClientSecret = googleClientID, googleClientSecret
		cfg.JobberAPIURL, cfg.JobberTokenURL = j.URL()+"/api/graphql", j.URL()+"/api/oauth/token"
		cfg.JobberClientID, cfg.JobberClientSecret = jobberClientID, jobberClientSecret
	}
}

func newSyncWorld(t *testing.T, hooks ...func(*Config)) *syncWorld {
	t.Helper()
	g, j, useFakes := vendorFakes(t)
	cfg := Config{AdminToken: adminToken, PublicURL: "http://ringback.test"}
	useFakes(&cfg)
	for _, h := range hooks {
		h(&cfg)
	}
	w := &syncWorld{tt: t, google: g, jobber: j, cfg: cfg, box: testBox(t)}
	w.testEngine = w.start(pgtest.Pool(t), clock.NewFake(monday0600))
	w.apply(withCalendar(syncedPlumber))
	w.readCalendars()
	w.settle() // the connections have opened (Jobber's account id is known: its webhooks route)
	return w
}

// start runs an engine (another process, when w already has one) on pool.
func (w *syncWorld) start(pool *pgxpool.Pool, clk *clock.Fake) *testEngine {
	t := w.tt
	t.Helper()
	eng, err := assemble(w.cfg, pool, w.box, quietLog(), clk)
	require.NoError(t, err)
	t.Cleanup(eng.stop)
	require.NoError(t, eng.recover(context.Background()))
	return &testEngine{t: t, eng: eng, srv: newServer(t, eng.handler), pool: pool, clock: clk}
}

// readCalendars imports Google busy time now, through the admin API.
func (w *syncWorld) readCalendars() response {
	w.tt.Helper()
	return w.do(http.MethodPost, "/admin/v1/tenants/acme/connections/acme-google/read-calendars", adminToken, nil)
}

// settle waits until the sync actors have worked every due job.
func (w *syncWorld) settle() {
	w.tt.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(w.tt, w.eng.sync.Settle(ctx))
}

// book holds and confirms start on Mike's calendar and returns the appointment id.
func (w *syncWorld) book(start time.Time, phone string) uuid.UUID {
	w.tt.Helper()
	r := w.hold("acme", "mike", start, phone)
	require.Equal(w.tt, http.StatusCreated, r.status, "%s", r.body)
	r = w.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+r.json(w.tt)["id"].(string)+"/confirm", bookingKey, nil)
	require.Equal(w.tt, http.StatusCreated, r.status, "%s", r.body)
	return uuid.MustParse(r.json(w.tt)["appointment"].(map[string]any)["id"].(string))
}

// syncStates maps each connection to the state of an appointment's newest sync job.
func (w *syncWorld) syncStates(id uuid.UUID) map[string]string {
	w.tt.Helper()
	rows, err := w.pool.Query(context.Background(), `SELECT DISTINCT ON (connection_id) connection_id, state
		FROM fulfillment.sync_jobs WHERE appointment_id = $1 ORDER BY connection_id, seq DESC`, id)
	require.NoError(w.tt, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, s string
		require.NoError(w.tt, rows.Scan(&c, &s))
		out[c] = s
	}
	return out
}

func (w *syncWorld) liveVisits() []jobberfake.Visit {
	var out []jobberfake.Visit
	for _, v := range w.jobber.Visits() {
		if v.Status != jobberfake.StatusDeleted {
			out = append(out, v)
		}
	}
	return out
}

func TestBookingReachesGoogleAndJobberOnce(t *testing.T) {
	t.Parallel()
	w := newSyncWorld(t)
	id := w.book(at("09:00"), "+15125550111")
	w.settle()

	ev, ok := w.google.Event(mikeCalendar, google.EventID(id))
	require.True(t, ok, "the event has the appointment's deterministic id")
	require.Equal(t, at("09:00").UTC().Format(time.RFC3339), mustRFC3339(t, ev.Start.DateTime))
	require.Equal(t, 1, w.google.EventCount(mikeCalendar))
	require.Len(t, w.jobber.Clients(), 1)
	require.Len(t, w.jobber.Jobs(), 1)
	visits := w.liveVisits()
	require.Len(t, visits, 1)
	require.True(t, visits[0].Start.Equal(at("09:00")))
	require.Equal(t, map[string]string{"acme-google": "done", "acme-jobber": "done"}, w.syncStates(id))

	// The admin view shows it, and the counters agree.
	r := w.do(http.MethodGet, "/admin/v1/tenants/acme/appointments?from="+at("00:00").Format(time.RFC3339), adminToken, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), `"state":"done"`)
	require.Equal(t, 1.0, testutil.ToFloat64(w.eng.metrics.SyncJobs.WithLabelValues("google", "ok")))
	require.Equal(t, 1.0, testutil.ToFloat64(w.eng.metrics.SyncJobs.WithLabelValues("jobber", "ok")))

	// Reschedule and cancel reach both.
	r = w.do(http.MethodPost, "/api/v1/tenants/acme/appointments/"+id.String()+"/reschedule", bookingKey,
		map[string]string{"starts_at": at("14:00").Format(time.RFC3339)})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	w.settle()
	ev, _ = w.google.Event(mikeCalendar, google.EventID(id))
	require.Equal(t, at("14:00").UTC().Format(time.RFC3339), mustRFC3339(t, ev.Start.DateTime))
	require.True(t, w.liveVisits()[0].Start.Equal(at("14:00")))

	r = w.do(http.MethodPost, "/api/v1/tenants/acme/appointments/"+id.String()+"/cancel", bookingKey, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	w.settle()
	ev, _ = w.google.Event(mikeCalendar, google.EventID(id))
	require.Equal(t, "cancelled", ev.Status)
	require.True(t, w.jobber.Jobs()[0].Closed)
	require.Len(t, w.jobber.Jobs(), 1, "nothing was created twice")
	require.Equal(t, 1, w.google.InsertCalls())
}

func utc(hhmm string) string { return at(hhmm).UTC().Format(time.RFC3339) }

func mustRFC3339(t *testing.T, s string) string {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return ts.UTC().Format(time.RFC3339)
}

func TestSyncRetriesAfterAVendorErrorWithoutDuplicating(t *testing.T) {
	t.Parallel()
	w := newSyncWorld(t)
	w.google.FailNext(1, googlefake.ServerError())
	w.jobber.FailNext("jobCreate", 1, jobberfake.Lost()) // Jobber makes the job, the answer is lost
	id := w.book(at("09:00"), "+15125550111")
	w.settle()
	require.Equal(t, map[string]string{"acme-google": "pending", "acme-jobber": "pending"}, w.syncStates(id),
		"both wait to retry")

	w.clock.Advance(vsync.DefaultBackoff.Max)
	w.settle()
	require.Equal(t, map[string]string{"acme-google": "done", "acme-jobber": "done"}, w.syncStates(id))
	require.Equal(t, 1, w.google.EventCount(mikeCalendar))
	require.Len(t, w.jobber.Jobs(), 1, "the lost jobCreate is found again, not repeated")
	require.Len(t, w.liveVisits(), 1)
	require.Equal(t, 1.0, testutil.ToFloat64(w.eng.metrics.SyncJobs.WithLabelValues("google", "retry")))
}

func TestGoogleDownBookingsGoOnAndSyncCatchesUp(t *testing.T) {
	t.Parallel()
	w := newSyncWorld(t)
	w.google.FailAlways(googlefake.Unavailable())
	var ids []uuid.UUID
	for i, start := range []string{"08:00", "09:30", "13:00", "14:30"} {
		ids = append(ids, w.book(at(start), "+1512555012"+string(rune('0'+i))))
	}
	// Several rounds of failures, minutes apart: bookings were never slowed (they do not
	// wait on vendors), and the jobs keep waiting.
	for range 3 {
		w.settle()
		w.clock.Advance(vsync.DefaultBackoff.Max)
	}
	w.settle()
	for _, id := range ids {
		require.Equal(t, "pending", w.syncStates(id)["acme-google"])
		require.Equal(t, "done", w.syncStates(id)["acme-jobber"], "Jobber is not held up by Google")
	}
	require.Zero(t, w.google.EventCount(mikeCalendar))
	require.NoError(t, w.eng.sync.UpdateBacklog(context.Background()))
	require.Equal(t, float64(len(ids)), testutil.ToFloat64(w.eng.metrics.SyncBacklog.WithLabelValues("google")))
	require.Zero(t, testutil.ToFloat64(w.eng.metrics.SyncBacklog.WithLabelValues("jobber")))
	require.Positive(t, testutil.ToFloat64(w.eng.metrics.SyncBacklogAge.WithLabelValues("google")))
	require.Zero(t, testutil.ToFloat64(w.eng.metrics.SyncBacklogAge.WithLabelValues("jobber")))
	require.Equal(t, 1.0, testutil.ToFloat64(w.eng.metrics.SyncConnections.WithLabelValues("google", "active")))

	w.google.Heal()
	w.clock.Advance(vsync.DefaultBackoff.Max)
	w.settle()
	for _, id := range ids {
		require.Equal(t, "done", w.syncStates(id)["acme-google"])
		_, ok := w.google.Event(mikeCalendar, google.EventID(id))
		require.True(t, ok)
	}
	require.Equal(t, len(ids), w.google.EventCount(mikeCalendar))
}

func TestBusyTimeInGoogleRemovesSlotsAndStaleCalendarsWithholdThem(t *testing.T) {
	t.Parallel()
	w := newSyncWorld(t)
	slots := func() []string {
		r := w.do(http.MethodGet, "/api/v1/tenants/acme/availability?service=drain&resource=mike&from="+
			at("08:00").Format(time.RFC3339)+"&to="+at("12:00").Format(time.RFC3339), bookingKey, nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var out []string
		for _, s := range r.json(t)["slots"].([]any) {
			out = append(out, s.(map[string]any)["starts_at"].(string))
		}
		return out
	}
	require.Contains(t, slots(), utc("09:00"))

	w.google.AddBusy(mikeCalendar, at("08:30"), at("10:30"))
	require.Equal(t, http.StatusOK, w.readCalendars().status)
	got := slots()
	for _, s := range []string{"08:00", "08:30", "09:00", "09:30", "10:00"} {
		require.NotContains(t, got, utc(s), "overlaps the busy block")
	}
	require.Contains(t, got, utc("10:30"))
	require.Equal(t, http.StatusConflict, w.hold("acme", "mike", at("09:00"), "+15125550111").status)

	// Google cannot be read for longer than calendar_stale_after: Mike's slots are
	// withheld rather than risk a double booking, and the admin API says why.
	w.google.FailAlways(googlefake.Unavailable())
	require.Equal(t, http.StatusBadGateway, w.readCalendars().status)
	w.clock.Advance(16 * time.Minute)
	require.Empty(t, slots())
	r := w.do(http.MethodGet, "/admin/v1/tenants/acme/connections", adminToken, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Contains(t, string(r.body), `"last_error":`)
	require.Equal(t, http.StatusConflict, w.hold("acme", "mike", at("13:00"), "+15125550111").status)

	w.google.Heal()
	require.Equal(t, http.StatusOK, w.readCalendars().status)
	require.NotEmpty(t, slots(), "fresh again")
}

// panicOnce makes a provider's first Sync panic.
type panicOnce struct {
	vsync.Provider
	panicked chan struct{}
}

func (p *panicOnce) Sync(ctx context.Context, j vsync.Job, a vsync.Appointment, r vsync.Refs) error {
	select {
	case <-p.panicked:
	default:
		close(p.panicked)
		panic("jobber client bug")
	}
	return p.Provider.Sync(ctx, j, a, r)
}

func TestAPanickingJobberChildRestartsAndGoogleIsUntouched(t *testing.T) {
	t.Parallel()
	restarted := make(chan string, 4)
	bomb := &panicOnce{panicked: make(chan struct{})}
	w := newSyncWorld(t, func(c *Config) {
		c.wrapProvider = func(conn vsync.Connection, p vsync.Provider) vsync.Provider {
			if conn.Provider == "jobber" {
				bomb.Provider = p
				return bomb
			}
			return p
		}
		c.onSyncRestart = func(conn string, _ time.Duration) { restarted <- conn }
	})
	before, err := w.eng.sync.Running(context.Background())
	require.NoError(t, err)

	id := w.book(at("09:00"), "+15125550111")
	require.Equal(t, "acme/acme-jobber", <-restarted)
	w.clock.Advance(vsync.DefaultBackoff.Max) // the restart's backoff
	w.settle()

	require.Equal(t, map[string]string{"acme-google": "done", "acme-jobber": "done"}, w.syncStates(id))
	require.Len(t, w.jobber.Jobs(), 1)
	require.Equal(t, 1, w.google.EventCount(mikeCalendar))
	require.Equal(t, 1.0, testutil.ToFloat64(w.eng.metrics.ActorRestarts.WithLabelValues("sync")))
	after, err := w.eng.sync.Running(context.Background())
	require.NoError(t, err)
	require.Equal(t, before, after, "both children still run; only Jobber's restarted")
}

func TestInvalidGrantParksOnlyThatConnection(t *testing.T) {
	t.Parallel()
	w := newSyncWorld(t)
	for _, tok := range w.jobber.OAuth().ValidRefreshTokens() {
		w.jobber.OAuth().Revoke(tok)
	}
	w.jobber.OAuth().ExpireAccessTokens()

	id := w.book(at("09:00"), "+15125550111")
	w.settle()
	require.Equal(t, "done", w.syncStates(id)["acme-google"])
	require.Equal(t, "pending", w.syncStates(id)["acme-jobber"], "kept for when the account is reconnected")

	r := w.do(http.MethodGet, "/admin/v1/tenants/acme/connections", adminToken, nil)
	require.Equal(t, http.StatusOK, r.status)
	conns := map[string]map[string]any{}
	for _, c := range r.json(t)["connections"].([]any) {
		conns[c.(map[string]any)["id"].(string)] = c.(map[string]any)
	}
	require.Equal(t, "reconnect_needed", conns["acme-jobber"]["state"])
	require.Equal(t, "active", conns["acme-google"]["state"])
	require.EqualValues(t, 1, conns["acme-jobber"]["pending_jobs"])
	require.NoError(t, w.eng.sync.UpdateBacklog(context.Background()))
	require.Equal(t, 1.0, testutil.ToFloat64(w.eng.metrics.SyncConnections.WithLabelValues("jobber", "reconnect_needed")))
	require.Zero(t, testutil.ToFloat64(w.eng.metrics.SyncConnections.WithLabelValues("jobber", "active")))

	// Reconnecting (new credentials) resumes it and the backlog drains.
	w.jobber.OAuth().AddRefreshToken("rt-jobber-2")
	w.apply(withCalendar(syncedPlumber[:len(syncedPlumber)-len("{ refresh_token: \"rt-jobber\" }\n")] + "{ refresh_token: \"rt-jobber-2\" }\n"))
	w.settle()
	require.Equal(t, "done", w.syncStates(id)["acme-jobber"])
	require.Len(t, w.jobber.Jobs(), 1)
}

func TestRotatedJobberTokenIsStoredAndPendingJobsSurviveACrash(t *testing.T) {
	t.Parallel()
	w := newSyncWorld(t)
	w.google.FailAlways(googlefake.Unavailable())
	w.jobber.FailAlways("clientCreate", jobberfake.Unavailable())
	ids := []uuid.UUID{w.book(at("08:00"), "+15125550111"), w.book(at("13:00"), "+15125550112")}
	w.settle()

	// The process dies with every job pending but one, which was at the vendor (its
	// claim outlives the process); the vendors recover; a new process finishes the work
	// at once, exactly once per appointment and provider.
	w.eng.stop()
	_, err := w.pool.Exec(context.Background(), `UPDATE fulfillment.sync_jobs SET state = 'running', claimed_until = $1
		WHERE seq = (SELECT min(seq) FROM fulfillment.sync_jobs)`, w.clock.Now().Add(24*time.Hour))
	require.NoError(t, err)
	w.google.Heal()
	w.jobber.Heal()
	e2 := w.start(w.pool, clock.NewFake(w.clock.Now().Add(vsync.DefaultBackoff.Max)))
	w.testEngine = e2
	w.settle()
	for _, id := range ids {
		require.Equal(t, map[string]string{"acme-google": "done", "acme-jobber": "done"}, w.syncStates(id))
	}
	require.Equal(t, 2, w.google.EventCount(mikeCalendar))
	require.Len(t, w.jobber.Jobs(), 2)

	// Jobber rotated the refresh token; the stored one is the one that works now.
	valid := w.jobber.OAuth().ValidRefreshTokens()
	require.Len(t, valid, 1)
	require.NotEqual(t, "rt-jobber", valid[0])
	creds, err := persistence.NewTenants(w.pool, w.box).ConnectionCredentials(context.Background(), "acme", "acme-jobber")
	require.NoError(t, err)
	require.Equal(t, valid[0], creds["refresh_token"])
}

func TestJobberWebhooksReconcileVisitsChangedThere(t *testing.T) {
	t.Parallel()
	w := newSyncWorld(t)
	id := w.book(at("09:00"), "+15125550111")
	w.settle()
	visit := w.liveVisits()[0]

	send := func(body []byte, sig string) response {
		return w.do(http.MethodPost, "/webhooks/jobber", "", body, "X-Jobber-Hmac-SHA256: "+sig)
	}
	// Forged: 403, nothing stored.
	body := w.jobber.WebhookPayload("VISIT_UPDATE", visit.ID, at("09:05"))
	require.Equal(t, http.StatusForbidden, send(body, jobberfake.SignWebhook("wrong-secret", body)).status)
	require.Zero(t, w.count(`SELECT count(*) FROM fulfillment.vendor_webhooks`))
	// Signed but unstorable (jsonb refuses \u0000): 400, not a 503 retried forever.
	nul := []byte(strings.Replace(string(body), visit.ID, visit.ID+`\u0000`, 1))
	require.Equal(t, http.StatusBadRequest, send(nul, jobberfake.SignWebhook(jobberClientSecret, nul)).status)
	require.Zero(t, w.count(`SELECT count(*) FROM fulfillment.vendor_webhooks`))

	// Moved to 13:00 in Jobber: our appointment follows; a redelivery changes nothing.
	require.NoError(t, w.jobber.MoveVisit(visit.ID, at("13:00"), at("14:30")))
	r := send(body, jobberfake.SignWebhook(jobberClientSecret, body))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	w.settle()
	require.Equal(t, "duplicate", send(body, jobberfake.SignWebhook(jobberClientSecret, body)).json(t)["status"])
	var start time.Time
	require.NoError(t, w.pool.QueryRow(context.Background(), `SELECT c.starts_at FROM fulfillment.appointments a
		JOIN fulfillment.claims c ON c.id = a.claim_id WHERE a.id = $1`, id).Scan(&start))
	require.True(t, start.Equal(at("13:00")), "rescheduled to %s", start)
	w.settle()
	ev, _ := w.google.Event(mikeCalendar, google.EventID(id))
	require.Equal(t, at("13:00").UTC().Format(time.RFC3339), mustRFC3339(t, ev.Start.DateTime), "and Google hears of it")

	// Deleted in Jobber: cancelled here.
	require.NoError(t, w.jobber.DeleteVisit(visit.ID))
	body = w.jobber.WebhookPayload("VISIT_DESTROY", visit.ID, at("09:10"))
	require.Equal(t, http.StatusOK, send(body, jobberfake.SignWebhook(jobberClientSecret, body)).status)
	w.settle()
	var status string
	require.NoError(t, w.pool.QueryRow(context.Background(), `SELECT status FROM fulfillment.appointments WHERE id = $1`, id).Scan(&status))
	require.Equal(t, "cancelled", status)
	require.Zero(t, w.count(`SELECT count(*) FROM fulfillment.vendor_webhooks WHERE processed_at IS NULL`))
}

func (e *testEngine) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func TestSandboxVendorsSyncWithoutOAuthApps(t *testing.T) {
	t.Parallel()
	cfg := Config{AdminToken: adminToken, PublicURL: "http://ringback.test"}
	defer startSandboxVendors(&cfg, quietLog())()
	require.Equal(t, sandboxClientID, cfg.GoogleClientID)
	e := &testEngine{t: t, pool: pgtest.Pool(t), clock: clock.NewFake(monday0600)}
	eng, err := assemble(cfg, e.pool, testBox(t), quietLog(), e.clock)
	require.NoError(t, err)
	t.Cleanup(eng.stop)
	e.eng, e.srv = eng, newServer(t, eng.handler)
	e.apply(withCalendar(syncedPlumber))

	// Made-up refresh tokens work against the sandbox; Mike's calendar is read, so he
	// offers slots, and a booking reaches both fakes.
	r := e.do(http.MethodPost, "/admin/v1/tenants/acme/connections/acme-google/read-calendars", adminToken, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	h := e.hold("acme", "mike", at("09:00"), "+15125550111")
	require.Equal(t, http.StatusCreated, h.status, "%s", h.body)
	r = e.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+h.json(t)["id"].(string)+"/confirm", bookingKey, nil)
	require.Equal(t, http.StatusCreated, r.status)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, eng.sync.Settle(ctx))
	require.Equal(t, 2, e.count(`SELECT count(*) FROM fulfillment.sync_jobs WHERE state = 'done'`))
}

// TestTheSweepWakesAConnectionThatMissedItsKick: a job is queued and its kick is lost
// (in a cluster, sent to an engine as it died). The worker sleeps with nothing armed; the
// sweep finds the job claimable for longer than it should be and kicks the connection.
func TestTheSweepWakesAConnectionThatMissedItsKick(t *testing.T) {
	t.Parallel()
	w := newSyncWorld(t)
	id := w.book(at("09:00"), "+15125550111")
	w.settle()
	calls := len(w.google.Calls())

	// An update queued without its kick.
	_, err := w.pool.Exec(context.Background(), `INSERT INTO fulfillment.sync_jobs (tenant_id, connection_id, provider, appointment_id, action, run_after)
		VALUES ('acme', 'acme-google', 'google', $1, 'update', now() - interval '2 minutes')`, id)
	require.NoError(t, err)
	fresh, err := w.eng.syncStore.Stalled(context.Background(), time.Now().Add(-5*time.Minute))
	require.NoError(t, err)
	require.Empty(t, fresh, "a job due two minutes ago is not stalled by a five-minute measure")

	require.NoError(t, w.eng.kickStalledSync(context.Background(), time.Now().Add(-time.Minute)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = w.google.WaitForCalls(ctx, calls+1)
	require.NoError(t, err, "the kicked worker syncs the update")
	w.settle()
	require.Equal(t, map[string]string{"acme-google": "done", "acme-jobber": "done"}, w.syncStates(id))
}

// TestTwoEnginesRefreshingOneJobberAccountNeverStrandIt: for a moment two engines run a
// connection's worker (its actor is moving), and both need a new access token. Jobber
// rotates refresh tokens and refuses a spent one; each engine's token source refreshes
// with the token stored last, under the connection's row lock, so the second refreshes
// with what the first stored instead of the token it started with.
func TestTwoEnginesRefreshingOneJobberAccountNeverStrandIt(t *testing.T) {
	t.Parallel()
	w := newSyncWorld(t)
	tenants := persistence.NewTenants(w.pool, w.box)
	conn := vsync.Connection{TenantID: "acme", ID: "acme-jobber", Provider: "jobber"}
	tokenURL := w.jobber.URL() + "/api/oauth/token"
	hc := &http.Client{Timeout: 10 * time.Second}
	a, err := tokenSource(tenants, hc, conn, jobberClientID, jobberClientSecret, tokenURL)
	require.NoError(t, err)
	b, err := tokenSource(tenants, hc, conn, jobberClientID, jobberClientSecret, tokenURL)
	require.NoError(t, err)

	for round := range 3 {
		w.jobber.OAuth().ExpireAccessTokens()
		_, err := a.Token()
		require.NoError(t, err, "round %d, engine a", round)
		_, err = b.Token() // b still holds the refresh token it was made with
		require.NoError(t, err, "round %d, engine b", round)
	}
	valid := w.jobber.OAuth().ValidRefreshTokens()
	require.Len(t, valid, 1)
	creds, err := tenants.ConnectionCredentials(context.Background(), "acme", "acme-jobber")
	require.NoError(t, err)
	require.Equal(t, valid[0], creds["refresh_token"], "the token Jobber honours is the one stored")
}
