package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"ringback/actors/resource"
	"ringback/clock"
)

func flushRequest() *resource.FlushRequest { return &resource.FlushRequest{} }

func clockAt(t time.Time) *clock.Fake { return clock.NewFake(t) }

func TestBookingLifecycleThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)

	// Availability on Monday: 90-minute jobs on a 30-minute grid fit 08:00-10:30 and
	// 13:00-15:30 (06:00 now plus 1h notice cuts nothing).
	r := e.do(http.MethodGet, "/api/v1/tenants/acme/availability?service=drain&resource=mike&from="+
		at("00:00").UTC().Format(time.RFC3339)+"&to="+at("23:59").UTC().Format(time.RFC3339), bookingKey, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	slots := r.json(t)["slots"].([]any)
	var starts []string
	for _, s := range slots {
		starts = append(starts, s.(map[string]any)["starts_at"].(string))
	}
	want := []string{}
	for _, hm := range []string{"08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "13:00", "13:30", "14:00", "14:30", "15:00", "15:30"} {
		want = append(want, at(hm).UTC().Format(time.RFC3339))
	}
	require.Equal(t, want, starts)

	// Hold 09:00 with a quote: 120 + 60 × 1.5 h = 210.00.
	r = e.hold("acme", "mike", at("09:00"), "+15125550199")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	hold := r.json(t)
	require.Equal(t, "mike", hold["resource_id"])
	require.Equal(t, at("10:30").UTC().Format(time.RFC3339), hold["ends_at"])
	require.Equal(t, monday0600.Add(10*time.Minute).UTC().Format(time.RFC3339), hold["expires_at"])
	require.Equal(t, map[string]any{"amount": "210.00", "amount_minor": float64(21000), "currency": "USD"}, hold["quote"])

	// The held slot and the ones overlapping it are gone from availability.
	r = e.do(http.MethodGet, "/api/v1/tenants/acme/availability?service=drain&resource=mike&limit=3&from="+
		at("08:00").UTC().Format(time.RFC3339)+"&to="+at("12:00").UTC().Format(time.RFC3339), bookingKey, nil)
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, r.json(t)["slots"], 1, "only 10:30 is left before noon: %s", r.body)

	// An overlapping hold is refused with 409.
	r = e.hold("acme", "mike", at("09:30"), "+15125550198")
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))

	// Confirm → appointment; confirming again → the same appointment.
	id := hold["id"].(string)
	r = e.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+id+"/confirm", bookingKey, nil)
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	appt := r.json(t)["appointment"].(map[string]any)
	require.Equal(t, "booked", appt["status"])
	r = e.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+id+"/confirm", bookingKey, nil)
	require.Equal(t, http.StatusCreated, r.status)
	require.Equal(t, appt["id"], r.json(t)["appointment"].(map[string]any)["id"])

	// The booked appointment outlives its hold's TTL.
	e.clock.Advance(time.Hour)
	e.flush()
	require.Equal(t, 1, e.liveClaims("acme", "mike"))

	// Reschedule to 14:00: the appointment moves, 09:00 frees up, a sync job is not
	// queued (no connections), the version goes up.
	apptID := appt["id"].(string)
	r = e.do(http.MethodPost, "/api/v1/tenants/acme/appointments/"+apptID+"/reschedule", bookingKey, map[string]string{"starts_at": at("14:00").Format(time.RFC3339)})
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	moved := r.json(t)["appointment"].(map[string]any)
	require.Equal(t, at("14:00").UTC().Format(time.RFC3339), moved["starts_at"])
	require.Equal(t, float64(2), moved["version"])
	r = e.hold("acme", "mike", at("09:00"), "+15125550197")
	require.Equal(t, http.StatusCreated, r.status, "09:00 is free again: %s", r.body)

	// Rescheduling onto a taken slot is refused and leaves the appointment where it was.
	r = e.do(http.MethodPost, "/api/v1/tenants/acme/appointments/"+apptID+"/reschedule", bookingKey, map[string]string{"starts_at": at("09:30").Format(time.RFC3339)})
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)

	// Cancel → 200, cancelled; again → the same answer.
	r = e.do(http.MethodPost, "/api/v1/tenants/acme/appointments/"+apptID+"/cancel", bookingKey, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, "cancelled", r.json(t)["appointment"].(map[string]any)["status"])
	r = e.do(http.MethodPost, "/api/v1/tenants/acme/appointments/"+apptID+"/cancel", bookingKey, nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	e.flush()
	var status string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT status FROM fulfillment.appointments WHERE id = $1`, apptID).Scan(&status))
	require.Equal(t, "cancelled", status)
	require.Equal(t, 1, e.liveClaims("acme", "mike"), "only the 09:00 hold is live")
	require.Equal(t, 1.0, testutil.ToFloat64(e.eng.metrics.Bookings.WithLabelValues("acme", "confirmed")))
	require.Equal(t, 1.0, testutil.ToFloat64(e.eng.metrics.Bookings.WithLabelValues("acme", "rescheduled")))
	require.Equal(t, 1.0, testutil.ToFloat64(e.eng.metrics.Bookings.WithLabelValues("acme", "cancelled")))
}

func TestHoldExpiresAndConfirmingItIsGone(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)

	r := e.hold("acme", "mike", at("09:00"), "+15125550199")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	id := r.json(t)["id"].(string)
	e.flush()
	require.Equal(t, 1.0, testutil.ToFloat64(e.eng.metrics.HoldsActive))

	e.clock.Advance(10 * time.Minute) // the TTL: the actor's timer fires
	e.flush()
	var status string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT status FROM fulfillment.claims WHERE id = $1`, id).Scan(&status))
	require.Equal(t, "expired", status)
	require.Equal(t, 0.0, testutil.ToFloat64(e.eng.metrics.HoldsActive))

	r = e.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+id+"/confirm", bookingKey, nil)
	require.Equal(t, http.StatusGone, r.status, "%s", r.body)

	// Released holds are gone too, and releasing is idempotent.
	r = e.hold("acme", "mike", at("09:00"), "+15125550199")
	require.Equal(t, http.StatusCreated, r.status, "the expired hold freed the slot: %s", r.body)
	id = r.json(t)["id"].(string)
	require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/api/v1/tenants/acme/reservations/"+id, bookingKey, nil).status)
	require.Equal(t, http.StatusNoContent, e.do(http.MethodDelete, "/api/v1/tenants/acme/reservations/"+id, bookingKey, nil).status)
	require.Equal(t, http.StatusGone, e.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+id+"/confirm", bookingKey, nil).status)
}

