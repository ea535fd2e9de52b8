package resource

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Store is what the resource actors need of Postgres. Commit runs writes in the given
// order, in one transaction when it can, and reports each write's outcome.
type Store interface {
	// Load expires the resource's holds that ran out, then returns its live claims and the
	// busy time imported from its external calendar.
	Load(ctx context.Context, tenantID, resourceID string, now time.Time) (Snapshot, error)
	Commit(ctx context.Context, writes []Write) []WriteResult
	FindClaim(ctx context.Context, tenantID string, id uuid.UUID) (Claim, error)
	FindAppointment(ctx context.Context, tenantID string, id uuid.UUID) (Appointment, error)
}

// Snapshot is a resource's state as Postgres has it.
type Snapshot struct {
	Claims         []Claim // live: unexpired holds and booked slots
	Busy           []Interval
	CalendarReadAt time.Time // last successful read of the external calendar; zero if never
}

// Write is one change to commit: *InsertHold, *EndHold, *Confirm, *Cancel or *Reschedule.
type Write interface{ isWrite() }

// SyncTarget is a vendor connection that must hear of an appointment change.
type SyncTarget struct {
	ConnectionID string
	Provider     string
}

// InsertHold writes a new hold. Outcomes: Done, Duplicate (a claim with this id exists:
// WriteResult.Claim is it), Conflict (an overlapping live claim exists).
type InsertHold struct{ Claim Claim }

// EndHold marks a hold expired or released, if it is still held. Outcomes: Done, Gone (it
// was no longer held, say expired by the sweeper first: nothing changed).
type EndHold struct {
	ID     uuid.UUID
	Status Status // Expired or Released
	At     time.Time
}

// Confirm books a live hold as appointment AppointmentID, queues its sync jobs and writes
// its reminders. Outcomes: Done (WriteResult.Appointment), Gone (the hold is no longer live).
type Confirm struct {
	HoldID        uuid.UUID
	AppointmentID uuid.UUID
	At            time.Time
	Sync          []SyncTarget
	Reminders     ReminderPlan
}

// ReminderPlan is the reminders of an appointment at one time: where they are sent from
// and when each is due. Written with the change that books or moves the visit.
type ReminderPlan struct {
	Endpoint string // the business number they go from; "" when the tenant has none (no reminders)
	Rows     []ReminderRow
}

// ReminderRow is one reminder, or the confirmation deadline (Kind "deadline").
type ReminderRow struct {
	Kind    string // "reminder" | "deadline"
	Offset  time.Duration
	Due     time.Time
	Skipped string // why it is written already skipped; "" for pending
}

// MarkConfirmed records that the customer confirmed the visit and queues sync jobs so
// the calendars show it. Outcomes: Done (Replayed when it was confirmed before), Gone (not
// a booked appointment of this resource).
type MarkConfirmed struct {
	TenantID, ResourceID string
	AppointmentID        uuid.UUID
	At                   time.Time
	Sync                 []SyncTarget
}

// MarkUnconfirmed records that the confirmation deadline of the appointment at Version
// passed unanswered. Outcomes: Done, Gone (moved, cancelled, confirmed or marked before).
type MarkUnconfirmed struct {
	TenantID, ResourceID string
	AppointmentID        uuid.UUID
	Version              int64
	At                   time.Time
}

// Cancel cancels a booked appointment and queues its sync jobs. Outcome: Done or Gone.
type Cancel struct {
	TenantID      string
	ResourceID    string
	AppointmentID uuid.UUID
	At            time.Time
	Sync          []SyncTarget
}

// Reschedule moves an appointment to the new claim, releasing its current one, and queues
// sync jobs. Outcomes: Done, Conflict (the new slot overlaps a live claim), Gone.
type Reschedule struct {
	AppointmentID uuid.UUID
	New           Claim
	At            time.Time
	Sync          []SyncTarget
	Reminders     ReminderPlan // the new time's; the old time's pending ones are replaced
}

func (*InsertHold) isWrite()      {}
func (*EndHold) isWrite()         {}
func (*Confirm) isWrite()         {}
func (*Cancel) isWrite()          {}
func (*Reschedule) isWrite()      {}
func (*MarkConfirmed) isWrite()   {}
func (*MarkUnconfirmed) isWrite() {}

// Outcome is how a write ended.
type Outcome int

const (
	Done Outcome = iota
	Duplicate
	Conflict
	Gone
	Failed // Err says why
)

// WriteResult is a write's outcome.
type WriteResult struct {
	Outcome     Outcome
	Claim       *Claim
	Appointment *Appointment
	Err         error
	// Replayed is set on a Done whose effect was already there: a Cancel of an appointment
	// cancelled before. Nothing changed, so nothing happened that could be reported.
	Replayed bool
}
