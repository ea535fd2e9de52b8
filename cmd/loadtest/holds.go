package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// attempt is one reservation attempt of the hold scenarios: a slot of a resource of a
// tenant (indexes into the world, so the same attempt names the engine's tenant and the
// baseline's mirror of it).
type attempt struct {
	tenant, resource int
	start            time.Time
}

// attempts generates the planned attempt sequence of a hold scenario; the engine run and
// the baseline run make the same one.
//
// hot-slot: every second of offered load is a wave in which all attempts race for the
// same --hot-slots slots of one resource (tenant 0's first); the next wave races for the
// next ones. Slots are an hour apart (the service is an hour long on a 30-minute grid,
// so neighbouring grid slots overlap).
//
// booking-api: each attempt a uniformly random slot of a random resource of a random
// tenant, on the days reserved for it.
func (h *harness) attempts(spec scenarioSpec) []attempt {
	n := plannedCalls(spec.Rate, h.opts.Duration)
	out := make([]attempt, n)
	switch spec.Name {
	case scHotSlot:
		perWave := max(1, int(spec.Rate))
		hourly := (horizonDays - 1 - hotSlotFirstDay) * 24 // distinct hot slots before the horizon
		for i := range out {
			k := ((i/perWave)*h.opts.HotSlots + i%h.opts.HotSlots) % hourly
			out[i] = attempt{start: h.world.slot(hotSlotFirstDay, 2*k)}
		}
	case scBookingAPI:
		rng := rand.New(rand.NewPCG(h.opts.Seed, 0x600c))
		days := hotSlotFirstDay - bookingFirstDay
		for i := range out {
			t := rng.IntN(len(h.world.tenants))
			out[i] = attempt{tenant: t, resource: rng.IntN(len(h.world.tenants[t].Resources)),
				start: h.world.slot(bookingFirstDay+rng.IntN(days), rng.IntN(slotsPerDay))}
		}
	}
	return out
}

// holdSystem is where the hold scenarios reserve and confirm: the engine's booking API or
// the Postgres baseline. Statuses are the booking API's (201, 409, 410).
type holdSystem interface {
	reserve(ctx context.Context, a attempt, phone, key string) (reserveAnswer, error)
	confirm(ctx context.Context, a attempt, id string) (int, error)
}

// engineHolds reserves through the engine's booking API.
type engineHolds struct {
	c *bookingClient
	w *world
}

func (e engineHolds) reserve(ctx context.Context, a attempt, phone, key string) (reserveAnswer, error) {
	t := e.w.tenants[a.tenant]
	return e.c.reserve(ctx, t.ID, t.Resources[a.resource], serviceID, a.start, phone, key)
}

func (e engineHolds) confirm(ctx context.Context, a attempt, id string) (int, error) {
	return e.c.confirm(ctx, e.w.tenants[a.tenant].ID, id)
}

// holds runs a hold scenario against sys: each attempt reserves its slot and, when it got
// it, confirms at once. For hot-slot it also checks that no slot was won twice.
func (h *harness) holds(ctx context.Context, spec scenarioSpec, attempts []attempt, sys holdSystem, system string) ScenarioReport {
	var mu sync.Mutex
	winners := map[time.Time]int{}
	tried := map[time.Time]bool{}
	ops := []string{"reserve", "reserve → 201", "reserve → 409", "confirm"}
	rep := h.load(ctx, spec.Name, system, spec.Rate, h.opts.Concurrency, ops, func(ctx context.Context, rec *recorder, i int) {
		a := attempts[i]
		if spec.Name == scHotSlot {
			mu.Lock()
			tried[a.start] = true
			mu.Unlock()
		}
		t0 := time.Now()
		ans, err := sys.reserve(ctx, a, h.newCaller(), fmt.Sprintf("lt-%s-%s-%s-%d", h.tag, spec.Name, system, i))
		t1 := time.Now()
		if err != nil {
			rec.fail(errorKind("reserve", err))
			return
		}
		rec.observe("reserve", t0, t1)
		switch ans.status {
		case http.StatusCreated:
			rec.observe("reserve → 201", t0, t1)
			rec.outcome("reserve 201 held")
		case http.StatusConflict:
			rec.observe("reserve → 409", t0, t1)
			rec.outcome("reserve 409 taken")
			return
		default:
			rec.fail(fmt.Sprintf("reserve: HTTP %d", ans.status))
			return
		}
		if spec.Name == scHotSlot {
			mu.Lock()
			winners[a.start]++
			mu.Unlock()
		}
		t2 := time.Now()
		status, err := sys.confirm(ctx, a, ans.id)
		if err != nil {
			rec.fail(errorKind("confirm", err))
			return
		}
		rec.observe("confirm", t2, time.Now())
		switch status {
		case http.StatusCreated:
			rec.outcome("confirm 201 booked")
		case http.StatusGone:
			rec.outcome("confirm 410 expired")
		default:
			rec.fail(fmt.Sprintf("confirm: HTTP %d", status))
		}
	})
	if spec.Name == scHotSlot {
		inv := Invariant{Name: fmt.Sprintf("hot-slot (%s): at most one reservation won per slot", system)}
		won := 0
		for slot := range tried {
			inv.Checked++
			switch n := winners[slot]; {
			case n > 1:
				inv.violate(fmt.Sprintf("%s won %d times", slot.Format(time.RFC3339), n))
			case n == 1:
				won++
			}
		}
		h.addCheck(inv.done())
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d distinct slots raced for, %d won (one winner each expected on a fresh database)", len(tried), won))
		rep.Outcomes["slots raced for"] = int64(len(tried))
		rep.Outcomes["slots won"] = int64(won)
	}
	return rep
}

