package conversation

import (
	"context"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"ringback/tenant"
)

// The reminder messages a conversation actor accepts, from the reminder scheduler.

// SendReminder asks the conversation to remind its customer of a booked visit. Key is
// the reminder's (reminders.Key.ClientMessageID): the SMS's client message id, so a
// reminder handed over twice is one SMS. Answer: *ReminderResponse.
type SendReminder struct {
	TenantID, Key string
	AppointmentID uuid.UUID
	Version       int64
	ResourceID    string
	ServiceID     string
	Start, End    time.Time
	QuoteMinor    int64
	Currency      string
	Confirmed     bool   // the customer confirmed already: no question this time
	ResourceName  string // who comes, as the text names them
}

// AlertUnconfirmed tells the conversation that its customer's visit passed its
// confirmation deadline unanswered: the business is alerted at owner_phone (once: Key is
// the alert's client message id) and the conversation waits for a person. Answer:
// *ReminderResponse.
type AlertUnconfirmed struct {
	TenantID, Key string
	AppointmentID uuid.UUID
	Start         time.Time
	QuoteMinor    int64
	Currency      string
	ResourceName  string
}

// ReminderResponse answers SendReminder and AlertUnconfirmed once the step is committed:
// Sent, or not with the Reason (opted_out); Err when the step failed (retry later).
type ReminderResponse struct {
	Sent   bool
	Reason string
	Err    error
}

// VisitChanged tells the conversation that the business moved or cancelled the
// customer's visit from the console: its record of the visit follows, and with Notify the
// customer is texted (as the business's own message; Key makes it one SMS). Answer:
// *ConsoleResponse.
type VisitChanged struct {
	TenantID, Key string
	AppointmentID uuid.UUID
	Cancelled     bool
	ResourceID    string
	ServiceID     string
	Start, End    time.Time
	QuoteMinor    int64
	Currency      string
	Notify        bool
}

// onVisitChanged brings the conversation's visit in line with the console's change.
func (a *Actor) onVisitChanged(c actor.Context, e env, m *VisitChanged) {
	visit := Offer{ResourceID: m.ResourceID, ServiceID: m.ServiceID, Start: m.Start, End: m.End, QuoteMinor: m.QuoteMinor, Currency: m.Currency}
	var body string
	switch {
	case m.Cancelled:
		if a.st.AppointmentID == m.AppointmentID {
			a.st.Stage, a.st.AppointmentID, a.st.Visit, a.st.Hold, a.st.Options, a.st.Moving = Idle, uuid.Nil, nil, nil, nil, false
		}
		body = e.texts.CancelledByBusiness(visit.option())
	default:
		if a.st.AppointmentID == m.AppointmentID || a.st.AppointmentID == uuid.Nil {
			a.st.AppointmentID, a.st.Visit, a.st.Moving = m.AppointmentID, &visit, false
			if a.st.Stage == Idle || a.st.Stage == Booked {
				a.st.Stage, a.st.Options, a.st.Hold = Booked, nil, nil
			}
		}
		body = e.texts.MovedByBusiness(visit.option())
	}
	a.st.Reminded, a.st.CancelAsked = nil, false
	var out []Outgoing
	if m.Notify && !a.st.Caller.OptedOut {
		out = append(out, Outgoing{ClientMessageID: "console:" + m.Key, Kind: "person", Body: body})
	}
	a.commit(c, Commit{Outgoing: out})
}

// Reminded is the reminder the customer was last asked to answer: a yes confirms that
// visit.
type Reminded struct {
	AppointmentID uuid.UUID `json:"appointment_id"`
	Version       int64     `json:"version"`
	At            time.Time `json:"at"`
}

// maxSentReminders bounds State.RemindersSent: a visit has a few reminders and a
// hand-over is repeated only within minutes of the first.
const maxSentReminders = 8

