package analytics_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"ringback/analytics"
	"ringback/clock"
	"ringback/persistence"
	"ringback/persistence/pgtest"
)

var t0 = time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)

// observed wraps the real store and reports each append: its size, once it committed.
// With a gate, each append first says it has started (entered) and waits to be let go.
type observed struct {
	inner   analytics.Store
	batches chan int
	entered chan struct{}
	gate    chan struct{}
	fail    atomic.Int32 // refuse this many appends before passing them on
}

func observe(pool *pgxpool.Pool) *observed {
	return &observed{inner: persistence.NewAnalytics(pool), batches: make(chan int, 100), entered: make(chan struct{}, 100)}
}

var errRefused = errors.New("postgres is away")

func (o *observed) InsertBatch(ctx context.Context, events []analytics.Event) error {
	if o.gate != nil {
		o.entered <- struct{}{}
		<-o.gate
	}
	if o.fail.Add(-1) >= 0 {
		return errRefused
	}
	err := o.inner.InsertBatch(ctx, events)
	if err == nil {
		o.batches <- len(events)
	}
	return err
}

// next waits for the next append; the timeout only turns a hang into a failure.
func (o *observed) next(t *testing.T) int {
	t.Helper()
	select {
	case n := <-o.batches:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no batch was appended")
		return 0
	}
}

// none checks that no append committed since the last next.
func (o *observed) none(t *testing.T) {
	t.Helper()
	select {
	case n := <-o.batches:
		t.Fatalf("unexpected batch of %d", n)
	default:
	}
}

// armed is a fake clock that reports each timer set on it.
type armed struct {
	*clock.Fake
	timers chan time.Duration
}

func (c armed) AfterFunc(d time.Duration, f func()) func() bool {
	stop := c.Fake.AfterFunc(d, f)
	c.timers <- d
	return stop
}

// newWriter is a writer that logs nothing (its refusals are what the tests provoke).
func newWriter(store analytics.Store, opts ...analytics.Option) *analytics.Writer {
	return analytics.NewWriter(store, append(opts, analytics.WithLogger(slog.New(slog.DiscardHandler)))...)
}

func event(tenantID string, i int) analytics.Event {
	return analytics.Event{TenantID: tenantID, Kind: analytics.HoldReleased, Subject: fmt.Sprintf("h%d", i),
		Data: analytics.HoldEndedData{ResourceID: "tech-mike"}}
}

func subjects(t *testing.T, pool *pgxpool.Pool, tenantID string) []string {
	t.Helper()
	evs, err := persistence.NewAnalytics(pool).Export(context.Background(), tenantID, 0, 100000)
	require.NoError(t, err)
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Subject
	}
	return out
}

func TestWriterAppendsAFullBatchAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	store := observe(pool)
	clk := clock.NewFake(t0)
	w := newWriter(store, analytics.WithBatchSize(3), analytics.WithFlushInterval(time.Hour), analytics.WithClock(clk))
	t.Cleanup(func() { _ = w.Close() })

	for i := range 7 {
		w.Record(event("acme", i))
	}
	require.Equal(t, 3, store.next(t))
	require.Equal(t, 3, store.next(t))
	require.Equal(t, []string{"h0", "h1", "h2", "h3", "h4", "h5"}, subjects(t, pool, "acme"), "the seventh waits for its batch to fill or its interval")

	require.NoError(t, w.Flush(ctx))
	require.Equal(t, 1, store.next(t))
	evs, err := persistence.NewAnalytics(pool).Export(ctx, "acme", 0, 10)
	require.NoError(t, err)
	require.Len(t, evs, 7)
	require.True(t, evs[6].OccurredAt.Equal(t0), "OccurredAt defaults to the writer's clock: got %v", evs[6].OccurredAt)
	require.JSONEq(t, `{"resource_id":"tech-mike"}`, string(evs[6].Data.(json.RawMessage)))
	require.Zero(t, w.Dropped(analytics.DropBufferFull)+w.Dropped(analytics.DropWriteFailed)+w.Dropped(analytics.DropInvalid))
}

