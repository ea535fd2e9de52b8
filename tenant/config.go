// Package tenant owns a business's configuration: what it is, how it is parsed from
// YAML or JSON, and every rule that makes it valid. It knows nothing of storage or HTTP;
// the admin API and `engine apply` both go through Parse and Validate.
package tenant

import (
	"errors"
	"time"
)

// Config is one tenant (business) as an operator writes it. The same struct tags serve
// JSON and YAML (sigs.k8s.io/yaml converts YAML to JSON first).
type Config struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	Timezone      string       `json:"timezone"`
	Endpoints     []Endpoint   `json:"endpoints"`
	Services      []Service    `json:"services"`
	Resources     []Resource   `json:"resources"`
	Policies      Policies     `json:"policies"`
	Templates     Templates    `json:"templates,omitzero"`
	BookingAPIKey string       `json:"booking_api_key,omitempty"`
	Connections   []Connection `json:"connections,omitempty"`
}

// Endpoint is a messaging endpoint: one business phone number.
type Endpoint struct {
	Number         string      `json:"number"`
	DefaultService string      `json:"default_service"`
	PBXSecret      string      `json:"pbx_secret,omitempty"`
	AutoReply      string      `json:"auto_reply,omitempty"`
	QuietHours     *QuietHours `json:"quiet_hours,omitempty"`
	// SendRate is the sender's token bucket in messages per second (a US long code
	// is allowed about 1). Zero means the default of 1.
	SendRate float64 `json:"send_rate,omitempty"`
	// OwnerPhone is where the business is alerted by SMS when a customer needs a person
	// (E.164; empty: no alerts, the conversation is still marked needs_attention).
	OwnerPhone string `json:"owner_phone,omitempty"`
}

// EndpointFor is the business number a customer of a visit hears from: number when the
// tenant still has it (the one they booked through), else the number whose default
// service is serviceID, else the tenant's first; false when the tenant has none.
func (c *Config) EndpointFor(number, serviceID string) (Endpoint, bool) {
	for _, e := range c.Endpoints {
		if number != "" && e.Number == number {
			return e, true
		}
	}
	for _, e := range c.Endpoints {
		if e.DefaultService == serviceID {
			return e, true
		}
	}
	if len(c.Endpoints) > 0 {
		return c.Endpoints[0], true
	}
	return Endpoint{}, false
}

// QuietHours is a local-time window (it may wrap midnight) in which no auto-reply is sent.
type QuietHours struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Service is something the business sells, with its duration and price rules.
type Service struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Duration Duration `json:"duration"`
	Price    Price    `json:"price"`
}

// Price is a service's quote rule: Base plus PerHour for each started quarter hour of
// the service's duration (a quarter of PerHour per quarter hour), in Currency (ISO 4217).
// Amounts are in major units (dollars) with at most two decimals; Quote turns them into
// minor units (cents).
type Price struct {
	Base     float64 `json:"base"`
	PerHour  float64 `json:"per_hour,omitempty"`
	Currency string  `json:"currency"`
}

// Resource is something bookable: a technician, a van, a room.
type Resource struct {
	ID       string              `json:"id"`
	Name     string              `json:"name"`
	Services []string            `json:"services"`
	Hours    map[string][]string `json:"hours"` // mon..sun → ["08:00-12:00", …], local time
	Calendar *CalendarRef        `json:"calendar,omitempty"`
}

// CalendarRef names the external calendar whose busy time blocks a resource.
type CalendarRef struct {
	Connection string `json:"connection"`
	CalendarID string `json:"calendar_id"`
}

// Policies are the tenant's booking and messaging rules. Fields left out of a parsed
// config take the values of DefaultPolicies; Normalize also fills the zero fields that
// cannot be zero.
type Policies struct {
	HoldTTL            Duration `json:"hold_ttl,omitzero"`             // default 10m
	SlotStep           Duration `json:"slot_step,omitzero"`            // default 30m
	MinNotice          Duration `json:"min_notice,omitzero"`           // default 2h
	Horizon            Duration `json:"horizon,omitzero"`              // default 14d
	OfferCount         int      `json:"offer_count,omitempty"`         // default 3
	AutoReplyCooldown  Duration `json:"auto_reply_cooldown"`           // default 24h; may be 0
	CalendarRefresh    Duration `json:"calendar_refresh,omitzero"`     // default 1m
	CalendarStaleAfter Duration `json:"calendar_stale_after,omitzero"` // default 15m
	// Reminders are the offsets before a visit at which the customer is reminded;
	// default [24h, 2h]; an empty list sends none. Whole days are read on the local
	// calendar (the day before at the same time), anything else on the clock.
	Reminders []Duration `json:"reminders"`
	// UnconfirmedAfter is how long before the visit a reminded customer's answer is expected;
	// unanswered by then, the visit is listed unconfirmed and the owner told (default 4h).
	UnconfirmedAfter Duration `json:"unconfirmed_after,omitzero"`
}

// DefaultPolicies are the values a tenant gets for policies it leaves out.
var DefaultPolicies = Policies{
	HoldTTL:            Duration(10 * time.Minute),
	SlotStep:           Duration(30 * time.Minute),
	MinNotice:          Duration(2 * time.Hour),
	Horizon:            Duration(14 * 24 * time.Hour),
	OfferCount:         3,
	AutoReplyCooldown:  Duration(24 * time.Hour),
	CalendarRefresh:    Duration(time.Minute),
	CalendarStaleAfter: Duration(15 * time.Minute),
	Reminders:          []Duration{Duration(24 * time.Hour), Duration(2 * time.Hour)},
	UnconfirmedAfter:   Duration(4 * time.Hour),
}

// Templates are the SMS texts the engine sends; empty ones take the defaults of
// conversation.DefaultTemplates. Placeholders: {{business}}, {{options}}, {{slot}}, {{quote}}.
type Templates struct {
	Offer     string `json:"offer,omitempty"`
	Held      string `json:"held,omitempty"`
	Booked    string `json:"booked,omitempty"`
	Expired   string `json:"expired,omitempty"`
	NoSlots   string `json:"no_slots,omitempty"`
	Ack       string `json:"ack,omitempty"`
	Help      string `json:"help,omitempty"`
	OptOut    string `json:"opt_out,omitempty"`
	OptIn     string `json:"opt_in,omitempty"`
	Cancelled string `json:"cancelled,omitempty"`
}

// Connection is a vendor account (Google Calendar or Jobber) with its credentials.
// Credentials are encrypted at rest and redacted when read back.
type Connection struct {
	ID          string            `json:"id"`
	Provider    string            `json:"provider"` // google | jobber
	Credentials map[string]string `json:"credentials,omitempty"`
}

// Redacted is what GET shows in place of a secret; sending it back keeps the stored one.
const Redacted = "<redacted>"

// ErrNotFound is returned for a tenant (or a part of one) that does not exist.
var ErrNotFound = errors.New("tenant not found")

// ApplyResult says what applying a config did.
type ApplyResult struct {
	Created bool  `json:"created"` // the tenant did not exist before
	Changed bool  `json:"changed"` // false when the config equals the stored one: nothing was written
	Version int64 `json:"version"` // the stored version after the apply
}
