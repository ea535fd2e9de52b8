package persistence_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	vsync "ringback/actors/sync"
	"ringback/persistence"
	"ringback/persistence/pgtest"
)

func TestClaimedJobsRunInOrderPerAppointment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	store := persistence.NewSync(pool)
	now := time.Date(2030, 1, 7, 12, 0, 0, 0, time.UTC)
	lease := now.Add(time.Minute)
	a, b := uuid.New(), uuid.New()
	job := func(appt uuid.UUID, action string, runAfter time.Time) int64 {
		var seq int64
		require.NoError(t, pool.QueryRow(ctx, `INSERT INTO fulfillment.sync_jobs (tenant_id, connection_id, provider, appointment_id, action, run_after)
			VALUES ('acme', 'g', 'google', $1, $2, $3) RETURNING seq`, appt, action, runAfter).Scan(&seq))
		return seq
	}
	aCreate := job(a, "create", now.Add(time.Minute)) // waiting to retry
	aUpdate := job(a, "update", now)                  // due, but behind a's create
	bCreate := job(b, "create", now)
	job(uuid.New(), "create", now.Add(time.Hour))

	next, ok, err := store.NextDue(ctx, "acme", "g")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(now), "b's create is due now")

	due, err := store.ClaimJobs(ctx, "acme", "g", []uuid.UUID{b}, now, lease, 10)
	require.NoError(t, err)
	require.Empty(t, due, "b's job is skipped while b is still in flight at the claimant")
	due, err = store.ClaimJobs(ctx, "acme", "g", nil, now, lease, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "a's update must wait for a's create")
	require.Equal(t, bCreate, due[0].Seq)
	require.Equal(t, vsync.Create, due[0].Action)
	claimedB := due[0]

	next, ok, err = store.NextDue(ctx, "acme", "g")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(now.Add(time.Minute)), "a's update, due, waits behind a's create: %v", next)

	again, err := store.ClaimJobs(ctx, "acme", "g", nil, now, lease, 10)
	require.NoError(t, err)
	require.Empty(t, again, "a claimed job is nobody else's while its claim lasts")

	// a's create comes due; the claim on b's create runs out (its engine died) and
	// another worker takes it over: the first claimant can no longer record anything.
	later := now.Add(time.Minute)
	due, err = store.ClaimJobs(ctx, "acme", "g", nil, later, later.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []int64{aCreate, bCreate}, seqs(due))
	require.ErrorIs(t, store.JobDone(ctx, claimedB, later), vsync.ErrClaimLost)
	require.NoError(t, store.JobRetry(ctx, due[0], "google 503", later, later))
	require.NoError(t, store.JobDone(ctx, due[1], later))
	require.ErrorIs(t, store.JobDone(ctx, due[1], later), vsync.ErrClaimLost, "an outcome is recorded once")

	due, err = store.ClaimJobs(ctx, "acme", "g", nil, later, later.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []int64{aCreate}, seqs(due), "a's create is due again, still ahead of its update")
	require.Equal(t, 1, due[0].Attempts)

	require.NoError(t, store.JobFailed(ctx, due[0], "400 bad request", later))
	due, err = store.ClaimJobs(ctx, "acme", "g", nil, later, later.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []int64{aUpdate}, seqs(due), "a failed job no longer blocks the queue")

	backlog, err := store.Backlog(ctx)
	require.NoError(t, err)
	require.Len(t, backlog, 1)
	require.Equal(t, 2, backlog["google"].Pending, "a's claimed update and the job due in an hour")

	n, err := store.ReleaseClaims(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	due, err = store.ClaimJobs(ctx, "acme", "g", nil, later, later.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Equal(t, []int64{aUpdate}, seqs(due), "a released claim is claimable at once")
}

// Engines claiming one connection's jobs at the same moment never share a job.
func TestConcurrentClaimsNeverShareAJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	store := persistence.NewSync(pool)
	now := time.Date(2030, 1, 7, 12, 0, 0, 0, time.UTC)
	const jobs = 200
	_, err := pool.Exec(ctx, `INSERT INTO fulfillment.sync_jobs (tenant_id, connection_id, provider, appointment_id, action, run_after)
		SELECT 'acme', 'g', 'google', gen_random_uuid(), 'create', $1 FROM generate_series(1, $2)`, now, jobs)
	require.NoError(t, err)

	const claimers = 8
	got := make([][]vsync.Job, claimers)
	var wg sync.WaitGroup
	for i := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				js, err := store.ClaimJobs(ctx, "acme", "g", nil, now, now.Add(time.Minute), 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(js) == 0 {
					return
				}
				got[i] = append(got[i], js...)
			}
		}()
	}
	wg.Wait()
	seen := map[int64]int{}
	for i, js := range got {
		for _, j := range js {
			if prev, ok := seen[j.Seq]; ok {
				t.Fatalf("job %d claimed by claimer %d and %d", j.Seq, prev, i)
			}
			seen[j.Seq] = i
		}
	}
	require.Len(t, seen, jobs, "every job is claimed once")
}

func seqs(js []vsync.Job) []int64 {
	out := make([]int64, len(js))
	for i, j := range js {
		out[i] = j.Seq
	}
	return out
}

func TestRotatedRefreshTokensSurviveReapplyUntilNewCredentialsArrive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	tenants := persistence.NewTenants(pool, newBox(t))
	store := persistence.NewSync(pool)
	cfg := exampleConfig(t)
	conn := cfg.Connections[0].ID
	cfg.Connections[0].Credentials = map[string]string{"refresh_token": "rt-1"}
	_, err := tenants.Apply(ctx, cfg)
	require.NoError(t, err)

	require.NoError(t, tenants.SaveRefreshToken(ctx, cfg.ID, conn, "rt-2"))
	require.NoError(t, store.SetConnectionState(ctx, cfg.ID, conn, vsync.Parked, "kept crashing"))

	// The same file with another change: the vendor's rotated token and the state stay.
	cfg.Name = "Acme Plumbing & Heating"
	res, err := tenants.Apply(ctx, cfg)
	require.NoError(t, err)
	require.True(t, res.Changed)
	creds, err := tenants.ConnectionCredentials(ctx, cfg.ID, conn)
	require.NoError(t, err)
	require.Equal(t, "rt-2", creds["refresh_token"])
	conns, err := store.Connections(ctx, "")
	require.NoError(t, err)
	require.Equal(t, vsync.Parked, stateOf(conns, conn))

	// New credentials replace the token and give the connection a fresh start.
	cfg.Connections[0].Credentials = map[string]string{"refresh_token": "rt-new"}
	_, err = tenants.Apply(ctx, cfg)
	require.NoError(t, err)
	creds, err = tenants.ConnectionCredentials(ctx, cfg.ID, conn)
	require.NoError(t, err)
	require.Equal(t, "rt-new", creds["refresh_token"])
	conns, err = store.Connections(ctx, "")
	require.NoError(t, err)
	require.Equal(t, vsync.Active, stateOf(conns, conn))
}

func stateOf(conns []vsync.Connection, id string) vsync.ConnState {
	for _, c := range conns {
		if c.ID == id {
			return c.State
		}
	}
	return ""
}