func TestIdempotencyKeyReturnsTheFirstAnswerAcrossRestarts(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)

	first := e.hold("acme", "", at("09:00"), "+15125550199", "Idempotency-Key: order-1")
	require.Equal(t, http.StatusCreated, first.status, "%s", first.body)
	again := e.hold("acme", "", at("09:00"), "+15125550199", "Idempotency-Key: order-1")
	require.Equal(t, http.StatusCreated, again.status)
	require.JSONEq(t, string(first.body), string(again.body))
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))

	// The same key for another request is refused, not silently answered.
	other := e.hold("acme", "", at("13:00"), "+15125550199", "Idempotency-Key: order-1")
	require.Equal(t, http.StatusUnprocessableEntity, other.status, "%s", other.body)

	// A new process (fresh actors, same database) still knows the key.
	e.flush()
	e2 := newTestEngineOn(t, e.pool, e.clock, testBox(t))
	replay := e2.hold("acme", "", at("09:00"), "+15125550199", "Idempotency-Key: order-1")
	require.Equal(t, http.StatusCreated, replay.status)
	require.JSONEq(t, string(first.body), string(replay.body))
	require.Equal(t, 1, e.liveClaims("acme", "mike")+e.liveClaims("acme", "ana"))
}

// TestConcurrentHoldsOnOneSlotExactlyOneWins races 200 callers for overlapping slots of one
// resource through the HTTP API, on 50 resources at once.
func TestConcurrentHoldsOnOneSlotExactlyOneWins(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	const resources, callers = 50, 200
	cfg := "id: race\nname: Race\ntimezone: America/Chicago\nservices:\n  - {id: drain, name: Drain, duration: 90m, price: {base: 100, currency: USD}}\nresources:\n"
	for i := range resources {
		cfg += fmt.Sprintf("  - {id: r%02d, name: R%d, services: [drain], hours: {mon: [\"08:00-17:00\"]}}\n", i, i)
	}
	cfg += "policies: {min_notice: 1h, slot_step: 30m}\nbooking_api_key: \"" + bookingKey + "\"\n"
	e.apply(cfg)

	// Every caller asks for one of three overlapping starts (09:00, 09:30, 10:00: each pair
	// overlaps a 90-minute job), so exactly one can win per resource.
	starts := []time.Time{at("09:00"), at("09:30"), at("10:00")}
	type outcome struct{ created, conflict, other int }
	results := make([]outcome, resources)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for r := range resources {
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp := e.hold("race", fmt.Sprintf("r%02d", r), starts[c%3], fmt.Sprintf("+1512555%04d", c))
				mu.Lock()
				defer mu.Unlock()
				switch resp.status {
				case http.StatusCreated:
					results[r].created++
				case http.StatusConflict:
					results[r].conflict++
				default:
					results[r].other++
					t.Errorf("resource %d: unexpected %d %s", r, resp.status, resp.body)
				}
			}()
		}
	}
	wg.Wait()
	e.flush()
	for r, o := range results {
		require.Equal(t, outcome{created: 1, conflict: callers - 1}, o, "resource r%02d", r)
		require.Equal(t, 1, e.liveClaims("race", fmt.Sprintf("r%02d", r)))
	}
}

