package sync

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"ringback/actors/resource"
)

// ConnState is the health of a connection as people see it.
type ConnState string

const (
	Active          ConnState = "active"
	Parked          ConnState = "parked"           // kept failing; Reason says how; resumed by a person
	ReconnectNeeded ConnState = "reconnect_needed" // the vendor refused its credentials for good
)

// Connection is a tenant's account at one provider.
type Connection struct {
	TenantID string
	ID       string
	Provider string
	State    ConnState
	Reason   string
}

func (c Connection) key() string { return c.TenantID + "/" + c.ID }

// Backlog is a provider's pending jobs: how many, and when the oldest was queued.
type Backlog struct {
	Pending int
	Oldest  time.Time
}

// ErrClaimLost says a job's claim ran out before its outcome was recorded: another worker
// has claimed it (it runs again there; vendor calls are idempotent).
var ErrClaimLost = errors.New("sync: the job's claim ran out; another worker has it")

// Store is what the sync actors need of Postgres.
type Store interface {
	Connections(ctx context.Context, provider string) ([]Connection, error)
	SetConnectionState(ctx context.Context, tenantID, connID string, state ConnState, reason string) error

	// ClaimJobs claims until `until`, oldest first, up to limit jobs at the head of their
	// appointment's queue on the connection whose time has come: pending ones due by now,
	// and claimed ones whose claim ran out (their worker died); none of the appointments
	// in skip. Two workers never hold the same job; a job is the head of its queue only
	// once every earlier one is over.
	ClaimJobs(ctx context.Context, tenantID, connID string, skip []uuid.UUID, now, until time.Time, limit int) ([]Job, error)
	// NextDue is when the connection's earliest job may be claimed; ok is false when none.
	NextDue(ctx context.Context, tenantID, connID string) (at time.Time, ok bool, err error)
	// JobDone, JobRetry and JobFailed record a claimed job's outcome; ErrClaimLost when
	// the claim ran out and the job is another worker's now.
	JobDone(ctx context.Context, j Job, at time.Time) error
	JobRetry(ctx context.Context, j Job, reason string, runAfter, at time.Time) error
	JobFailed(ctx context.Context, j Job, reason string, at time.Time) error
	// ReleaseClaims makes every claimed job pending again: at the start of the only
	// engine, whatever is claimed was claimed by a process that is gone.
	ReleaseClaims(ctx context.Context) (int64, error)
	Backlog(ctx context.Context) (map[string]Backlog, error)

	FindAppointment(ctx context.Context, tenantID string, id uuid.UUID) (resource.Appointment, error)
	Refs(tenantID, connID string, appointmentID uuid.UUID) Refs
	// AppointmentByRef finds our appointment from a vendor id (resource.ErrNotFound if none).
	AppointmentByRef(ctx context.Context, tenantID, connID, kind, vendorID string) (uuid.UUID, error)
	// RequeueUpdate queues an update job, to put a vendor back in line with us.
	RequeueUpdate(ctx context.Context, conn Connection, appointmentID uuid.UUID) error
	VendorWebhookDone(ctx context.Context, provider, key, outcome string, at time.Time) error

	// CalendarRead replaces a resource's imported busy time; CalendarReadFailed records why
	// a read failed (the last good read's time is kept: it decides staleness).
	CalendarRead(ctx context.Context, tenantID, resourceID string, busy []Interval, at time.Time) error
	CalendarReadFailed(ctx context.Context, tenantID, resourceID, reason string, at time.Time) error
}
