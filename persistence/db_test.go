package persistence_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"ringback/persistence/pgtest"
)

func TestMigrationsCreateBothSchemasAndTheOverlapGuard(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	ctx := context.Background()

	var schemas []string
	rows, err := pool.Query(ctx, `SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname IN ('fulfillment','conversation') ORDER BY 1`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		schemas = append(schemas, s)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"conversation", "fulfillment"}, schemas)

	var def string
	require.NoError(t, pool.QueryRow(ctx, `SELECT pg_catalog.pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint WHERE conname = 'claims_no_overlap'`).Scan(&def))
	require.Contains(t, def, "EXCLUDE USING gist")
	require.Contains(t, def, "WHERE ((status = ANY")
}