// TestTwoActivationsOfOneResourceCannotDoubleBook is the split brain: two engines (two
// actor systems, two directories) on one database each run an actor for the same resource,
// neither knowing the other's holds. Postgres refuses the second overlapping claim.
func TestTwoActivationsOfOneResourceCannotDoubleBook(t *testing.T) {
	t.Parallel()
	a, b := twoActivations(t)

	r := a.hold("acme", "mike", at("09:00"), "+15125550199")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	r = b.hold("acme", "mike", at("09:30"), "+15125550198")
	require.Equal(t, http.StatusConflict, r.status, "the database must refuse the overlap: %s", r.body)
	require.Equal(t, 1.0, testutil.ToFloat64(b.eng.metrics.ClaimConflictsInDB.WithLabelValues("hold")))
	require.Equal(t, 1, a.liveClaims("acme", "mike"))

	// Having reloaded after the conflict, b now refuses from memory, without Postgres.
	r = b.hold("acme", "mike", at("10:00"), "+15125550197")
	require.Equal(t, http.StatusConflict, r.status)
	require.Equal(t, 1.0, testutil.ToFloat64(b.eng.metrics.ClaimConflictsInDB.WithLabelValues("hold")))
}

// TestAHoldTakenOnOneActivationIsConfirmedOnAnother: during a topology change the hold
// is taken on one node's activation and its confirm (or release) reaches the other's,
// which loaded the resource before the hold was written. Postgres has the hold live, so
// the other activation adopts it: the confirm books it (once), the release frees it.
func TestAHoldTakenOnOneActivationIsConfirmedOnAnother(t *testing.T) {
	t.Parallel()
	a, b := twoActivations(t)

	confirm := func(e *testEngine, id string) response {
		return e.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+id+"/confirm", bookingKey, nil)
	}
	r := a.hold("acme", "mike", at("09:00"), "+15125550199")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	held := r.json(t)["id"].(string)
	r = confirm(b, held)
	require.Equal(t, http.StatusCreated, r.status, "the other activation confirms the hold Postgres has: %s", r.body)
	appt := r.json(t)["appointment"].(map[string]any)["id"].(string)
	r = confirm(a, held)
	require.Equal(t, http.StatusCreated, r.status, "a repeat on the first activation is the same appointment: %s", r.body)
	require.Equal(t, appt, r.json(t)["appointment"].(map[string]any)["id"])
	require.Equal(t, 1, a.count(`SELECT count(*) FROM fulfillment.appointments`))
	r = a.hold("acme", "mike", at("09:30"), "+15125550196")
	require.Equal(t, http.StatusConflict, r.status, "the first activation now knows the slot is booked: %s", r.body)
	require.Zero(t, testutil.ToFloat64(a.eng.metrics.ClaimConflictsInDB.WithLabelValues("hold")), "refused from memory, not by Postgres")

	r = a.hold("acme", "mike", at("13:00"), "+15125550198")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	released := r.json(t)["id"].(string)
	r = b.do(http.MethodDelete, "/api/v1/tenants/acme/reservations/"+released, bookingKey, nil)
	require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
	b.flush() // the release's write is committed
	var status string
	require.NoError(t, a.pool.QueryRow(context.Background(), `SELECT status FROM fulfillment.claims WHERE id = $1`, released).Scan(&status))
	require.Equal(t, "released", status, "the release reached Postgres")
	r = b.hold("acme", "mike", at("13:00"), "+15125550197")
	require.Equal(t, http.StatusCreated, r.status, "the released slot is free on the activation that released it: %s", r.body)
}

// twoActivations is two engines on one database, each with an activation of acme/mike
// that has loaded the resource's (empty) state: the split brain of a topology change.
func twoActivations(t *testing.T) (a, b *testEngine) {
	a = newTestEngine(t)
	a.apply(plumber)
	b = newTestEngineOn(t, a.pool, a.clock, testBox(t))
	a.flushResource("acme/mike")
	b.flushResource("acme/mike")
	return a, b
}

