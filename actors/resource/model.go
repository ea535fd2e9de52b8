// Package resource is the fulfillment core: one actor per bookable resource (a technician,
// a van, a room), the single writer of that resource's calendar. It decides holds,
// confirmations, cancellations and reschedules in memory, commits each change to Postgres
// before it answers, and leaves the last word on overlaps to Postgres's exclusion
// constraint. Bookings is the facade the HTTP booking API and the conversation actors use.
package resource

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Status is the state of a claim on a resource's time.
type Status string

const (
	Held      Status = "held"      // a reservation, live until ExpiresAt
	Booked    Status = "booked"    // the slot of an appointment
	Released  Status = "released"  // a hold let go, or an appointment's slot left by a reschedule
	Expired   Status = "expired"   // a hold that ran out
	Cancelled Status = "cancelled" // the slot of a cancelled appointment
)

// Customer is who a hold or appointment is for.
type Customer struct {
	Phone string `json:"phone"`
	Name  string `json:"name,omitempty"`
	// Endpoint is the business number the customer booked through (a conversation's),
	// so reminders come from the number they know; "" through the booking API.
	Endpoint string `json:"-"`
}

// Quote is the price given with a hold, in minor units (cents) of Currency.
type Quote struct {
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
}

// Claim is a hold or the slot of an appointment.
type Claim struct {
	ID            uuid.UUID
	TenantID      string
	ResourceID    string
	ServiceID     string
	Start, End    time.Time
	Status        Status
	ExpiresAt     time.Time // holds only
	Customer      Customer
	Quote         Quote
	AppointmentID uuid.UUID // set once booked
}

// Interval is the claim's span.
func (c Claim) Interval() Interval { return Interval{Start: c.Start, End: c.End} }

// Appointment is a confirmed booking; its time is that of its current claim.
type Appointment struct {
	ID            uuid.UUID
	TenantID      string
	ResourceID    string
	ServiceID     string
	ReservationID uuid.UUID
	ClaimID       uuid.UUID
	Start, End    time.Time
	Status        string // booked | cancelled
	Customer      Customer
	Quote         Quote
	Version       int64
	// ConfirmedAt is when the customer confirmed the visit in answer to a reminder;
	// UnconfirmedAt when the confirmation deadline passed without one. Zero when not.
	ConfirmedAt, UnconfirmedAt time.Time
}

// Errors the actor answers with; the HTTP edge maps each to one status.
var (
	ErrConflict        = errors.New("the slot is already taken")
	ErrGone            = errors.New("the reservation has expired or was released")
	ErrNotFound        = errors.New("not found")
	ErrAlreadyBooked   = errors.New("the reservation is already confirmed")
	ErrKeyReused       = errors.New("idempotency key reused with a different request")
	ErrCalendarStale   = errors.New("the resource's external calendar could not be read recently; its availability is withheld")
	ErrResourceRetired = errors.New("the resource is no longer configured")
)

// RuleError is a request the tenant's rules refuse (outside hours, off the slot grid, too
// soon, beyond the horizon, a service the resource does not offer).
type RuleError struct {
	Field   string
	Message string
}

func (e *RuleError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// namespace roots the deterministic ids derived from idempotency keys.
var namespace = uuid.MustParse("6b1f0d8e-3c5a-4d4b-9b7e-2f1a8c9d0e11")

// HoldID is the reservation id for a tenant's idempotency key: the same key always names
// the same hold, so a retried request can never create a second one (Postgres's primary
// key refuses it) and finds the first. Without a key the id is random.
func HoldID(tenantID, key string) uuid.UUID {
	if key == "" {
		return uuid.Must(uuid.NewV7())
	}
	return uuid.NewSHA1(namespace, []byte("hold\x00"+tenantID+"\x00"+key))
}

// AppointmentID is the appointment a reservation becomes: confirming twice finds the same.
func AppointmentID(reservationID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(namespace, append([]byte("appointment\x00"), reservationID[:]...))
}

// RescheduleClaimID is the new claim of a reschedule under an idempotency key.
func RescheduleClaimID(tenantID, key string) uuid.UUID {
	if key == "" {
		return uuid.Must(uuid.NewV7())
	}
	return uuid.NewSHA1(namespace, []byte("reschedule\x00"+tenantID+"\x00"+key))
}
