package persistence_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	vsync "ringback/actors/sync"
	"ringback/persistence"
	"ringback/persistence/pgtest"
)

func TestDueJobsRunInOrderPerAppointment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	store := persistence.NewSync(pool)
	now := time.Date(2030, 1, 7, 12, 0, 0, 0, time.UTC)
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

	due, err := store.DueJobs(ctx, "acme", "g", now, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "a's update must wait for a's create")
	require.Equal(t, bCreate, due[0].Seq)
	require.Equal(t, vsync.Create, due[0].Action)

	next, ok, err := store.NextDue(ctx, "acme", "g")
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(now), "the earliest pending job is due now")

	require.NoError(t, store.JobRetry(ctx, aCreate, "google 503", now, now))
	require.NoError(t, store.JobDone(ctx, bCreate, now))
	due, err = store.DueJobs(ctx, "acme", "g", now, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, aCreate, due[0].Seq, "a's create is due again, still ahead of its update")
	require.Equal(t, 1, due[0].Attempts)

	require.NoError(t, store.JobFailed(ctx, aCreate, "400 bad request", now))
	due, err = store.DueJobs(ctx, "acme", "g", now, 10)
	require.NoError(t, err)
	require.Equal(t, []int64{aUpdate}, []int64{due[0].Seq}, "a failed job no longer blocks the queue")

	backlog, err := store.Backlog(ctx)
	require.NoError(t, err)
	require.Len(t, backlog, 1)
	require.Equal(t, 2, backlog["google"].Pending)
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