func (e *testEngine) flushResource(identity string) {
	e.t.Helper()
	_, err := e.eng.directory.Request(context.Background(), resource.Kind, identity, &resource.FlushRequest{}, 5*time.Second)
	require.NoError(e.t, err)
}

// TestHoldsSurviveACrash: holds and appointments are placed, the process dies without
// any shutdown, and a new process finds the holds live (expiring on time) and every
// appointment there.
func TestHoldsSurviveACrash(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)

	var holds, booked []string
	for i, hm := range []string{"08:00", "09:30", "13:00", "14:30"} {
		r := e.hold("acme", "mike", at(hm), fmt.Sprintf("+151255501%02d", i))
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		holds = append(holds, r.json(t)["id"].(string))
	}
	for _, id := range holds[:2] {
		r := e.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+id+"/confirm", bookingKey, nil)
		require.Equal(t, http.StatusCreated, r.status)
		booked = append(booked, r.json(t)["appointment"].(map[string]any)["id"].(string))
	}
	// "Crash": abandon the first engine's actors without stopping them; every answer it
	// gave was committed before it was given, so nothing needs flushing.
	e.clock.Advance(4 * time.Minute)
	e2 := newTestEngineOn(t, e.pool, clockAt(e.clock.Now()), testBox(t))

	// The new process still holds the two open holds: their slots are refused...
	r := e2.hold("acme", "mike", at("13:30"), "+15125550150")
	require.Equal(t, http.StatusConflict, r.status, "13:00 is still held: %s", r.body)
	// ...and they expire on time (6 minutes left of the 10-minute TTL), by the new
	// process's own timers.
	e2.clock.Advance(5 * time.Minute)
	e2.flush()
	require.Equal(t, 4, e2.liveClaims("acme", "mike"))
	e2.clock.Advance(time.Minute)
	e2.flush()
	require.Equal(t, 2, e2.liveClaims("acme", "mike"), "only the two appointments are left")
	for _, id := range holds[2:] {
		var status string
		require.NoError(t, e2.pool.QueryRow(context.Background(), `SELECT status FROM fulfillment.claims WHERE id = $1`, id).Scan(&status))
		require.Equal(t, "expired", status)
	}
	for _, id := range booked {
		var status string
		require.NoError(t, e2.pool.QueryRow(context.Background(), `SELECT status FROM fulfillment.appointments WHERE id = $1`, id).Scan(&status))
		require.Equal(t, "booked", status)
	}
}

// TestSweeperExpiresHoldsOfADeadProcess: holds whose actor died with its process are
// expired by the sweeper once their time is up, and not before.
func TestSweeperExpiresHoldsOfADeadProcess(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)
	r := e.hold("acme", "mike", at("09:00"), "+15125550199")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	ctx := context.Background()

	n, err := e.eng.fulfillment.ExpireStale(ctx, monday0600.Add(9*time.Minute))
	require.NoError(t, err)
	require.Zero(t, n, "not yet due")
	n, err = e.eng.fulfillment.ExpireStale(ctx, monday0600.Add(10*time.Minute))
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	require.Zero(t, e.liveClaims("acme", "mike"))
}

// TestIdleResourceActorsPassivateAndComeBack: an actor with no live holds stops after its
// idle timeout and the next request gets a fresh activation with the same data.
func TestIdleResourceActorsPassivateAndComeBack(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)
	r := e.hold("acme", "mike", at("09:00"), "+15125550199")
	require.Equal(t, http.StatusCreated, r.status)
	id := r.json(t)["id"].(string)
	pid, ok := e.eng.directory.Lookup(resource.Kind, "acme/mike")
	require.True(t, ok)

	// With a live hold (a timer to keep), an idle timeout does not passivate it.
	e.eng.system.Root.Send(pid, &actor.ReceiveTimeout{})
	e.flush() // answered after the timeout was handled: mailbox order
	_, live := e.eng.directory.Lookup(resource.Kind, "acme/mike")
	require.True(t, live)

	require.Equal(t, http.StatusCreated, e.do(http.MethodPost, "/api/v1/tenants/acme/reservations/"+id+"/confirm", bookingKey, nil).status)
	e.flush()

	// Deliver the idle timeout (as its timer would) and wait until the actor has stopped:
	// a watcher hears its Terminated.
	stopped := make(chan struct{})
	e.eng.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			c.Watch(pid)
			c.Send(pid, &actor.ReceiveTimeout{})
		case *actor.Terminated:
			close(stopped)
		}
	}))
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the idle actor did not passivate")
	}
	_, live = e.eng.directory.Lookup(resource.Kind, "acme/mike")
	require.False(t, live, "a passivated actor leaves the directory")

	// The booked slot is still refused by the new activation, which loaded it from Postgres.
	r = e.hold("acme", "mike", at("09:30"), "+15125550198")
	require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
	again, ok := e.eng.directory.Lookup(resource.Kind, "acme/mike")
	require.True(t, ok)
	require.False(t, again.Equal(pid), "a new activation")
}