func TestWriterAppendsAPartialBatchOneIntervalAfterItsFirstEvent(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	store := observe(pool)
	clk := armed{Fake: clock.NewFake(t0), timers: make(chan time.Duration, 10)}
	w := newWriter(store, analytics.WithBatchSize(100), analytics.WithFlushInterval(250*time.Millisecond), analytics.WithClock(clk))
	t.Cleanup(func() { _ = w.Close() })

	w.Record(event("acme", 0))
	select {
	case d := <-clk.timers:
		require.Equal(t, 250*time.Millisecond, d, "the first event of a batch starts its interval")
	case <-time.After(10 * time.Second):
		t.Fatal("the first event of a batch set no timer")
	}
	clk.Advance(249 * time.Millisecond)
	require.Equal(t, 1, clk.Pending(), "the interval has not passed")
	store.none(t)

	clk.Advance(time.Millisecond)
	require.Equal(t, 1, store.next(t))
	require.Equal(t, []string{"h0"}, subjects(t, pool, "acme"))
}

func TestWriterCloseAppendsWhatWaitsAndRefusesLaterEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	reg := prometheus.NewRegistry()
	w := newWriter(persistence.NewAnalytics(pool), analytics.WithBatchSize(100), analytics.WithFlushInterval(time.Hour),
		analytics.WithClock(clock.NewFake(t0)), analytics.WithRegisterer(reg))
	for i := range 5 {
		w.Record(event("acme", i))
	}
	require.NoError(t, w.Close())
	require.Equal(t, []string{"h0", "h1", "h2", "h3", "h4"}, subjects(t, pool, "acme"))

	w.Record(event("acme", 5)) // never blocks, never panics
	require.Equal(t, 1.0, w.Dropped(analytics.DropClosed))
	require.NoError(t, w.Close(), "Close twice")
	require.NoError(t, w.Flush(ctx), "Flush after Close")
	require.Len(t, subjects(t, pool, "acme"), 5)
}

