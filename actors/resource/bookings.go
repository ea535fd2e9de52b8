package resource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"ringback/actors"
)

// Finder is what Bookings reads directly: which resource a hold or appointment is on, and
// which resources offer a service. Reads only; every change goes through an actor.
type Finder interface {
	FindClaim(ctx context.Context, tenantID string, id uuid.UUID) (Claim, error)
	FindAppointment(ctx context.Context, tenantID string, id uuid.UUID) (Appointment, error)
}

// Bookings is the booking API in Go: it finds the right resource actors through the
// directory and talks to them with messages. The HTTP booking API and the conversation
// actors use it; neither touches fulfillment storage.
type Bookings struct {
	dir     *actors.Directory
	catalog Catalog
	find    Finder
	timeout time.Duration
}

// NewBookings returns the facade. timeout bounds each actor request (default 5s).
func NewBookings(dir *actors.Directory, catalog Catalog, find Finder, timeout time.Duration) *Bookings {
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	return &Bookings{dir: dir, catalog: catalog, find: find, timeout: timeout}
}

// Slot is an open start time on a resource.
type Slot struct {
	ResourceID string
	Start, End time.Time
}

// resourcesFor lists the tenant's resources offering serviceID, or just resourceID (which
// must offer it).
func (b *Bookings) resourcesFor(ctx context.Context, tenantID, serviceID, resourceID string) ([]string, error) {
	cfg, err := b.catalog.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if _, ok := cfg.Service(serviceID); !ok {
		return nil, &RuleError{Field: "service", Message: fmt.Sprintf("unknown service %q", serviceID)}
	}
	if resourceID != "" {
		r, ok := cfg.Resource(resourceID)
		if !ok {
			return nil, &RuleError{Field: "resource_id", Message: fmt.Sprintf("unknown resource %q", resourceID)}
		}
		if !slices.Contains(r.Services, serviceID) {
			return nil, &RuleError{Field: "resource_id", Message: fmt.Sprintf("resource %q does not offer service %q", resourceID, serviceID)}
		}
		return []string{resourceID}, nil
	}
	var ids []string
	for _, r := range cfg.Resources {
		if slices.Contains(r.Services, serviceID) {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// Availability returns the open slots of serviceID in [from, to) on resourceID, or on every
// resource offering it, sorted by start then resource; at most limit (0: all). Resources
// whose external calendar is stale offer nothing; their ids come back in withheld.
func (b *Bookings) Availability(ctx context.Context, tenantID, serviceID, resourceID string, from, to time.Time, limit int) (slots []Slot, withheld []string, err error) {
	ids, err := b.resourcesFor(ctx, tenantID, serviceID, resourceID)
	if err != nil {
		return nil, nil, err
	}
	type answer struct {
		res *SlotsResponse
		err error
	}
	answers := make([]answer, len(ids))
	done := make(chan struct{})
	for i, id := range ids {
		go func() {
			defer func() { done <- struct{}{} }()
			res, err := b.dir.Request(ctx, Kind, Identity(tenantID, id), &SlotsRequest{ServiceID: serviceID, From: from, To: to, Limit: limit}, b.timeout)
			if err != nil {
				answers[i] = answer{err: err}
				return
			}
			r := res.(*SlotsResponse)
			answers[i] = answer{res: r, err: r.Err}
		}()
	}
	for range ids {
		<-done
	}
	for i, a := range answers {
		if a.err != nil {
			return nil, nil, fmt.Errorf("availability of %s: %w", ids[i], a.err)
		}
		if a.res.Withheld != "" {
			withheld = append(withheld, ids[i])
		}
		for _, s := range a.res.Slots {
			slots = append(slots, Slot{ResourceID: ids[i], Start: s, End: s.Add(a.res.Duration)})
		}
	}
	sort.Slice(slots, func(i, j int) bool {
		if !slots[i].Start.Equal(slots[j].Start) {
			return slots[i].Start.Before(slots[j].Start)
		}
		return slots[i].ResourceID < slots[j].ResourceID
	})
	if limit > 0 && len(slots) > limit {
		slots = slots[:limit]
	}
	return slots, withheld, nil
}

// HoldRequest asks for a reservation.
type HoldRequest struct {
	ServiceID  string
	Start      time.Time
	ResourceID string // "": any resource offering the service
	Customer   Customer
	Key        string // idempotency key; "" for none
}

// Hold places a reservation. With a key, a repeated request returns the first answer
// (replayed = true) without touching any actor. Without a resource, the resources offering
// the service are tried in order until one has the slot free.
func (b *Bookings) Hold(ctx context.Context, tenantID string, req HoldRequest) (hold Claim, replayed bool, err error) {
	id := HoldID(tenantID, req.Key)
	if req.Key != "" {
		first, err := b.find.FindClaim(ctx, tenantID, id)
		if err == nil {
			if !sameHold(first, &PlaceHold{ServiceID: req.ServiceID, Start: req.Start, Customer: req.Customer}) ||
				(req.ResourceID != "" && req.ResourceID != first.ResourceID) {
				return Claim{}, false, ErrKeyReused
			}
			return first, true, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return Claim{}, false, err
		}
	}
	ids, err := b.resourcesFor(ctx, tenantID, req.ServiceID, req.ResourceID)
	if err != nil {
		return Claim{}, false, err
	}
	msg := &PlaceHold{ID: id, ServiceID: req.ServiceID, Start: req.Start, Customer: req.Customer}
	err = ErrConflict
	for _, rid := range ids {
		res, rerr := b.dir.Request(ctx, Kind, Identity(tenantID, rid), msg, b.timeout)
		if rerr != nil {
			return Claim{}, false, rerr
		}
		r := res.(*HoldResponse)
		var rule *RuleError
		switch {
		case r.Err == nil:
			return r.Hold, r.Replayed, nil
		case errors.Is(r.Err, ErrConflict), errors.Is(r.Err, ErrCalendarStale):
			err = r.Err
			continue
		case errors.As(r.Err, &rule) && req.ResourceID == "":
			err = r.Err // off this resource's hours: another may have it
			continue
		default:
			return Claim{}, false, r.Err
		}
	}
	return Claim{}, false, err
}

// claimResource finds which resource a hold lives on.
func (b *Bookings) claimResource(ctx context.Context, tenantID string, id uuid.UUID) (string, error) {
	cl, err := b.find.FindClaim(ctx, tenantID, id)
	if err != nil {
		return "", err
	}
	return cl.ResourceID, nil
}

func (b *Bookings) appointmentResource(ctx context.Context, tenantID string, id uuid.UUID) (string, error) {
	a, err := b.find.FindAppointment(ctx, tenantID, id)
	if err != nil {
		return "", err
	}
	return a.ResourceID, nil
}

// Confirm turns a live hold into an appointment; confirming again returns the same one.
func (b *Bookings) Confirm(ctx context.Context, tenantID string, holdID uuid.UUID) (Appointment, error) {
	rid, err := b.claimResource(ctx, tenantID, holdID)
	if err != nil {
		return Appointment{}, err
	}
	return b.appointmentRequest(ctx, tenantID, rid, &ConfirmHold{ID: holdID})
}

// Release lets a hold go (idempotent).
func (b *Bookings) Release(ctx context.Context, tenantID string, holdID uuid.UUID) error {
	rid, err := b.claimResource(ctx, tenantID, holdID)
	if err != nil {
		return err
	}
	res, err := b.dir.Request(ctx, Kind, Identity(tenantID, rid), &ReleaseHold{ID: holdID}, b.timeout)
	if err != nil {
		return err
	}
	return res.(*ReleaseResponse).Err
}

// Cancel cancels an appointment (idempotent).
func (b *Bookings) Cancel(ctx context.Context, tenantID string, id uuid.UUID) (Appointment, error) {
	rid, err := b.appointmentResource(ctx, tenantID, id)
	if err != nil {
		return Appointment{}, err
	}
	return b.appointmentRequest(ctx, tenantID, rid, &CancelAppointment{ID: id})
}

// Reschedule moves an appointment to start on its resource.
func (b *Bookings) Reschedule(ctx context.Context, tenantID string, id uuid.UUID, start time.Time, key string) (Appointment, error) {
	rid, err := b.appointmentResource(ctx, tenantID, id)
	if err != nil {
		return Appointment{}, err
	}
	return b.appointmentRequest(ctx, tenantID, rid, &RescheduleAppointment{ID: id, Start: start, NewClaimID: RescheduleClaimID(tenantID, key)})
}

// ConfirmAttendance records the customer's yes to a reminder of the appointment.
func (b *Bookings) ConfirmAttendance(ctx context.Context, tenantID string, id uuid.UUID) (Appointment, error) {
	rid, err := b.appointmentResource(ctx, tenantID, id)
	if err != nil {
		return Appointment{}, err
	}
	return b.appointmentRequest(ctx, tenantID, rid, &ConfirmAttendance{ID: id})
}

// FlagUnconfirmed marks the appointment, still at version and unconfirmed, as past its
// confirmation deadline; ErrGone when that no longer applies.
func (b *Bookings) FlagUnconfirmed(ctx context.Context, tenantID string, id uuid.UUID, version int64) (Appointment, error) {
	rid, err := b.appointmentResource(ctx, tenantID, id)
	if err != nil {
		return Appointment{}, err
	}
	return b.appointmentRequest(ctx, tenantID, rid, &FlagUnconfirmed{ID: id, Version: version})
}

func (b *Bookings) appointmentRequest(ctx context.Context, tenantID, resourceID string, msg any) (Appointment, error) {
	res, err := b.dir.Request(ctx, Kind, Identity(tenantID, resourceID), msg, b.timeout)
	if err != nil {
		return Appointment{}, err
	}
	r := res.(*AppointmentResponse)
	return r.Appointment, r.Err
}

// TenantChanged tells the tenant's resource actors living in this process to reload
// their config ("" for every tenant's).
func (b *Bookings) TenantChanged(tenantID string) {
	for identity, pid := range b.dir.Live(Kind) {
		if owner, _, _ := strings.Cut(identity, "/"); owner == tenantID || tenantID == "" {
			b.dir.System().Root.Send(pid, &ConfigChanged{})
		}
	}
}
