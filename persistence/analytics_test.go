package persistence_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ringback/analytics"
	"ringback/persistence"
	"ringback/persistence/pgtest"
)

func TestExportPagesBySeqPerTenant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := persistence.NewAnalytics(pgtest.Pool(t))
	at := time.Date(2030, 1, 7, 9, 0, 0, 123456000, time.UTC)
	var batch []analytics.Event
	for i := range 5 {
		for _, tenant := range []string{"acme", "bravo"} {
			batch = append(batch, analytics.Event{TenantID: tenant, Kind: analytics.HoldPlaced, OccurredAt: at.Add(time.Duration(i) * time.Minute),
				Subject: fmt.Sprintf("%s-h%d", tenant, i), Data: analytics.HoldPlacedData{ResourceID: "tech-mike", QuoteMinor: 12000 + int64(i), Currency: "USD"}})
		}
	}
	require.NoError(t, store.InsertBatch(ctx, batch[:4]))
	require.NoError(t, store.InsertBatch(ctx, batch[4:]))

	var got []string
	since := int64(0)
	for page := 0; ; page++ {
		evs, err := store.Export(ctx, "acme", since, 2)
		require.NoError(t, err)
		if len(evs) == 0 {
			break
		}
		require.LessOrEqual(t, len(evs), 2)
		for _, e := range evs {
			require.Greater(t, e.Seq, since, "seq increases")
			since = e.Seq
			got = append(got, e.Subject)
			require.Equal(t, "acme", e.TenantID)
			require.Equal(t, analytics.HoldPlaced, e.Kind)
		}
		require.Less(t, page, 3, "5 events in pages of 2 take 3 pages")
	}
	require.Equal(t, []string{"acme-h0", "acme-h1", "acme-h2", "acme-h3", "acme-h4"}, got)

	all, err := store.Export(ctx, "acme", 0, 10)
	require.NoError(t, err)
	first := all[0]
	require.True(t, first.OccurredAt.Equal(at), "got %v, want %v", first.OccurredAt, at)
	require.Equal(t, time.UTC, first.OccurredAt.Location())
	var data analytics.HoldPlacedData
	require.NoError(t, json.Unmarshal(first.Data.(json.RawMessage), &data))
	require.Equal(t, int64(12000), data.QuoteMinor)

	none, err := store.Export(ctx, "acme", all[len(all)-1].Seq, 10)
	require.NoError(t, err)
	require.Empty(t, none)
	none, err = store.Export(ctx, "nobody", 0, 10)
	require.NoError(t, err)
	require.Empty(t, none)
}

func TestInsertBatchIsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	store := persistence.NewAnalytics(pool)
	good := analytics.Event{TenantID: "acme", Kind: analytics.HoldExpired, OccurredAt: time.Now(), Subject: "h1"}
	bad := good
	bad.Kind = "hold.vanished"
	require.ErrorIs(t, store.InsertBatch(ctx, []analytics.Event{good, bad}), analytics.ErrInvalid)
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM analytics.events`).Scan(&n))
	require.Zero(t, n)
	require.NoError(t, store.InsertBatch(ctx, nil))
}

func TestMigrationReplacesThePerContextEventTables(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	var tables []string
	rows, err := pool.Query(context.Background(), `SELECT schemaname || '.' || tablename FROM pg_catalog.pg_tables WHERE tablename = 'events' ORDER BY 1`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		tables = append(tables, s)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"analytics.events"}, tables)
}

// docQuery returns the SQL block that follows `<!-- query: name -->` in docs/EVENTS.md, so
// the queries tested here are exactly the documented ones.
func docQuery(t *testing.T, name string) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/EVENTS.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)<!-- query: " + name + " -->\\s*```sql\\n(.*?)```").FindSubmatch(doc)
	require.NotNil(t, m, "docs/EVENTS.md has no query %s", name)
	return string(m[1])
}

// TestDocumentedMetricQueries runs the two queries of docs/EVENTS.md on a small history:
//
//	c1  missed call → auto-reply → option 1 chosen (hold h1) → booked within minutes
//	c2  missed call → auto-reply → option chosen (hold h2) → hold expired
//	c3  missed call → auto-reply suppressed (opted out)
//	c4  missed call → auto-reply → booked (h4) nine days later
//	    API holds: h5 booked, h6 released; c5 is a missed call after the period
//	bravo, another tenant, books "its" h2 and converts "its" c2: neither may count for acme.
func TestDocumentedMetricQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	t0 := time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)
	ev := func(tenant string, kind analytics.Kind, at time.Duration, subject string, data any) analytics.Event {
		return analytics.Event{TenantID: tenant, Kind: kind, OccurredAt: t0.Add(at), Subject: subject, Data: data}
	}
	missed := analytics.MissedCallData{Endpoint: "+15125550100", Source: "twilio"}
	sent := analytics.AutoReplySentData{Endpoint: "+15125550100", Options: 3}
	chosen := func(hold string) analytics.OptionChosenData {
		return analytics.OptionChosenData{Option: 1, HoldID: hold, ResourceID: "tech-mike", ServiceID: "drain-cleaning"}
	}
	placed := analytics.HoldPlacedData{ResourceID: "tech-mike", ServiceID: "drain-cleaning", QuoteMinor: 12000, Currency: "USD"}
	booked := func(hold string) analytics.AppointmentBookedData {
		return analytics.AppointmentBookedData{ReservationID: hold, ResourceID: "tech-mike", ServiceID: "drain-cleaning"}
	}
	day := 24 * time.Hour
	events := []analytics.Event{
		ev("acme", analytics.MissedCallReceived, 0, "c1", missed),
		ev("acme", analytics.AutoReplySent, time.Second, "c1", sent),
		ev("acme", analytics.OptionsOffered, time.Second, "c1", analytics.OptionsOfferedData{Via: "auto_reply", Count: 3}),
		ev("acme", analytics.OptionChosen, 5*time.Minute, "c1", chosen("h1")),
		ev("acme", analytics.HoldPlaced, 5*time.Minute, "h1", placed),
		ev("acme", analytics.HoldPlaced, 5*time.Minute, "h1", placed), // a duplicate counts once
		ev("acme", analytics.AppointmentBooked, 6*time.Minute, "a1", booked("h1")),

		ev("acme", analytics.MissedCallReceived, time.Hour, "c2", missed),
		ev("acme", analytics.AutoReplySent, time.Hour+time.Second, "c2", sent),
		ev("acme", analytics.OptionChosen, time.Hour+2*time.Minute, "c2", chosen("h2")),
		ev("acme", analytics.HoldPlaced, time.Hour+2*time.Minute, "h2", placed),
		ev("acme", analytics.HoldExpired, time.Hour+12*time.Minute, "h2", analytics.HoldEndedData{ResourceID: "tech-mike"}),

		ev("acme", analytics.MissedCallReceived, 2*time.Hour, "c3", missed),
		ev("acme", analytics.AutoReplySuppressed, 2*time.Hour, "c3", analytics.AutoReplySuppressedData{Endpoint: "+15125550100", Reason: analytics.ReasonOptedOut}),

		ev("acme", analytics.MissedCallReceived, 3*time.Hour, "c4", missed),
		ev("acme", analytics.AutoReplySent, 3*time.Hour+time.Second, "c4", sent),
		ev("acme", analytics.OptionChosen, 9*day, "c4", chosen("h4")),
		ev("acme", analytics.HoldPlaced, 9*day, "h4", placed),
		ev("acme", analytics.AppointmentBooked, 9*day+time.Minute, "a4", booked("h4")),

		ev("acme", analytics.HoldPlaced, 4*time.Hour, "h5", placed),
		ev("acme", analytics.AppointmentBooked, 4*time.Hour+time.Minute, "a5", booked("h5")),
		ev("acme", analytics.HoldPlaced, 5*time.Hour, "h6", placed),
		ev("acme", analytics.HoldReleased, 5*time.Hour+time.Minute, "h6", analytics.HoldEndedData{ResourceID: "tech-mike"}),

		ev("acme", analytics.MissedCallReceived, 3*day, "c5", missed),

		ev("bravo", analytics.MissedCallReceived, 0, "c2", missed),
		ev("bravo", analytics.OptionChosen, time.Minute, "c2", chosen("h9")),
		ev("bravo", analytics.HoldPlaced, time.Minute, "h9", placed),
		ev("bravo", analytics.AppointmentBooked, 2*time.Minute, "a9", booked("h9")),
		ev("bravo", analytics.AppointmentBooked, 2*time.Minute, "a2", booked("h2")),
	}
	require.NoError(t, persistence.NewAnalytics(pool).InsertBatch(ctx, events))
	from, to := t0, t0.Add(2*day)

	var holds, bookedN int64
	var rate float64
	require.NoError(t, pool.QueryRow(ctx, docQuery(t, "booking_success_rate"), "acme", from, to).Scan(&holds, &bookedN, &rate))
	require.Equal(t, []any{int64(4), int64(2), 0.5}, []any{holds, bookedN, rate}, "h1, h2, h5, h6 placed in the period; h1 and h5 booked")

	conversion := docQuery(t, "auto_reply_conversion")
	var calls, replied, converted int64
	require.NoError(t, pool.QueryRow(ctx, conversion, "acme", from, to, "7 days").Scan(&calls, &replied, &converted, &rate))
	require.Equal(t, []any{int64(4), int64(3), int64(1), 0.25}, []any{calls, replied, converted, rate}, "c1..c4 in the period; c1..c2, c4 answered; c1 booked within 7 days")

	require.NoError(t, pool.QueryRow(ctx, conversion, "acme", from, to, "10 days").Scan(&calls, &replied, &converted, &rate))
	require.Equal(t, []any{int64(4), int64(3), int64(2), 0.5}, []any{calls, replied, converted, rate}, "with a 10-day window c4 converts too")

	var none *float64
	require.NoError(t, pool.QueryRow(ctx, conversion, "nobody", from, to, "7 days").Scan(&calls, &replied, &converted, &none), "an empty period answers a row")
	require.Equal(t, []any{int64(0), int64(0), int64(0)}, []any{calls, replied, converted})
	require.Nil(t, none, "no missed calls: the rate is NULL, not 0")
}