// baseline is the comparison the issue asks for: the same hold workload done the way a
// typical CRUD booking app does it, straight against Postgres with no actor in front. Each
// attempt is one transaction that inserts the claim and lets the exclusion constraint say
// whether the slot was free (an exclusion violation is the app's 409); a confirmation is
// another that flips the hold to booked and inserts the appointment. It writes to the same
// tables, schema and constraint as the engine, on the baseline's mirror tenants ("lb-"),
// which the engine never serves, through a pool as large as the engine's.
type baseline struct {
	pool *pgxpool.Pool
	w    *world
}

// baselinePoolSize is the engine's own pool size (cmd/engine: persistence.PoolConfig(…, 32)).
const baselinePoolSize = 32

func newBaseline(ctx context.Context, dbURL string, w *world, concurrency int) (*baseline, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = baselinePoolSize
	if concurrency > 0 {
		cfg.MaxConns = int32(min(concurrency, baselinePoolSize))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &baseline{pool: pool, w: w}, nil
}

func (b *baseline) close() { b.pool.Close() }

func (b *baseline) reserve(ctx context.Context, a attempt, phone, _ string) (reserveAnswer, error) {
	t := b.w.baseline[a.tenant]
	id := uuid.Must(uuid.NewV7())
	var inserted int64
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO fulfillment.claims (id, tenant_id, resource_id, resource_key, service_id,
				starts_at, ends_at, status, expires_at, customer_phone, quote)
			SELECT $1, r.tenant_id, r.id, r.key, $4, $5, $6, 'held', now() + $7::float8 * interval '1 second', $8,
				'{"amount_minor": 14000, "currency": "USD"}'
			FROM fulfillment.resources r WHERE r.tenant_id = $2 AND r.id = $3`,
			id, t.ID, t.Resources[a.resource], serviceID, a.start, a.start.Add(serviceDuration), holdTTL.Seconds(), phone)
		inserted = tag.RowsAffected()
		return err
	})
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == pgerrcode.ExclusionViolation:
		return reserveAnswer{status: http.StatusConflict}, nil
	case err != nil:
		return reserveAnswer{}, err
	case inserted == 0:
		return reserveAnswer{}, fmt.Errorf("baseline: no resource %s/%s (was the baseline tenant applied?)", t.ID, t.Resources[a.resource])
	}
	return reserveAnswer{status: http.StatusCreated, id: id.String()}, nil
}

func (b *baseline) confirm(ctx context.Context, _ attempt, id string) (int, error) {
	status := http.StatusCreated
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		var tenantID, resourceID string
		err := tx.QueryRow(ctx, `UPDATE fulfillment.claims SET status = 'booked', updated_at = now()
			WHERE id = $1 AND status = 'held' AND expires_at > now() RETURNING tenant_id, resource_id`, id).Scan(&tenantID, &resourceID)
		if errors.Is(err, pgx.ErrNoRows) {
			status = http.StatusGone
			return nil
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO fulfillment.appointments (id, tenant_id, resource_id, reservation_id, claim_id, status)
			VALUES ($1, $2, $3, $4, $4, 'booked')`, uuid.Must(uuid.NewV7()), tenantID, resourceID, id)
		return err
	})
	return status, err
}
