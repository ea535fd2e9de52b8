package main

import (
	"context"
	"time"

	"ringback/actors"
	"ringback/actors/conversation"
	"ringback/actors/resource"
	"ringback/analytics"
	ringhttp "ringback/http"
	"ringback/tenant"
)

// consoleConversations carries the console's replies and actions to the conversation
// actors, which decide and commit them like any other step.
type consoleConversations struct {
	dir     *actors.Directory
	catalog *tenant.Cache
}

func (c consoleConversations) ask(ctx context.Context, endpoint, phone string, msg any) error {
	res, err := c.dir.Request(ctx, conversation.Kind, conversation.Identity(endpoint, phone), msg, 10*time.Second)
	if err != nil {
		return err
	}
	return res.(*conversation.ConsoleResponse).Err
}

func (c consoleConversations) PersonReply(ctx context.Context, tenantID, endpoint, phone, key, body string) error {
	return c.ask(ctx, endpoint, phone, &conversation.PersonReply{TenantID: tenantID, Body: body, Key: key})
}

func (c consoleConversations) ConsoleAction(ctx context.Context, tenantID, endpoint, phone, action string) error {
	return c.ask(ctx, endpoint, phone, &conversation.ConsoleAction{TenantID: tenantID, Action: action})
}

// VisitChanged tells the conversation of the visit's customer, on the number they hear
// from, that the business moved or cancelled it from the console.
func (c consoleConversations) VisitChanged(ctx context.Context, a resource.Appointment, cancelled, notify bool, key string) error {
	cfg, err := c.catalog.Tenant(ctx, a.TenantID)
	if err != nil {
		return err
	}
	ep, ok := cfg.EndpointFor(a.Customer.Endpoint, a.ServiceID)
	if !ok {
		return nil // a tenant without a number texts no one
	}
	return c.ask(ctx, ep.Number, a.Customer.Phone, &conversation.VisitChanged{TenantID: a.TenantID, Key: key, AppointmentID: a.ID,
		Cancelled: cancelled, ResourceID: a.ResourceID, ServiceID: a.ServiceID, Start: a.Start, End: a.End,
		QuoteMinor: a.Quote.AmountMinor, Currency: a.Quote.Currency, Notify: notify})
}

// liveEvents records to the event log and tells the tenant's open console pages of the
// events they show: delivery receipts and appointment changes (conversation steps tell
// them themselves, through conversation.Deps.Changed).
type liveEvents struct {
	*analytics.Writer
	live *ringhttp.Live
}

func (l liveEvents) Record(e analytics.Event) {
	l.Writer.Record(e)
	switch e.Kind {
	case analytics.DeliveryStatus, analytics.AppointmentBooked, analytics.AppointmentCancelled,
		analytics.AppointmentRescheduled, analytics.SyncOutcome:
		l.live.Publish(e.TenantID)
	}
}
