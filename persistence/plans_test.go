package persistence_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"ringback/persistence"
	"ringback/persistence/pgtest"
	"ringback/secrets"
)

// TestKeyedStatementsArePlannedOnceByIndex: the outbox's claim and acceptance and the
// grouped conversation load are planned once per connection, on a fresh (empty) database,
// and that one plan reaches their rows by index. Left to Postgres, the claim's kept plan
// is a sequential scan made while the table was empty (every claim then reads the whole
// table, however large it grows) and the other two are planned again on every run.
func TestKeyedStatementsArePlannedOnceByIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := pgtest.Pool(t).Config()
	cfg.MaxConns = 1 // one session: its prepared statements are the ones the store ran
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	box, err := secrets.NewBox("")
	require.NoError(t, err)
	s := persistence.NewConversations(pool, box)

	const runs = 8 // past Postgres's five custom plans before it considers a generic one
	for range runs {
		s.OutboxBatch([]string{"no-such-delivery"}, map[string]string{"no-such-delivery-either": "SM0"})
		s.LoadMany([2]string{"+15125550100", "+15125550199"})
	}

	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	for _, c := range []struct {
		name, marker, args, index string
	}{
		{"claim", "status = CASE WHEN (d.kind", "('{x}')", "deliveries_pkey"},
		{"acceptance", "SET provider_sid = NULLIF", "('{x}', '{SM1}', '{queued}')", "deliveries_pkey"},
		{"load", "CROSS JOIN LATERAL", "('{+15125550100}', '{+15125550199}')", "conversations_endpoint_customer_phone_key"},
	} {
		var stmt string
		var generic, custom int64
		require.NoError(t, conn.QueryRow(ctx, `SELECT name, generic_plans, custom_plans FROM pg_prepared_statements
			WHERE strpos(statement, $1) > 0`, c.marker).Scan(&stmt, &generic, &custom), c.name)
		require.Zero(t, custom, "%s: planned for its arguments", c.name)
		require.GreaterOrEqual(t, generic, int64(runs), "%s: runs on its one plan", c.name)

		// The plan kept is the one shown under force_generic_plan (with sequential scans
		// allowed here, so a kept plan is shown as it was made).
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`)
		require.NoError(t, err)
		rows, err := tx.Query(ctx, `EXPLAIN EXECUTE `+pgx.Identifier{stmt}.Sanitize()+c.args)
		require.NoError(t, err)
		var plan strings.Builder
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			plan.WriteString(line + "\n")
		}
		require.NoError(t, rows.Err())
		require.NoError(t, tx.Rollback(ctx))
		require.NotContains(t, plan.String(), "Seq Scan", "%s:\n%s", c.name, plan.String())
		require.Contains(t, plan.String(), c.index, "%s:\n%s", c.name, plan.String())
	}
}
