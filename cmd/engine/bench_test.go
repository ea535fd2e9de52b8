package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"ringback/actors/resource"
	"ringback/clock"
	"ringback/persistence/pgtest"
)

// The benchmarks here measure durable holds: every hold counted is committed to Postgres
// (fsync on) before its caller hears "held". Run them with `make bench`; the numbers and
// the machine are in docs/PERFORMANCE.md.

const benchCallers = 64

// benchTenant is a tenant whose resources are open 00:00-23:30 daily with 5-minute slots
// and a one-year horizon, so a benchmark never runs out of free slots.
func benchTenant(resources int) string {
	var b strings.Builder
	b.WriteString("id: bench\nname: Bench\ntimezone: UTC\nservices:\n  - {id: drain, name: Drain, duration: 5m, price: {base: 100, currency: USD}}\nresources:\n")
	day := `["00:00-23:30"]` // closed a half hour a day, as every business is
	for i := range resources {
		fmt.Fprintf(&b, "  - {id: r%04d, name: R%d, services: [drain], hours: {mon: %s, tue: %s, wed: %s, thu: %s, fri: %s, sat: %s, sun: %s}}\n", i, i, day, day, day, day, day, day, day)
	}
	b.WriteString("policies: {min_notice: 0s, slot_step: 5m, horizon: 365d, hold_ttl: 24h}\nbooking_api_key: \"" + bookingKey + "\"\n")
	return b.String()
}

// benchSlot is the i-th open 5-minute slot of a bench resource (open 00:00-23:30 UTC),
// counting from the day after monday0600.
func benchSlot(i int) time.Time {
	const perDay = 23*12 + 6
	base := time.Date(2030, 1, 8, 0, 0, 0, 0, time.UTC)
	return base.Add(time.Duration(i/perDay)*24*time.Hour + time.Duration(i%perDay)*5*time.Minute)
}

func benchPool(b *testing.B) *pgxpool.Pool {
	cfg, err := pgxpool.ParseConfig(pgtest.URL(b))
	require.NoError(b, err)
	cfg.MaxConns = 32
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	return pool
}

