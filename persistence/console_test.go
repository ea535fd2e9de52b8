package persistence_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"ringback/persistence"
	"ringback/persistence/pgtest"
)

// TestInboxCursorRoundTrips: a cursor reads back as written, whatever the fraction of a
// second of its time (now() has microseconds; the time's own dot is not a separator).
func TestInboxCursorRoundTrips(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("0190f3c4-5b6a-7c8d-9e0f-a1b2c3d4e5f6")
	for _, c := range []persistence.InboxCursor{
		{NeedsAttention: true, UpdatedAt: time.Date(2030, 1, 7, 11, 51, 3, 846478000, time.UTC), ID: id},
		{UpdatedAt: time.Date(2030, 1, 7, 11, 51, 3, 0, time.UTC), ID: id},
		{UpdatedAt: time.Date(2030, 1, 7, 11, 51, 3, 1000, time.FixedZone("CST", -6*3600)), ID: id},
	} {
		got, err := persistence.ParseInboxCursor(c.String())
		require.NoError(t, err, c.String())
		require.Equal(t, c.NeedsAttention, got.NeedsAttention)
		require.True(t, c.UpdatedAt.Equal(got.UpdatedAt), "got %s, want %s", got.UpdatedAt, c.UpdatedAt)
		require.Equal(t, c.ID, got.ID)
	}
	for _, bad := range []string{"", "0", "2.2030-01-07T11:51:03Z." + id.String(), "0.yesterday." + id.String(),
		"0.2030-01-07T11:51:03.5Z.not-a-uuid", "1.2030-01-07T11:51:03Z"} {
		_, err := persistence.ParseInboxCursor(bad)
		require.Error(t, err, bad)
	}
}

// TestConsolePlansReadAPageNotTheTenant: on one tenant with 100,000 conversations, an
// inbox page (each filter, first and deep keyset pages) walks its index in order and
// stops after a page, and the unread count reads two indexes only, under the plan
// Postgres makes for the arguments and under the generic plan a prepared statement may
// keep. The numbers behind it are in docs/PERFORMANCE.md, "Console"; run with -v for
// the plans.
func TestConsolePlansReadAPageNotTheTenant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := pgtest.Pool(t).Config()
	cfg.MaxConns = 1 // one session: the statements prepared below are its own
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	pgtest.SeedInbox(t, pool, pgtest.InboxSeed{TenantID: "acme", Endpoint: "+15125550100", OwnerPhone: "+15125550111",
		Conversations: 100_000, Now: time.Date(2030, 1, 7, 12, 0, 0, 0, time.UTC)})

	// deep is the cursor after the n-th conversation of a filter, in the inbox's order.
	deep := func(where string, n int) *persistence.InboxCursor {
		var c persistence.InboxCursor
		require.NoError(t, pool.QueryRow(ctx, `SELECT needs_attention, updated_at, id FROM conversation.conversations
			WHERE tenant_id = 'acme' AND `+where+` ORDER BY needs_attention DESC, updated_at DESC, id DESC OFFSET $1 LIMIT 1`, n-1).
			Scan(&c.NeedsAttention, &c.UpdatedAt, &c.ID))
		return &c
	}
	for _, c := range []struct {
		name, filter, index string
		after               *persistence.InboxCursor
	}{
		{"first page", persistence.FilterAll, "conversations_inbox", nil},
		{"page 50", persistence.FilterAll, "conversations_inbox", deep("true", 49*50)},
		{"needs you", persistence.FilterAttention, "conversations_inbox", nil},
		{"needs you, page 30", persistence.FilterAttention, "conversations_inbox", deep("needs_attention", 29*50)},
		{"booked", persistence.FilterBooked, "conversations_inbox", nil},
		{"booked, page 50", persistence.FilterBooked, "conversations_inbox", deep("state = 'booked'", 49*50)},
		{"opted out", persistence.FilterOptedOut, "conversations_inbox_opted_out", nil},
		{"opted out, page 50", persistence.FilterOptedOut, "conversations_inbox_opted_out", deep("opted_out", 49*50)},
	} {
		query, args := persistence.InboxQuery("acme", c.filter, c.after, 50)
		for _, generic := range []bool{false, true} {
			plan := explain(t, pool, query, args, generic)
			t.Logf("%s (generic %t):\n%s", c.name, generic, plan)
			require.Contains(t, plan, "Index Scan using "+c.index+" on conversations c", c.name)
			require.NotContains(t, plan, "Seq Scan", c.name)
			require.NotRegexp(t, `Sort Key: c\.`, plan, "%s: no sort of the tenant's conversations", c.name)
			require.Contains(t, plan, "rows=51 loops=1", "%s: a full page and the one past it", c.name)
			// A few pages for each row shown (its last message and delivery, its unread
			// count), and the booked filter's first page passes the 2,000 conversations
			// needing a person first; the whole tenant is over 100,000 pages.
			require.Less(t, buffers(t, plan), 3000, "%s: the pages a page reads", c.name)
		}
	}
	for _, generic := range []bool{false, true} {
		plan := explain(t, pool, persistence.UnreadSQL, []any{"acme"}, generic)
		t.Logf("unread (generic %t):\n%s", generic, plan)
		require.Contains(t, plan, "Index Only Scan using conversations_attention on conversations c")
		require.Contains(t, plan, "Index Only Scan using messages_conversation on messages m")
		require.NotContains(t, plan, "Seq Scan")
		// ~3 pages for each of the 2,000 conversations needing a person; a join of every
		// inbound message read 12,000.
		require.Less(t, buffers(t, plan), 8000)
	}
}

// explain runs EXPLAIN (ANALYZE, BUFFERS) of query with args: the plan made for these
// arguments, or (generic) the one a prepared statement keeps whatever its arguments.
func explain(t *testing.T, pool *pgxpool.Pool, query string, args []any, generic bool) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	var rows pgx.Rows
	if generic {
		_, err = tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `PREPARE plan_probe AS `+query)
		require.NoError(t, err)
		lits := make([]string, len(args))
		for i, a := range args {
			lits[i] = literal(a)
		}
		rows, err = tx.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) EXECUTE plan_probe (`+strings.Join(lits, ", ")+`)`)
	} else {
		rows, err = tx.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) `+query, args...)
	}
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	if generic {
		_, err = tx.Exec(ctx, `DEALLOCATE plan_probe`) // a rollback keeps it
		require.NoError(t, err)
	}
	return strings.Join(lines, "\n")
}

func literal(v any) string {
	switch v := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case time.Time:
		return "'" + v.Format(time.RFC3339Nano) + "'::timestamptz"
	case uuid.UUID:
		return "'" + v.String() + "'::uuid"
	default:
		return fmt.Sprint(v) // int, bool
	}
}

var sharedBuffers = regexp.MustCompile(`Buffers: shared hit=(\d+)(?: read=(\d+))?`)

// buffers is the pages the whole plan read: its top node's shared hits and reads.
func buffers(t *testing.T, plan string) int {
	t.Helper()
	m := sharedBuffers.FindStringSubmatch(plan)
	require.NotNil(t, m, plan)
	hit, _ := strconv.Atoi(m[1])
	read, _ := strconv.Atoi(m[2])
	return hit + read
}
