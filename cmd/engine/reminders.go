package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"ringback/actors"
	"ringback/actors/conversation"
	"ringback/actors/resource"
	"ringback/comms"
	"ringback/persistence"
	"ringback/reminders"
	"ringback/tenant"
)

// reminderDispatch carries out due reminders: a reminder is a step of the customer's
// conversation (compliance, the outbox, the thread in the console); a passed deadline
// is flagged on the appointment by its resource actor, then the conversation alerts the
// business.
type reminderDispatch struct {
	dir      *actors.Directory
	bookings *resource.Bookings
	catalog  *tenant.Cache
	timeout  time.Duration
}

var _ reminders.Dispatcher = reminderDispatch{}

func (d reminderDispatch) Remind(ctx context.Context, r reminders.Claimed) (reminders.Outcome, error) {
	name, err := d.resourceName(ctx, r)
	if err != nil {
		return reminders.Outcome{}, err
	}
	res, err := d.dir.Request(ctx, conversation.Kind, conversation.Identity(r.Endpoint, r.Phone), &conversation.SendReminder{
		TenantID: r.TenantID, Key: r.ClientMessageID(), AppointmentID: r.AppointmentID, Version: r.Version,
		ResourceID: r.ResourceID, ServiceID: r.ServiceID, Start: r.Start, End: r.End, QuoteMinor: r.QuoteMinor, Currency: r.Currency,
		Confirmed: !r.ConfirmedAt.IsZero(), ResourceName: name,
	}, d.timeout)
	if err != nil {
		return reminders.Outcome{}, err
	}
	return outcomeOf(res)
}

func (d reminderDispatch) Deadline(ctx context.Context, r reminders.Claimed) (reminders.Outcome, error) {
	_, err := d.bookings.FlagUnconfirmed(ctx, r.TenantID, r.AppointmentID, r.Version)
	switch {
	case errors.Is(err, resource.ErrGone):
		return reminders.Outcome{Reason: "answered"}, nil // confirmed, moved or cancelled meanwhile
	case err != nil:
		return reminders.Outcome{}, err
	}
	name, err := d.resourceName(ctx, r)
	if err != nil {
		return reminders.Outcome{}, err
	}
	res, err := d.dir.Request(ctx, conversation.Kind, conversation.Identity(r.Endpoint, r.Phone), &conversation.AlertUnconfirmed{
		TenantID: r.TenantID, Key: r.ClientMessageID(), AppointmentID: r.AppointmentID, Start: r.Start,
		QuoteMinor: r.QuoteMinor, Currency: r.Currency, ResourceName: name,
	}, d.timeout)
	if err != nil {
		return reminders.Outcome{}, err
	}
	return outcomeOf(res)
}

func outcomeOf(res any) (reminders.Outcome, error) {
	rr, ok := res.(*conversation.ReminderResponse)
	if !ok {
		return reminders.Outcome{}, fmt.Errorf("conversation answered %T", res)
	}
	if rr.Err != nil {
		return reminders.Outcome{}, rr.Err
	}
	return reminders.Outcome{Sent: rr.Sent, Reason: rr.Reason}, nil
}

// resourceName is who comes, as the reminder names them.
func (d reminderDispatch) resourceName(ctx context.Context, r reminders.Claimed) (string, error) {
	cfg, err := d.catalog.Tenant(ctx, r.TenantID)
	if err != nil {
		return "", err
	}
	if res, ok := cfg.Resource(r.ResourceID); ok {
		return res.Name, nil
	}
	return "", nil
}

// reminderCurrent is the outbox's last check before it sends a reminder: the visit is
// still booked at the version the reminder was about (its client message id says which).
func reminderCurrent(f *persistence.Fulfillment) func(ctx context.Context, d comms.Delivery) (bool, error) {
	return func(ctx context.Context, d comms.Delivery) (bool, error) {
		id, version, ok := reminderOf(d.ClientMessageID)
		if !ok {
			return true, nil
		}
		appt, err := f.FindAppointment(ctx, d.TenantID, id)
		if errors.Is(err, resource.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return appt.Status == "booked" && appt.Version == version, nil
	}
}

// reminderOf reads "reminder:<appointment>:<version>:<offset>" (reminders.Key).
func reminderOf(clientMessageID string) (uuid.UUID, int64, bool) {
	parts := strings.Split(clientMessageID, ":")
	if len(parts) != 4 || parts[0] != reminders.KindReminder {
		return uuid.Nil, 0, false
	}
	id, err := uuid.Parse(parts[1])
	if err != nil {
		return uuid.Nil, 0, false
	}
	v, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return uuid.Nil, 0, false
	}
	return id, v, true
}
