// Package sync carries appointment changes to the businesses' vendor accounts (Google
// Calendar, Jobber) and brings busy time back. A supervisor actor per provider owns one
// child actor per connection; the child works that connection's durable job backlog, a
// few jobs at a time and in order per appointment, with vendor calls off its mailbox. A
// child that panics is restarted with capped, jittered exponential backoff; one that keeps
// failing is parked with its reason, and the other connections never notice.
//
// The package knows vendors only through Provider: the vendor packages translate.
package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Action is what happened to an appointment.
type Action string

const (
	Create Action = "create"
	Update Action = "update" // rescheduled
	Delete Action = "delete" // cancelled
)

// Job is one appointment change a connection must hear about. Jobs are durable: written
// in the transaction that changed the appointment, done once the vendor agreed.
type Job struct {
	Seq           int64
	TenantID      string
	ConnectionID  string
	Provider      string
	AppointmentID uuid.UUID
	Action        Action
	Attempts      int // failed attempts so far
	// ClaimedUntil is when this worker's claim on the job runs out (then another may run
	// it); only the claim that is current can record the job's outcome.
	ClaimedUntil time.Time
}

// Appointment is what a vendor is told about an appointment, as it stands now (a job
// always sends the current state, so a late retry never rolls a vendor back).
type Appointment struct {
	ID            uuid.UUID
	TenantID      string
	BusinessName  string
	TimeZone      string // IANA zone of the business
	ResourceID    string
	ResourceName  string
	ServiceID     string
	ServiceName   string
	Start, End    time.Time
	CustomerPhone string // E.164
	CustomerName  string
	Quote         string // formatted for people, e.g. "$210.00"; "" when none
	Cancelled     bool
	CalendarID    string // the Google calendar of the resource on this connection; "" if none
	// ConfirmedAt is when the customer confirmed the visit in answer to a reminder; zero
	// when they have not (or not since it last moved).
	ConfirmedAt time.Time
}

// Refs keeps the vendor's ids for one appointment on one connection (Jobber has no
// idempotency key, so "did we create it already" is answered from here). Put is durable
// before it returns: write an id as soon as the vendor hands it out.
type Refs interface {
	Get(ctx context.Context, kind string) (id string, ok bool, err error)
	Put(ctx context.Context, kind, id string) error
}

// Provider pushes appointment changes to one vendor account. Sync must be idempotent:
// after a crash or an ambiguous failure the same job runs again.
//
// Errors: wrap in Permanent what retrying cannot fix (the job fails with that message),
// in RetryAfter what the vendor asked to retry later, return ErrReconnect (wrapped) when
// the account's credentials are refused for good; anything else is retried with backoff.
type Provider interface {
	Sync(ctx context.Context, job Job, appt Appointment, refs Refs) error
}

// Interval is a span of busy time, [Start, End).
type Interval struct{ Start, End time.Time }

// BusyReader is a Provider that can also read busy time from calendars.
type BusyReader interface {
	Busy(ctx context.Context, calendarID string, from, to time.Time) ([]Interval, error)
}

// ErrReconnect means the vendor refused the connection's credentials for good (OAuth
// invalid_grant, an app disconnected by the user): a person has to reconnect it.
var ErrReconnect = errors.New("reconnect needed")

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying will not fix.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.err, e.after)
}
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter marks err as transient, with the delay the vendor asked for.
func RetryAfter(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, after: after}
}

// RetryDelay returns the delay a RetryAfter error asked for.
func RetryDelay(err error) (time.Duration, bool) {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.after, true
	}
	return 0, false
}

// Change is what a vendor says now about one of our appointments it told us had changed.
type Change struct {
	Start, End time.Time
	Cancelled  bool
}

// Reconciler is a Provider whose vendor reports changes made on its side (a visit moved
// or deleted in Jobber). Lookup reads the item's current state.
type Reconciler interface {
	Lookup(ctx context.Context, kind, itemID string) (Change, error)
}

// Opener is a Provider with work to do once when its connection starts (Jobber: learn
// the account id that routes its webhooks). Open runs off the connection's mailbox; an
// error wrapping ErrReconnect parks the connection, any other is logged and not retried
// until the connection restarts.
type Opener interface {
	Open(ctx context.Context) error
}
