package resource

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"ringback/reminders"
	"ringback/tenant"
)

// reminderPlan decides the reminders of cl at its time, booked or moved now: from the
// endpoint the customer booked through (else the tenant's number for the service, else
// its first), in the tenant's zone and that endpoint's quiet hours (the night when it has
// none). The confirmation deadline is unconfirmed_after before the visit, and counts only
// if a reminder asking for a confirmation goes before it.
func (a *Actor) reminderPlan(cl Claim, now time.Time) ReminderPlan {
	ep, ok := a.cfg.EndpointFor(cl.Customer.Endpoint, cl.ServiceID)
	if !ok {
		return ReminderPlan{}
	}
	p := a.cfg.Policies
	offsets := make([]time.Duration, len(p.Reminders))
	for i, d := range p.Reminders {
		offsets[i] = d.Std()
	}
	plan := ReminderPlan{Endpoint: ep.Number}
	deadline := cl.Start.Add(-p.UnconfirmedAfter.Std())
	asked := false
	for _, d := range reminders.Times(cl.Start, now, offsets, a.quiet(ep)) {
		plan.Rows = append(plan.Rows, ReminderRow{Kind: reminders.KindReminder, Offset: d.Offset, Due: d.At.UTC(), Skipped: d.Skipped})
		asked = asked || d.Skipped == "" && d.At.Before(deadline)
	}
	dl := ReminderRow{Kind: reminders.KindDeadline, Offset: p.UnconfirmedAfter.Std(), Due: deadline.UTC()}
	switch {
	case !deadline.After(now):
		dl.Skipped = reminders.SkipPassed
	case !asked:
		dl.Skipped = reminders.SkipNotAsked
	}
	plan.Rows = append(plan.Rows, dl)
	return plan
}

// countSkippedReminders counts the reminders a committed booking or move wrote already
// skipped (their time had passed, or quiet hours merged them into another).
func (a *Actor) countSkippedReminders(w Write) {
	var plan ReminderPlan
	switch w := w.(type) {
	case *Confirm:
		plan = w.Reminders
	case *Reschedule:
		plan = w.Reminders
	}
	if plan.Endpoint == "" {
		return
	}
	for _, r := range plan.Rows {
		if r.Kind == reminders.KindReminder && r.Skipped != "" {
			a.deps.Metrics.Reminders.WithLabelValues("skipped").Inc()
		}
	}
}

// quiet is when the endpoint sends no reminder: its quiet hours, or the night.
func (a *Actor) quiet(ep tenant.Endpoint) reminders.Quiet {
	if q := ep.QuietHours; q != nil {
		start, errStart := tenant.ParseClock(q.Start)
		end, errEnd := tenant.ParseClock(q.End)
		if errStart == nil && errEnd == nil && start != end {
			return reminders.Quiet{Location: a.loc, Start: start, End: end}
		}
	}
	return reminders.DefaultQuiet(a.loc)
}

// onConfirmAttendance records a customer's yes to a reminder. Postgres decides whether
// the appointment is still booked here; a repeat is answered as done.
func (a *Actor) onConfirmAttendance(c actor.Context, m *ConfirmAttendance, sender *actor.PID) {
	if e, ok := a.liveAppointment(m.ID); ok && a.wait(e, m, sender) {
		return
	}
	a.submit(c, &MarkConfirmed{TenantID: a.tenantID, ResourceID: a.resourceID, AppointmentID: m.ID, At: a.deps.Clock.Now(), Sync: a.syncTargets()}, sender)
}

// onFlagUnconfirmed marks an appointment whose confirmation deadline passed unanswered.
func (a *Actor) onFlagUnconfirmed(c actor.Context, m *FlagUnconfirmed, sender *actor.PID) {
	if e, ok := a.liveAppointment(m.ID); ok && a.wait(e, m, sender) {
		return
	}
	a.submit(c, &MarkUnconfirmed{TenantID: a.tenantID, ResourceID: a.resourceID, AppointmentID: m.ID, Version: m.Version, At: a.deps.Clock.Now()}, sender)
}

// liveAppointment is the in-memory claim of a booked appointment, if the actor holds it.
func (a *Actor) liveAppointment(id uuid.UUID) (*entry, bool) {
	claimID, ok := a.byAppt[id]
	if !ok {
		return nil, false
	}
	e, ok := a.claims[claimID]
	return e, ok
}

// markAnswer is the answer to ConfirmAttendance or FlagUnconfirmed from its write.
func markAnswer(res WriteResult) *AppointmentResponse {
	switch res.Outcome {
	case Done:
		return &AppointmentResponse{Appointment: *res.Appointment}
	case Gone:
		return &AppointmentResponse{Err: ErrGone}
	default:
		return &AppointmentResponse{Err: res.Err}
	}
}