// latencies collects per-operation latencies from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B, elapsed time.Duration, unit string) {
	slices.Sort(l.d)
	q := func(p float64) float64 {
		if len(l.d) == 0 {
			return 0
		}
		return float64(l.d[min(len(l.d)-1, int(p*float64(len(l.d))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(l.d))/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// runCallers runs n operations on benchCallers goroutines and reports throughput and
// latency percentiles.
func runCallers(b *testing.B, n int, unit string, op func(i int) error) {
	var next atomic.Int64
	var lat latencies
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range benchCallers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := op(i); err != nil {
					if failed.Add(1) == 1 {
						b.Errorf("op %d: %v", i, err)
					}
					continue
				}
				lat.add(time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	lat.report(b, elapsed, unit)
}

// BenchmarkActorHolds: durable holds placed straight on the resource actors (no HTTP),
// 64 concurrent callers, spread over 1,000 resources or all on one hot resource.
func BenchmarkActorHolds(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(defaultGCPercent)) // as engine serve runs
	for _, tc := range []struct {
		name      string
		resources int
	}{{"spread-1000", 1000}, {"hot-1", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			pool := benchPool(b)
			e := newTestEngineOn(b, pool, clock.NewFake(monday0600), testBox(b))
			e.apply(benchTenant(tc.resources))
			// Activate every actor first: activation is a one-time cost, not a hold.
			for r := range tc.resources {
				e.flushResource(fmt.Sprintf("bench/r%04d", r))
			}
			n := max(b.N, 20000)
			nextSlot := make([]atomic.Int64, tc.resources)
			runCallers(b, n, "holds", func(i int) error {
				r := i % tc.resources
				slot := nextSlot[r].Add(1)
				res, err := e.eng.directory.Request(context.Background(), resource.Kind, fmt.Sprintf("bench/r%04d", r), &resource.PlaceHold{
					ID: uuid.Must(uuid.NewV7()), ServiceID: "drain", Start: benchSlot(int(slot)),
					Customer: resource.Customer{Phone: "+15125550100"},
				}, 10*time.Second)
				if err != nil {
					return err
				}
				return res.(*resource.HoldResponse).Err
			})
			e.flush()
			var live int
			require.NoError(b, pool.QueryRow(context.Background(), `SELECT count(*) FROM fulfillment.claims WHERE status = 'held'`).Scan(&live))
			require.Equal(b, n, live, "every acknowledged hold is in Postgres")
		})
	}
}

// BenchmarkBookingAPI compares Ringback's booking API with a careful CRUD booking service
// on the same machine, database and schema, both over HTTP with 64 concurrent clients making
// the same sequence of hold attempts (random 5-minute slots; later attempts increasingly
// conflict). The CRUD service does what a careful web app does per request: lock the
// resource row, look for an overlapping live claim, insert, commit.
func BenchmarkBookingAPI(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(defaultGCPercent)) // as engine serve runs
	for _, tc := range []struct {
		name      string
		resources int
	}{{"hot-1", 1}, {"spread-1000", 1000}} {
		for _, system := range []string{"ringback", "crud"} {
			b.Run(tc.name+"/"+system, func(b *testing.B) {
				pool := benchPool(b)
				e := newTestEngineOn(b, pool, clock.NewFake(monday0600), testBox(b))
				e.apply(benchTenant(tc.resources))
				url := e.srv.URL
				if system == "crud" {
					crud := httptest.NewServer(crudHoldHandler(pool, monday0600))
					b.Cleanup(crud.Close)
					url = crud.URL
				} else {
					for r := range tc.resources {
						e.flushResource(fmt.Sprintf("bench/r%04d", r))
					}
				}
				client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: benchCallers, MaxIdleConnsPerHost: benchCallers}}
				n := max(b.N, 20000)
				rng := rand.New(rand.NewPCG(1, 2))
				type attempt struct {
					resource string
					start    time.Time
				}
				attempts := make([]attempt, n)
				for i := range attempts {
					attempts[i] = attempt{fmt.Sprintf("r%04d", rng.IntN(tc.resources)), benchSlot(rng.IntN(4000))}
				}
				var created, conflicts atomic.Int64
				runCallers(b, n, "attempts", func(i int) error {
					body, _ := json.Marshal(map[string]any{"service": "drain", "resource_id": attempts[i].resource,
						"starts_at": attempts[i].start.Format(time.RFC3339), "customer": map[string]string{"phone": "+15125550100"}})
					req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/tenants/bench/reservations", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+bookingKey)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						return err
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusCreated:
						created.Add(1)
					case http.StatusConflict:
						conflicts.Add(1)
					default:
						return fmt.Errorf("status %d", resp.StatusCode)
					}
					return nil
				})
				b.ReportMetric(float64(created.Load())/float64(n)*100, "%created")
			})
		}
	}
}

// crudHoldHandler is the careful CRUD baseline: per request, one transaction that locks
// the resource row, checks for an overlapping live claim and inserts.
func crudHoldHandler(pool *pgxpool.Pool, now time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Service    string `json:"service"`
			ResourceID string `json:"resource_id"`
			StartsAt   string `json:"starts_at"`
			Customer   struct {
				Phone string `json:"phone"`
			} `json:"customer"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		start, err := time.Parse(time.RFC3339, body.StartsAt)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		end := start.Add(5 * time.Minute)
		ctx := r.Context()
		tx, err := pool.Begin(ctx)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer tx.Rollback(ctx)
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM fulfillment.resources WHERE tenant_id = 'bench' AND id = $1 FOR UPDATE`, body.ResourceID).Scan(&one); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM fulfillment.claims
			WHERE resource_key = (SELECT key FROM fulfillment.resources WHERE tenant_id = 'bench' AND id = $1)
			AND status IN ('held', 'booked') AND tstzrange(starts_at, ends_at, '[)') && tstzrange($2, $3, '[)'))`,
			body.ResourceID, start, end).Scan(&taken); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if taken {
			w.WriteHeader(http.StatusConflict)
			return
		}
		id := uuid.Must(uuid.NewV7())
		if _, err := tx.Exec(ctx, `INSERT INTO fulfillment.claims (id, tenant_id, resource_id, resource_key, service_id, starts_at, ends_at, status,
				expires_at, customer_phone, quote) VALUES ($1, 'bench', $2, (SELECT key FROM fulfillment.resources WHERE tenant_id = 'bench' AND id = $2),
				'drain', $3, $4, 'held', $5, $6, '{"amount_minor":10000,"currency":"USD"}')`,
			id, body.ResourceID, start, end, now.Add(24*time.Hour), body.Customer.Phone); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if err := tx.Commit(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "resource_id": body.ResourceID, "starts_at": start, "ends_at": end})
	})
}