// onReminder texts the reminder, unless the customer opted out (the visit stays booked;
// nothing goes to that number). The reminded visit becomes the conversation's visit, so
// "Y", "R" or a cancel in answer act on it even if it was booked through the API or moved
// from the console.
func (a *Actor) onReminder(c actor.Context, e env, m *SendReminder) {
	a.outcome = &ReminderResponse{}
	switch {
	case slices.Contains(a.st.RemindersSent, m.Key):
		a.outcome.Sent = true // handed over again after a crash: it is in the outbox
		a.done(c)
		return
	case a.st.Caller.OptedOut:
		a.outcome.Reason = "opted_out"
		a.done(c)
		return
	}
	visit := Offer{ResourceID: m.ResourceID, ServiceID: m.ServiceID, Start: m.Start, End: m.End, QuoteMinor: m.QuoteMinor, Currency: m.Currency}
	if a.st.AppointmentID != m.AppointmentID {
		a.st.Moving, a.st.CancelAsked = false, false
	}
	a.st.AppointmentID, a.st.Visit = m.AppointmentID, &visit
	if a.st.Stage == Idle {
		a.st.Stage = Booked
	}
	a.st.Reminded = nil
	if !m.Confirmed {
		a.st.Reminded = &Reminded{AppointmentID: m.AppointmentID, Version: m.Version, At: a.deps.Clock.Now()}
	}
	a.st.RemindersSent = append(a.st.RemindersSent, m.Key)
	if n := len(a.st.RemindersSent); n > maxSentReminders {
		a.st.RemindersSent = a.st.RemindersSent[n-maxSentReminders:]
	}
	a.outcome.Sent = true
	a.commit(c, Commit{Outgoing: []Outgoing{{ClientMessageID: m.Key, Kind: "reminder",
		Body: e.texts.Reminder(visit.option(), m.ResourceName, m.Confirmed)}}})
}

// onUnconfirmed alerts the business that the reminded customer did not confirm, and
// puts the conversation in front of a person.
func (a *Actor) onUnconfirmed(c actor.Context, e env, m *AlertUnconfirmed) {
	a.outcome = &ReminderResponse{Sent: true}
	if slices.Contains(a.st.RemindersSent, m.Key) {
		a.done(c)
		return
	}
	a.st.NeedsAttention = true
	a.st.RemindersSent = append(a.st.RemindersSent, m.Key)
	var out []Outgoing
	if e.ep.OwnerPhone != "" {
		visit := Option{Start: m.Start, QuoteMinor: m.QuoteMinor, Currency: m.Currency}
		out = append(out, Outgoing{ClientMessageID: m.Key, Kind: "alert", To: e.ep.OwnerPhone,
			Body: e.texts.UnconfirmedAlert(tenant.MaskPhone(a.phone), visit, m.ResourceName, a.threadLink())})
	}
	a.commit(c, Commit{Outgoing: out})
}

// confirmAttendance records the customer's yes to a reminder.
func (a *Actor) confirmAttendance(c actor.Context, e env, m *InboundSMS, in *Received) {
	tenantID, apptID := a.st.TenantID, a.st.AppointmentID
	visit := *a.st.visit()
	a.await(c, func(ctx context.Context) any {
		_, err := a.deps.Bookings.ConfirmAttendance(ctx, tenantID, apptID)
		return err
	}, func(c actor.Context, v any) {
		if err, failed := v.(error); failed && err != nil {
			a.log.Info("the reminded visit could not be confirmed; a person follows up", "conversation", a.logID(), "err", err)
			a.st.Reminded = nil
			a.needsPerson(c, e, m, in)
			return
		}
		a.st.Reminded = nil
		a.deps.Metrics.Reminders.WithLabelValues("confirmed").Inc()
		a.commit(c, Commit{EnvelopeKey: m.EnvelopeKey, Received: in, Outgoing: []Outgoing{outgoing(m.EnvelopeKey, 0, "reply", e.texts.AttendanceConfirmed(visit.option()), time.Time{})}})
	})
}

// answeredReminder counts the customer's move or cancellation of a reminded visit.
func (a *Actor) answeredReminder(outcome string) {
	if a.st.Reminded != nil {
		a.deps.Metrics.Reminders.WithLabelValues(outcome).Inc()
		a.st.Reminded = nil
	}
}

// reminded says a yes now answers the reminder of the booked visit.
func (a *Actor) reminded() bool {
	r := a.st.Reminded
	return r != nil && r.AppointmentID == a.st.AppointmentID && a.st.AppointmentID != uuid.Nil && !a.st.Moving
}