// TestOneTenantsKeyOpensNoOtherTenantsRoutes: a booking key works only on its own tenant,
// and ids of another tenant's holds and appointments are unknown (404), never leaked.
func TestOneTenantsKeyOpensNoOtherTenantsRoutes(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)
	const otherKey = "other-booking-key-0123456789"
	other := strings.NewReplacer("id: acme", "id: other", "Acme Plumbing", "Other Plumbing", "+15125550100", "+15125550101", bookingKey, otherKey).Replace(plumber)
	e.apply(other)

	r := e.hold("acme", "mike", at("09:00"), "+15125550199")
	require.Equal(t, http.StatusCreated, r.status)
	holdID := r.json(t)["id"].(string)

	// acme's key on other's routes: 401, whatever the route.
	for _, path := range []string{
		"/api/v1/tenants/other/availability?service=drain&from=2030-01-07T00:00:00Z&to=2030-01-08T00:00:00Z",
		"/api/v1/tenants/other/reservations/" + holdID + "/confirm",
	} {
		method := http.MethodGet
		if strings.HasSuffix(path, "/confirm") {
			method = http.MethodPost
		}
		require.Equal(t, http.StatusUnauthorized, e.do(method, path, bookingKey, nil).status, path)
	}
	// other's key on its own routes, with acme's ids: not found, and acme's hold untouched.
	require.Equal(t, http.StatusNotFound, e.do(http.MethodPost, "/api/v1/tenants/other/reservations/"+holdID+"/confirm", otherKey, nil).status)
	require.Equal(t, http.StatusNotFound, e.do(http.MethodDelete, "/api/v1/tenants/other/reservations/"+holdID, otherKey, nil).status)
	require.Equal(t, http.StatusNotFound, e.do(http.MethodPost, "/api/v1/tenants/other/appointments/"+holdID+"/cancel", otherKey, nil).status)
	e.flush()
	require.Equal(t, 1, e.liveClaims("acme", "mike"))
	// An unknown tenant answers like a wrong key.
	require.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, "/api/v1/tenants/nobody/availability", bookingKey, nil).status)
}

func TestBookingAPIRefusesBadInputWithTheFieldAtFault(t *testing.T) {
	t.Parallel()
	e := newTestEngine(t)
	e.apply(plumber)
	post := func(body string, headers ...string) response {
		return e.do(http.MethodPost, "/api/v1/tenants/acme/reservations", bookingKey, body, headers...)
	}
	cases := []struct{ body, field string }{
		{`{"service":"drain","starts_at":"tomorrow","customer":{"phone":"+15125550199"}}`, "starts_at"},
		{`{"service":"drain","starts_at":"2030-01-07T09:00:00-06:00","customer":{"phone":"5125550199"}}`, "customer.phone"},
		{`{"service":"","starts_at":"2030-01-07T09:00:00-06:00","customer":{"phone":"+15125550199"}}`, "service"},
		{`{"service":"roof","starts_at":"2030-01-07T09:00:00-06:00","customer":{"phone":"+15125550199"}}`, "service"},
		{`{"service":"drain","starts_at":"2030-01-07T09:10:00-06:00","customer":{"phone":"+15125550199"},"resource_id":"mike"}`, "starts_at"},
		{`{"service":"drain","starts_at":"2030-01-07T09:00:00-06:00","customer":{"phone":"+15125550199"},"resource_id":"zed"}`, "resource_id"},
		{`{"service":"drain","starts_at":"2030-01-07T09:00:00-06:00","customer":{"phone":"+15125550199"},"extra":1}`, ""},
	}
	for _, c := range cases {
		r := post(c.body)
		require.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, r.status, "%s: %s", c.body, r.body)
		require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
		if c.field != "" {
			require.Contains(t, string(r.body), `"field":"`+c.field+`"`, c.body)
		}
	}
	r := post(`{"service":"drain","starts_at":"2030-01-07T09:00:00-06:00","customer":{"phone":"+15125550199"}}`, "Idempotency-Key: has space")
	require.Equal(t, http.StatusUnprocessableEntity, r.status)
	r = post(strings.Repeat("x", 2<<20))
	require.Equal(t, http.StatusRequestEntityTooLarge, r.status)
	require.Zero(t, e.liveClaims("acme", "mike")+e.liveClaims("acme", "ana"), "bad input changes nothing")
}