func TestWriterDropsAndCountsWhenTheBufferIsFull(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	store := observe(pool)
	store.gate = make(chan struct{})
	reg := prometheus.NewRegistry()
	w := newWriter(store, analytics.WithBatchSize(1), analytics.WithBuffer(2), analytics.WithClock(clock.NewFake(t0)), analytics.WithRegisterer(reg))

	w.Record(event("acme", 0))
	<-store.entered // the writer is busy appending h0: the buffer is empty and nothing drains it
	for i := 1; i <= 4; i++ {
		w.Record(event("acme", i)) // h1 and h2 fill the buffer; h3 and h4 are dropped at once
	}
	require.Equal(t, 2.0, w.Dropped(analytics.DropBufferFull))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP ringback_events_dropped_total Analytics events not appended to the event log, by reason (buffer_full, closed, invalid, write_failed).
# TYPE ringback_events_dropped_total counter
ringback_events_dropped_total{reason="buffer_full"} 2
ringback_events_dropped_total{reason="closed"} 0
ringback_events_dropped_total{reason="invalid"} 0
ringback_events_dropped_total{reason="write_failed"} 0
`), "ringback_events_dropped_total"))

	close(store.gate)
	require.NoError(t, w.Close())
	require.Equal(t, []string{"h0", "h1", "h2"}, subjects(t, pool, "acme"))
}

func TestWriterRetriesARefusedBatchAtTheNextInterval(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	store := observe(pool)
	store.fail.Store(1)
	clk := clock.NewFake(t0)
	w := newWriter(store, analytics.WithBatchSize(100), analytics.WithFlushInterval(time.Second), analytics.WithAttempts(2), analytics.WithClock(clk))
	t.Cleanup(func() { _ = w.Close() })

	w.Record(event("acme", 0))
	require.ErrorIs(t, w.Flush(context.Background()), errRefused)
	require.Empty(t, subjects(t, pool, "acme"))

	clk.Advance(time.Second) // the retry is due one interval after the refusal
	require.Equal(t, 1, store.next(t))
	require.Equal(t, []string{"h0"}, subjects(t, pool, "acme"))
	require.Zero(t, w.Dropped(analytics.DropWriteFailed))
}

func TestWriterDropsABatchRefusedOnEveryAttempt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	store := observe(pool)
	store.fail.Store(2)
	w := newWriter(store, analytics.WithAttempts(2), analytics.WithClock(clock.NewFake(t0)))
	t.Cleanup(func() { _ = w.Close() })

	w.Record(event("acme", 0))
	w.Record(event("acme", 1))
	require.ErrorIs(t, w.Flush(ctx), errRefused)
	require.Zero(t, w.Dropped(analytics.DropWriteFailed), "kept for another attempt")
	require.ErrorIs(t, w.Flush(ctx), errRefused)
	require.Equal(t, 2.0, w.Dropped(analytics.DropWriteFailed), "dropped after the last attempt")
	require.NoError(t, w.Flush(ctx), "nothing is left to append")

	w.Record(event("acme", 2))
	require.NoError(t, w.Flush(ctx))
	require.Equal(t, []string{"h2"}, subjects(t, pool, "acme"), "the writer carries on once Postgres is back")
}

func TestWriterDropsInvalidEvents(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	w := newWriter(persistence.NewAnalytics(pool), analytics.WithClock(clock.NewFake(t0)))
	ok := event("acme", 0)
	bad := []analytics.Event{
		{Kind: analytics.HoldExpired, Subject: "h"},                                          // no tenant
		{TenantID: "acme", Kind: "hold.vanished", Subject: "h"},                              // unknown kind
		{TenantID: "acme", Kind: analytics.HoldExpired},                                      // no subject
		{TenantID: "acme", Kind: analytics.HoldExpired, Subject: "h", Data: []int{1}},        // not an object
		{TenantID: "acme", Kind: analytics.HoldExpired, Subject: "h", Data: func() {}},       // not JSON at all
		{TenantID: "acme", Kind: analytics.HoldExpired, Subject: "h", Data: []byte(`{"a":`)}, // broken raw JSON
	}
	for _, e := range bad {
		w.Record(e)
	}
	w.Record(ok)
	require.NoError(t, w.Close())
	require.Equal(t, float64(len(bad)), w.Dropped(analytics.DropInvalid))
	require.Equal(t, []string{"h0"}, subjects(t, pool, "acme"))
}

func TestWriterKeepsEachRecordersOrderUnderConcurrency(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t)
	w := newWriter(persistence.NewAnalytics(pool), analytics.WithBatchSize(64), analytics.WithBuffer(4096), analytics.WithClock(clock.NewFake(t0)))
	const recorders, each = 20, 100
	var wg sync.WaitGroup
	for g := range recorders {
		wg.Go(func() {
			for i := range each {
				w.Record(analytics.Event{TenantID: "acme", Kind: analytics.MissedCallReceived, Subject: fmt.Sprintf("%d/%d", g, i),
					Data: analytics.MissedCallData{Endpoint: "+15125550100", Source: "twilio"}})
			}
		})
	}
	wg.Wait()
	require.NoError(t, w.Close())
	got := subjects(t, pool, "acme")
	require.Len(t, got, recorders*each)
	last := map[int]int{}
	for _, s := range got {
		var g, i int
		_, err := fmt.Sscanf(s, "%d/%d", &g, &i)
		require.NoError(t, err)
		if prev, seen := last[g]; seen {
			require.Greater(t, i, prev, "recorder %d's events out of order", g)
		}
		last[g] = i
	}
}

func TestMemoryKeepsEventsInOrder(t *testing.T) {
	t.Parallel()
	var m analytics.Memory
	m.Record(event("acme", 0))
	m.Record(analytics.Event{TenantID: "acme", Kind: analytics.HoldPlaced, Subject: "h1"})
	analytics.Nop{}.Record(event("acme", 2))
	require.Len(t, m.Events(), 2)
	got := m.Events(analytics.HoldPlaced)
	require.Len(t, got, 1)
	require.Equal(t, "h1", got[0].Subject)
}
