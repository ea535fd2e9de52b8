package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"

	"ringback/vendors/google"
)

// holdExpiryGrace is how far past its expiry a hold may still read 'held': the engine's
// sweeper runs every 30 s (its actor's timer is meant to expire it at once).
const holdExpiryGrace = 35 * time.Second

func numCPU() int { return runtime.NumCPU() }

// final heals everything, waits (bounded) for the engine to finish, and checks that
// every accepted request had its effect exactly once.
func (s *suite) final(ctx context.Context) error {
	s.proxy.Heal()
	s.proxy.SetLatency(0)
	s.twilio.Heal()
	s.google.Heal()
	s.jobber.Heal()
	sec := s.rep.add("Final checks", "")
	calls, holds := s.drv.snapshot()

	var accepted []*callRec
	refused := map[string]int{}
	for _, c := range calls {
		if c.status == http.StatusOK {
			accepted = append(accepted, c)
		} else {
			refused[statusName(c.status)]++
		}
	}
	var heldIDs, confirmed []*holdRec
	holdRefused := map[string]int{}
	confirmRefused := map[string]int{}
	for _, h := range holds {
		if h.status/100 == 2 && h.id != "" {
			heldIDs = append(heldIDs, h)
		} else {
			holdRefused[statusName(h.status)]++
		}
		if h.confirmSent {
			if h.confirmStatus/100 == 2 && h.appointmentID != "" {
				confirmed = append(confirmed, h)
			} else {
				confirmRefused[statusName(h.confirmStatus)]++
			}
		}
	}

	start := time.Now()
	drained := s.waitQuiet(ctx, s.plan.drain)
	numbers := make([]string, len(accepted))
	for i, c := range accepted {
		numbers[i] = c.from
	}
	repliesIn := s.waitAllMessaged(ctx, numbers, max(5*time.Second, s.plan.drain-time.Since(start)))
	drainTook := time.Since(start)

	// The unconfirmed holds of the warm-up (live in the actors the kills then killed) must
	// have expired: wait until they are past expiry + grace, when that fits. Later holds
	// are checked when they are due by the end of the run.
	var due []uuid.UUID
	for _, h := range heldIDs {
		if !h.confirmSent && h.phase == "warm-up" {
			if id, err := uuid.Parse(h.id); err == nil {
				due = append(due, id)
			}
		}
	}
	var lastExpiry *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT max(expires_at) FROM fulfillment.claims WHERE id = ANY($1)`, due).Scan(&lastExpiry); err != nil {
		return err
	}
	if lastExpiry != nil {
		if wait := time.Until(lastExpiry.Add(holdExpiryGrace + time.Second)); wait > 0 && wait < s.plan.drain {
			s.logf("waiting %s for the unconfirmed holds of the warm-up to be past expiry + %s", wait.Round(time.Second), holdExpiryGrace)
			_ = sleep(ctx, wait)
		}
	}
	holdsDone := poll(ctx, 5*time.Second, func() bool {
		n, err := s.overdueHolds(ctx)
		return err == nil && n == 0
	})

	// Missed calls: envelope stored and processed, exactly one auto-reply each.
	keys := make([]string, len(accepted))
	for i, c := range accepted {
		keys[i] = "voice:" + c.sid + ":no-answer"
	}
	processed := map[string]bool{}
	rows, err := s.pool.Query(ctx, `SELECT key, processed_at IS NOT NULL FROM conversation.webhook_envelopes WHERE key = ANY($1)`, keys)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k string
		var p bool
		if err := rows.Scan(&k, &p); err != nil {
			return err
		}
		processed[k] = p
	}
	if err := rows.Err(); err != nil {
		return err
	}
	perTo := map[string]int{}
	for _, m := range s.twilio.Messages() {
		perTo[m.To]++
	}
	missingEnv, unprocessed, noReply, dupCalls, dupExtra := 0, 0, 0, 0, 0
	var examples []string
	for i, c := range accepted {
		p, ok := processed[keys[i]]
		switch {
		case !ok:
			missingEnv++
			examples = appendMax(examples, "no envelope for "+c.sid)
		case !p:
			unprocessed++
			examples = appendMax(examples, "unprocessed "+c.sid)
		}
		switch n := perTo[c.from]; {
		case n == 0:
			noReply++
			examples = appendMax(examples, "no auto-reply to "+c.from+" ("+c.sid+")")
		case n > 1:
			dupCalls++
			dupExtra += n - 1
		}
	}
	// Duplicates among refused calls are counted too (a webhook whose answer was lost may
	// still have been stored and processed).
	refusedDup := 0
	for _, c := range calls {
		if c.status != http.StatusOK && perTo[c.from] > 1 {
			refusedDup += perTo[c.from] - 1
		}
	}

	sec.num("missed-call webhooks sent", "%d: %d accepted (200), refused %s", len(calls), len(accepted), formatCounts(refused))
	sec.num("holds sent", "%d: %d accepted (201), refused %s", len(holds), len(heldIDs), formatCounts(holdRefused))
	sec.num("confirms", "%d answered 2xx, refused %s", len(confirmed), formatCounts(confirmRefused))
	sec.num("drain after the load stopped", "%s (quiet: %v)", drainTook.Round(time.Millisecond), drained)
	sec.num("duplicate auto-replies", "%d extra SMS to %d callers (accepted calls), %d extra to callers whose webhook was refused; %d kills", dupExtra, dupCalls, refusedDup, s.killed)
	sec.check("every accepted missed call has its envelope, processed", missingEnv == 0 && unprocessed == 0, "%d accepted, %d missing, %d unprocessed %s", len(accepted), missingEnv, unprocessed, strings.Join(examples, "; "))
	sec.check("every accepted missed call got an auto-reply", noReply == 0 && repliesIn, "%d accepted, %d without a reply", len(accepted), noReply)
	sec.check("duplicate auto-replies stay inside the documented window (≤ 1 per kill)", dupExtra+refusedDup <= s.killed,
		"%d duplicates, %d kills (docs/MESSAGING.md: only a kill between the provider's acceptance and its record may duplicate)", dupExtra+refusedDup, s.killed)

	// The outbox: nothing left pending or sending (a row left 'sending' is sent again by
	// the next start: a duplicate outside the kill window).
	var stuck []string
	rows, err = s.pool.Query(ctx, `SELECT client_message_id || ' ' || status || ' since ' || to_char(updated_at, 'HH24:MI:SS.MS') || ' attempts ' || attempts
		FROM conversation.deliveries WHERE status IN ('pending', 'sending') ORDER BY updated_at`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return err
		}
		stuck = append(stuck, d)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sec.check("no SMS delivery left pending or sending", len(stuck) == 0, "%d: %s", len(stuck), strings.Join(appendMaxAll(stuck), "; "))

	// Holds: each accepted hold is in the database, booked, expired or still in its TTL.
	ids := make([]uuid.UUID, 0, len(heldIDs))
	for _, h := range heldIDs {
		if id, err := uuid.Parse(h.id); err == nil {
			ids = append(ids, id)
		}
	}
	claimStatus := map[string]string{}
	rows, err = s.pool.Query(ctx, `SELECT id::text, status FROM fulfillment.claims WHERE id = ANY($1)`, ids)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			return err
		}
		claimStatus[id] = st
	}
	if err := rows.Err(); err != nil {
		return err
	}
	byStatus := map[string]int{}
	missingHold := 0
	for _, h := range heldIDs {
		st, ok := claimStatus[h.id]
		if !ok {
			missingHold++
			st = "missing"
		}
		byStatus[st]++
	}
	overdue, err := s.overdueHolds(ctx)
	if err != nil {
		return err
	}
	var dueNow, dueExpired int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE expires_at < now() - $2::interval), count(*) FILTER (WHERE expires_at < now() - $2::interval AND status = 'expired')
		FROM fulfillment.claims WHERE id = ANY($1)`, ids, fmt.Sprintf("%d seconds", int(holdExpiryGrace.Seconds()))).Scan(&dueNow, &dueExpired); err != nil {
		return err
	}
	sec.num("accepted holds now", "%s", formatCounts(byStatus))
	sec.num("accepted holds past expiry + 35 s", "%d, of which %d written 'expired' (the others were booked)", dueNow, dueExpired)
	sec.check("every accepted hold is stored", missingHold == 0, "%d missing of %d", missingHold, len(heldIDs))
	sec.check("no hold outlives its TTL (held with expires_at < now − 35 s)", overdue == 0 && holdsDone && dueExpired > 0, "%d overdue, %d checked expired", overdue, dueExpired)

	// Appointments: each 2xx confirm exists exactly once, booked.
	apptIDs := make([]uuid.UUID, 0, len(confirmed))
	for _, h := range confirmed {
		if id, err := uuid.Parse(h.appointmentID); err == nil {
			apptIDs = append(apptIDs, id)
		}
	}
	var found, booked, perReservation int
	if err := s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'booked') FROM fulfillment.appointments WHERE id = ANY($1)`, apptIDs).Scan(&found, &booked); err != nil {
		return err
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT reservation_id FROM fulfillment.appointments GROUP BY reservation_id HAVING count(*) > 1) d`).Scan(&perReservation); err != nil {
		return err
	}
	var allBooked int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM fulfillment.appointments WHERE status = 'booked'`).Scan(&allBooked); err != nil {
		return err
	}
	sec.num("appointments in the database", "%d booked (%d confirmed with a 2xx answer; the rest were confirmed with the answer lost)", allBooked, len(confirmed))
	sec.check("every 2xx confirm is exactly one booked appointment", found == len(apptIDs) && booked == len(apptIDs) && perReservation == 0,
		"%d confirmed, %d found, %d booked, %d reservations with more than one appointment", len(apptIDs), found, booked, perReservation)

	// No double booking: no two live claims of one resource overlap (counted here, not
	// trusted to the constraint that should make it impossible).
	var overlaps int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM fulfillment.claims a JOIN fulfillment.claims b
		ON a.tenant_id = b.tenant_id AND a.resource_id = b.resource_id AND a.id < b.id
			AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
		WHERE a.status IN ('held', 'booked') AND b.status IN ('held', 'booked')`).Scan(&overlaps); err != nil {
		return err
	}
	sec.check("no two live claims of one resource overlap", overlaps == 0, "%d overlapping pairs", overlaps)

	// Sync: every job done; Google and Jobber hold exactly one event/job per appointment.
	jobStates := map[string]int{}
	rows, err = s.pool.Query(ctx, `SELECT provider || ' ' || state, count(*) FROM fulfillment.sync_jobs GROUP BY 1`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		jobStates[k] = n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	notDone := 0
	for k, n := range jobStates {
		if !strings.HasSuffix(k, " done") {
			notDone += n
		}
	}
	var bookedIDs []string
	rows, err = s.pool.Query(ctx, `SELECT a.id::text, a.resource_id FROM fulfillment.appointments a WHERE a.status = 'booked'`)
	if err != nil {
		return err
	}
	type appt struct{ id, resource string }
	var appts []appt
	for rows.Next() {
		var a appt
		if err := rows.Scan(&a.id, &a.resource); err != nil {
			return err
		}
		appts = append(appts, a)
		bookedIDs = append(bookedIDs, a.id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	eventCount := 0
	for i := range resourceCount {
		for _, ev := range s.google.Events(calendarID(i)) {
			if ev.Status != "cancelled" {
				eventCount++
			}
		}
	}
	gMissing := 0
	for _, a := range appts {
		ev, ok := s.google.Event(a.resource+"@chaos.example", google.EventID(uuid.MustParse(a.id)))
		if !ok || ev.Status == "cancelled" {
			gMissing++
		}
	}
	jobsPer := map[string]int{}
	for _, j := range s.jobber.Jobs() {
		if i := strings.LastIndex(j.Instructions, "Ringback ref: "); i >= 0 {
			jobsPer[strings.TrimSpace(j.Instructions[i+len("Ringback ref: "):])]++
		}
	}
	jMissing, jDup := 0, 0
	for _, id := range bookedIDs {
		switch n := jobsPer[id]; {
		case n == 0:
			jMissing++
		case n > 1:
			jDup += n - 1
		}
	}
	var conns []string
	rows, err = s.pool.Query(ctx, `SELECT id || '=' || state || coalesce(' (' || state_reason || ')', '') FROM fulfillment.connections ORDER BY id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		conns = append(conns, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	sec.num("sync jobs", "%s", formatCounts(jobStates))
	sec.num("connections", "%s", strings.Join(conns, ", "))
	sec.num("Google events / Jobber jobs", "%d live events, %d jobs for %d booked appointments", eventCount, len(s.jobber.Jobs()), len(appts))
	sec.check("every sync job reaches 'done'", notDone == 0, "%d not done", notDone)
	sec.check("Google: exactly one live event per booked appointment", gMissing == 0 && eventCount == len(appts), "%d missing, %d events for %d appointments", gMissing, eventCount, len(appts))
	sec.check("Jobber: exactly one job per booked appointment", jMissing == 0 && jDup == 0, "%d missing, %d duplicates", jMissing, jDup)

	// The processes: no panic in any incarnation's log, and a graceful stop.
	var lines []string
	npanic := 0
	var stopErrs []error
	for _, e := range s.engines {
		l, n := e.panics(5)
		lines, npanic = append(lines, l...), npanic+n
		if err := e.Stop(30 * time.Second); err != nil {
			stopErrs = append(stopErrs, err)
		}
	}
	sec.check("no panic in the engine's log (all incarnations)", npanic == 0, "%d lines %s", npanic, strings.Join(lines, " / "))
	sec.check("the engine stops gracefully on SIGTERM", len(stopErrs) == 0, "%v", errString(errors.Join(stopErrs...)))
	return nil
}

// overdueHolds counts holds still 'held' well past their expiry.
func (s *suite) overdueHolds(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM fulfillment.claims WHERE status = 'held' AND expires_at < now() - $1::interval`,
		fmt.Sprintf("%d seconds", int(holdExpiryGrace.Seconds()))).Scan(&n)
	return n, err
}

func appendMax(list []string, s string) []string {
	if len(list) < 5 {
		return append(list, s)
	}
	return list
}

// appendMaxAll keeps the first 5 of list.
func appendMaxAll(list []string) []string {
	if len(list) > 5 {
		return append(list[:5:5], fmt.Sprintf("… %d more", len(list)-5))
	}
	return list
}

func errString(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}
