package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The reminders scenario: a morning peak. N booked visits whose reminders all fall due
// within the same minute, spread over every tenant's business numbers (a few of the
// customers opted out), written straight into Postgres as the engine would have at booking
// time. The harness then waits until the engine's scheduler has handed every one over and
// each SMS has reached the fake Twilio, and measures each reminder's lateness: from its
// due time, and beyond what its sender's rate forces (the k-th reminder of a number sending
// r a second cannot leave before the token bucket allows it).
const (
	scReminders = "reminders"
	// reminderFirstDay is the day (from the world's day 0) of the first seeded visit,
	// after the days the other scenarios book, so no seeded claim overlaps theirs.
	reminderFirstDay = 40
	// reminderOptOutEvery: one customer in this many opted out before their reminder.
	reminderOptOutEvery = 100
	reminderOp          = "due → SMS at fake Twilio"
	reminderBeyondOp    = "beyond the sender's rate (forced departure → SMS)"
)

// seededReminder is one reminder the scenario wrote.
type seededReminder struct {
	phone, endpoint string
	due             time.Time
	optedOut        bool
}

func (h *harness) reminders(ctx context.Context, n int) ScenarioReport {
	rep := ScenarioReport{Name: scReminders, System: sysRingback, Planned: n, OfferedRate: float64(n) / 60}
	if h.proc == nil {
		rep.Notes = append(rep.Notes, "reminders needs the harness's own engine and fake Twilio (not --target): skipped")
		return rep
	}
	// The peak starts once the rows are surely written (about 5,000 a second here), so
	// none is due before the scenario watches.
	lead := 2*time.Second + time.Duration(n/5000)*time.Second
	t0 := time.Now().Add(lead).Truncate(time.Second)
	seedStart := time.Now()
	seeded, err := h.seedReminders(ctx, n, t0)
	if err != nil {
		h.problem("reminders: seeding: %v", err)
		rep.ErrorCount = 1
		return rep
	}
	h.logf("reminders: seeded %d visits in %s; due from %s", n, time.Since(seedStart).Round(time.Millisecond), t0.Format(time.TimeOnly))

	bar := h.newProgress(fmt.Sprintf("%-13s %s", scReminders, sysRingback), n)
	cpu0 := sampleCPU(h.enginePID())
	rec := newRecorder(t0)
	rec.declare(reminderOp, reminderBeyondOp)
	deadline := t0.Add(time.Minute + h.opts.Drain)
	want := 0
	for _, s := range seeded {
		if !s.optedOut {
			want++
		}
	}
	// Wait for every reminder to be finished in Postgres and every SMS at the fake.
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	shown := 0
	for {
		var open int
		if err := h.pool.QueryRow(ctx, `SELECT count(*) FROM fulfillment.reminders WHERE kind = 'reminder' AND offset_seconds = 86400
			AND due_at >= $1 AND due_at < $2 AND state IN ('pending', 'claimed')`, t0, t0.Add(time.Minute)).Scan(&open); err != nil {
			h.problem("reminders: %v", err)
			break
		}
		arrived := h.arrivedReminders(seeded)
		for ; shown < n-open && shown < n; shown++ {
			bar.add()
		}
		if open == 0 && arrived >= want || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	bar.finish()
	cpu := sampleCPU(h.enginePID()).share(cpu0)

	// Lateness per reminder, and beyond the sender's token bucket.
	rate := float64(sendRate)
	byEndpoint := map[string][]seededReminder{}
	for _, s := range seeded {
		if !s.optedOut {
			byEndpoint[s.endpoint] = append(byEndpoint[s.endpoint], s)
		}
	}
	once := Invariant{Name: "every due reminder sent exactly once (none to an opted-out customer)"}
	for ep, list := range byEndpoint {
		sort.Slice(list, func(i, j int) bool { return list[i].due.Before(list[j].due) })
		forced := tokenBucket(list, rate, rate)
		for i, s := range list {
			msgs := h.inbox.all(pair{customer: s.phone, business: ep})
			once.Checked++
			if len(msgs) != 1 {
				once.violate(fmt.Sprintf("%s → %s: %d SMS", ep, s.phone, len(msgs)))
				if len(msgs) == 0 {
					rec.fail("reminder never arrived")
					continue
				}
			}
			rec.observe(reminderOp, s.due, msgs[0].At)
			rec.observe(reminderBeyondOp, forced[i], msgs[0].At)
			rec.outcome("sent")
		}
	}
	for _, s := range seeded {
		if s.optedOut {
			once.Checked++
			if msgs := h.inbox.all(pair{customer: s.phone, business: s.endpoint}); len(msgs) > 0 {
				once.violate(fmt.Sprintf("%s → %s opted out and got %d SMS", s.endpoint, s.phone, len(msgs)))
			}
			rec.outcome("suppressed (opted out)")
		}
	}
	var states = map[string]int{}
	rows, err := h.pool.Query(ctx, `SELECT state || COALESCE(':' || reason, ''), count(*) FROM fulfillment.reminders
		WHERE kind = 'reminder' AND offset_seconds = 86400 AND due_at >= $1 AND due_at < $2 GROUP BY 1`, t0, t0.Add(time.Minute))
	if err == nil {
		var state string
		var c int
		_, err = pgx.ForEachRow(rows, []any{&state, &c}, func() error { states[state] = c; return nil })
	}
	if err != nil {
		h.problem("reminders: reading their states: %v", err)
	}
	// An opted-out customer's reminder is handed over too (no conversation of theirs says
	// so here); the outbox's claim, which reads the opt-out list, suppresses its SMS.
	if states["sent"] != n {
		once.violate(fmt.Sprintf("states in Postgres %v, want all %d sent", states, n))
	}
	h.addCheck(once.done())

	wall := time.Since(t0)
	rep.Started, rep.WallS, rep.DurationS = n, round1(wall.Seconds()), 60
	rep.AchievedRate = round1(float64(want) / wall.Seconds())
	rep.Ops, rep.Outcomes, rep.Errors, rep.ErrorCount, rep.CPU = rec.reports(wall), rec.outcomes.snapshot(), rec.errors.snapshot(), rec.errors.total(), &cpu
	rep.Notes = append(rep.Notes, fmt.Sprintf("%d reminders due within one minute from %d business numbers at %d SMS/s each (forced spread per number: %.1f s); %d opted out",
		n, len(byEndpoint), sendRate, float64(n/max(1, len(byEndpoint)))/rate, n-want))
	h.logf("reminders: %d sent, %d skipped, %.1fs from the first due time", want, n-want, wall.Seconds())
	return rep
}

// arrivedReminders counts the seeded reminders whose SMS reached the fake Twilio.
func (h *harness) arrivedReminders(seeded []seededReminder) int {
	n := 0
	for _, s := range seeded {
		if !s.optedOut && len(h.inbox.all(pair{customer: s.phone, business: s.endpoint})) > 0 {
			n++
		}
	}
	return n
}

// tokenBucket returns, for reminders due in order from one sender, the earliest each can
// leave through a token bucket of `rate` tokens a second holding `burst` (the outbox's, full
// at the first due time).
func tokenBucket(list []seededReminder, rate, burst float64) []time.Time {
	out := make([]time.Time, len(list))
	tokens, at := burst, list[0].due
	for i, s := range list {
		t := s.due
		if t.Before(at) {
			t = at
		}
		tokens = min(burst, tokens+t.Sub(at).Seconds()*rate)
		if tokens < 1 {
			t = t.Add(time.Duration((1 - tokens) / rate * float64(time.Second)))
			tokens = 1
		}
		tokens--
		at, out[i] = t, t
	}
	return out
}

// seedReminders writes n booked visits with one reminder each due in [t0, t0+1min), as
// the engine's resource actors would have at booking time (claims, appointments, reminder
// rows), round robin over the business numbers, every customer a new number.
func (h *harness) seedReminders(ctx context.Context, n int, t0 time.Time) ([]seededReminder, error) {
	keys := map[string]int64{}
	rows, err := h.pool.Query(ctx, `SELECT tenant_id || '/' || id, key FROM fulfillment.resources`)
	if err != nil {
		return nil, err
	}
	var name string
	var key int64
	if _, err := pgx.ForEachRow(rows, []any{&name, &key}, func() error { keys[name] = key; return nil }); err != nil {
		return nil, err
	}
	var claims, appts, rems [][]any
	seeded := make([]seededReminder, n)
	perResource := map[string]int{}
	quote := map[string]any{"amount_minor": 14000, "currency": "USD"}
	for i := range n {
		ep := h.world.endpoints[i%len(h.world.endpoints)]
		tn := h.world.tenants[ep.tenant]
		res := tn.Resources[(i/len(h.world.endpoints))%len(tn.Resources)]
		k := perResource[tn.ID+"/"+res]
		perResource[tn.ID+"/"+res]++
		start := h.world.day0.AddDate(0, 0, reminderFirstDay+k/24).Add(time.Duration(k%24) * time.Hour)
		claim, appt := uuid.New(), uuid.New()
		phone := h.newCaller()
		due := t0.Add(time.Duration(i%60) * time.Second)
		claims = append(claims, []any{claim, tn.ID, res, keys[tn.ID+"/"+res], serviceID, start, start.Add(serviceDuration), "booked", phone, ep.number, quote})
		appts = append(appts, []any{appt, tn.ID, res, claim, claim, "booked"})
		rems = append(rems, []any{appt, int64(1), "reminder", int64(86400), tn.ID, res, ep.number, phone, due})
		seeded[i] = seededReminder{phone: phone, endpoint: ep.number, due: due, optedOut: i%reminderOptOutEvery == reminderOptOutEvery-1}
	}
	return seeded, pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"fulfillment", "claims"}, []string{"id", "tenant_id", "resource_id", "resource_key",
			"service_id", "starts_at", "ends_at", "status", "customer_phone", "customer_endpoint", "quote"}, pgx.CopyFromRows(claims)); err != nil {
			return fmt.Errorf("claims: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"fulfillment", "appointments"}, []string{"id", "tenant_id", "resource_id",
			"reservation_id", "claim_id", "status"}, pgx.CopyFromRows(appts)); err != nil {
			return fmt.Errorf("appointments: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"fulfillment", "reminders"}, []string{"appointment_id", "version", "kind",
			"offset_seconds", "tenant_id", "resource_id", "endpoint", "customer_phone", "due_at"}, pgx.CopyFromRows(rems)); err != nil {
			return fmt.Errorf("reminders: %w", err)
		}
		var eps, phones []string
		for _, s := range seeded {
			if s.optedOut {
				eps, phones = append(eps, s.endpoint), append(phones, s.phone)
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO conversation.opt_outs (endpoint, customer_phone) SELECT * FROM unnest($1::text[], $2::text[])`, eps, phones)
		return err
	})
}
