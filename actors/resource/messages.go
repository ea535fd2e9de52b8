package resource

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/google/uuid"
)

// The messages a resource actor accepts. Every mutating command names the claim it creates
// or changes by an id derived from the caller's idempotency key, so a duplicate delivery
// (a retried HTTP request, a cluster retry) finds the first effect instead of repeating it.

// PlaceHold asks to reserve Start for ServiceID. Answer: *HoldResponse.
type PlaceHold struct {
	ID        uuid.UUID // from HoldID(tenant, idempotency key)
	ServiceID string
	Start     time.Time
	Customer  Customer
}

// HoldResponse answers PlaceHold. Replayed is true when the hold already existed.
type HoldResponse struct {
	Hold     Claim
	Replayed bool
	Err      error
}

// ReleaseHold lets a live hold go. Answer: *ReleaseResponse.
type ReleaseHold struct{ ID uuid.UUID }

// ReleaseResponse answers ReleaseHold.
type ReleaseResponse struct{ Err error }

// ConfirmHold turns a live hold into an appointment. Answer: *AppointmentResponse.
type ConfirmHold struct{ ID uuid.UUID }

// CancelAppointment cancels a booked appointment. Answer: *AppointmentResponse.
type CancelAppointment struct{ ID uuid.UUID }

// RescheduleAppointment moves an appointment to Start on the same resource, atomically:
// the new slot is claimed in the same transaction that frees the old one, so it either
// fully succeeds or leaves the appointment untouched. Answer: *AppointmentResponse.
type RescheduleAppointment struct {
	ID         uuid.UUID
	Start      time.Time
	NewClaimID uuid.UUID // from RescheduleClaimID(tenant, idempotency key)
}

// ConfirmAttendance records the customer's yes to a reminder: the visit is confirmed
// (shown in the console, pushed to the calendars). Answer: *AppointmentResponse.
type ConfirmAttendance struct{ ID uuid.UUID }

// FlagUnconfirmed marks the appointment, if still at Version and unconfirmed, as not
// confirmed by its deadline. Answer: *AppointmentResponse (Err ErrGone when it no longer
// applies: moved, cancelled, confirmed or flagged before).
type FlagUnconfirmed struct {
	ID      uuid.UUID
	Version int64
}

// AppointmentResponse answers ConfirmHold, CancelAppointment, RescheduleAppointment,
// ConfirmAttendance and FlagUnconfirmed.
type AppointmentResponse struct {
	Appointment Appointment
	Err         error
}

// SlotsRequest asks for open start times of ServiceID in [From, To). Answer: *SlotsResponse.
type SlotsRequest struct {
	ServiceID string
	From, To  time.Time
	Limit     int
}

// SlotsResponse answers SlotsRequest. Withheld explains an empty answer given on purpose
// (a stale external calendar), so callers can tell "no time" from "cannot tell".
type SlotsResponse struct {
	ResourceID string
	Slots      []time.Time
	Duration   time.Duration
	Withheld   string
	Err        error
}

// BusyTimeImported replaces the busy blocks read from the resource's external calendar.
type BusyTimeImported struct {
	Busy   []Interval
	ReadAt time.Time
}

// ConfigChanged tells the actor its tenant's config was re-applied.
type ConfigChanged struct{}

// FlushRequest is answered with *FlushResponse once no write of the actor is in flight:
// everything it acknowledged before is in Postgres.
type FlushRequest struct{}

// FlushResponse answers FlushRequest.
type FlushResponse struct{}

// holdExpired is the actor's own timer firing for a hold.
type holdExpired struct{ id uuid.UUID }

// written is the writer reporting a committed (or refused) write back to the actor.
type written struct {
	w       Write
	res     WriteResult
	replyTo *actor.PID // the caller to answer, when no in-memory entry carries it
}
