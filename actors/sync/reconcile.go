package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"

	"ringback/actors/resource"
)

// Bookings is how a vendor-side change reaches the resource actors (the only writers of
// appointments).
type Bookings interface {
	Cancel(ctx context.Context, tenantID string, id uuid.UUID) (resource.Appointment, error)
	Reschedule(ctx context.Context, tenantID string, id uuid.UUID, start time.Time, key string) (resource.Appointment, error)
}

// VendorChange is a stored vendor webhook saying an item (Kind "visit") changed or was
// deleted on the vendor's side. Key is the webhook's unique key.
type VendorChange struct {
	Key     string
	Kind    string
	ItemID  string
	Deleted bool
}

// vendorChangeDone is a worker reporting a reconciled change.
type vendorChangeDone struct {
	key     string
	outcome string
}

// reconcileChange brings our appointment in line with a change made at the vendor, off
// the mailbox, and marks the webhook processed with the outcome.
func (c *child) reconcileChange(ctx actor.Context, m *VendorChange) {
	rec, ok := c.provider.(Reconciler)
	if !ok || c.stopped {
		return
	}
	c.reconciling++
	self, root, deps, conn := ctx.Self(), ctx.ActorSystem().Root, c.deps, c.conn
	go func() {
		done := &vendorChangeDone{key: m.Key}
		defer root.Send(self, done)
		cctx, cancel := context.WithTimeout(context.Background(), deps.CallTimeout)
		defer cancel()
		outcome, err := deps.reconcile(cctx, conn, rec, m)
		if err != nil {
			// Left unprocessed: the engine's sweep hands it over again.
			deps.Log.Warn("sync: reconciling a vendor change failed; will retry", "connection", conn.key(), "key", m.Key, "err", err)
			return
		}
		if err := deps.Store.VendorWebhookDone(cctx, conn.Provider, m.Key, outcome, deps.Clock.Now()); err != nil {
			deps.Log.Warn("sync: marking a vendor webhook done failed", "key", m.Key, "err", err)
		}
		done.outcome = outcome
	}()
}

// reconcile decides what a vendor-side change means for our appointment: deleted or
// cancelled there cancels it here; moved there reschedules it here (same duration), if
// the new time is free; otherwise ours stands and the next sync puts the vendor back.
func (d *Deps) reconcile(ctx context.Context, conn Connection, rec Reconciler, m *VendorChange) (string, error) {
	id, err := d.Store.AppointmentByRef(ctx, conn.TenantID, conn.ID, m.Kind, m.ItemID)
	if errors.Is(err, resource.ErrNotFound) {
		return "not ours", nil
	}
	if err != nil {
		return "", err
	}
	cancelled := m.Deleted
	var ch Change
	if !cancelled {
		if ch, err = rec.Lookup(ctx, m.Kind, m.ItemID); err != nil {
			if IsPermanent(err) {
				return "lookup refused: " + err.Error(), nil
			}
			return "", err
		}
		cancelled = ch.Cancelled
	}
	cur, err := d.Store.FindAppointment(ctx, conn.TenantID, id)
	if err != nil {
		return "", err
	}
	if cur.Status == string(resource.Cancelled) {
		return "already cancelled", nil
	}
	if cancelled {
		if _, err := d.Bookings.Cancel(ctx, conn.TenantID, id); err != nil && !errors.Is(err, resource.ErrGone) {
			return "", err
		}
		return "cancelled", nil
	}
	if ch.Start.IsZero() || ch.Start.Equal(cur.Start) {
		return "unchanged", nil
	}
	_, err = d.Bookings.Reschedule(ctx, conn.TenantID, id, ch.Start, "vendor:"+conn.Provider+":"+m.Key)
	var rule *resource.RuleError
	switch {
	case err == nil:
		return "rescheduled", nil
	case errors.Is(err, resource.ErrConflict), errors.Is(err, resource.ErrCalendarStale), errors.As(err, &rule):
		// Ours stands; say so where people look, and put the vendor back in line.
		return fmt.Sprintf("kept our time: %v", err), d.Store.RequeueUpdate(ctx, conn, id)
	}
	return "", err
}
