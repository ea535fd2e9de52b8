package conversation

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"ringback/actors/resource"
	"ringback/tenant"
)

// Stage is where a conversation is in the booking flow.
type Stage string

const (
	Idle    Stage = "idle"    // nothing offered yet (or everything settled)
	Offered Stage = "offered" // numbered options were sent
	Holding Stage = "held"    // the customer picked one; a hold is live until it expires
	Booked  Stage = "booked"  // YES confirmed the hold
)

// Offer is one numbered option sent to the customer, and the hold made on it.
type Offer struct {
	ResourceID string    `json:"resource_id"`
	ServiceID  string    `json:"service_id"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	QuoteMinor int64     `json:"quote_minor"`
	Currency   string    `json:"currency"`
	HoldID     uuid.UUID `json:"hold_id,omitzero"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
}

func (o Offer) option() Option {
	return Option{Start: o.Start, QuoteMinor: o.QuoteMinor, Currency: o.Currency}
}

// Deferred is an auto-reply waiting for quiet hours to end.
type Deferred struct {
	At          time.Time `json:"at"`
	ReceivedAt  time.Time `json:"received_at"`
	EnvelopeKey string    `json:"envelope_key"`
	// CorrelationID is the missed-call webhook's, so the deferred auto-reply carries it.
	CorrelationID string `json:"correlation_id,omitempty"`
}

// State is a conversation between one business number and one customer phone: what the
// actor keeps in memory and Postgres keeps in conversation.conversations.
type State struct {
	ID            uuid.UUID `json:"id"`
	TenantID      string    `json:"tenant_id"`
	Endpoint      string    `json:"endpoint"`
	Phone         string    `json:"phone"`
	Stage         Stage     `json:"stage"`
	Options       []Offer   `json:"options,omitempty"`
	SearchFrom    time.Time `json:"search_from,omitzero"` // MORE continues after this instant
	Hold          *Offer    `json:"hold,omitempty"`
	AppointmentID uuid.UUID `json:"appointment_id,omitzero"`
	// Visit is the booked appointment's slot and quote while AppointmentID is set.
	Visit *Offer `json:"visit,omitempty"`
	// Moving says the options or hold in progress are a new time for the booked visit,
	// which stays booked until the customer confirms one.
	Moving bool `json:"moving,omitempty"`
	// CancelAsked says the engine asked "call off your visit?"; a yes cancels it.
	CancelAsked bool      `json:"cancel_asked,omitempty"`
	Caller      Caller    `json:"caller"`
	LastAckAt   time.Time `json:"last_ack_at,omitzero"`
	// NeedsAttention says a message the engine could not act on waits for a person; it
	// clears when the customer's next message is one the engine acts on.
	NeedsAttention bool `json:"needs_attention,omitempty"`
	// TakenOver says a person answers this conversation from the console: the bot sends
	// nothing in it (compliance texts aside) until it is handed back.
	TakenOver bool `json:"taken_over,omitempty"`
	// LastAlertAt is when the business was last alerted about this conversation.
	LastAlertAt time.Time `json:"last_alert_at,omitzero"`
	Deferred    *Deferred `json:"deferred,omitempty"`
	// Reminded is the reminder a yes now answers (nil when none is waiting).
	Reminded *Reminded `json:"reminded,omitempty"`
	// RemindersSent are the keys of the latest reminders and deadline alerts committed
	// here, so one handed over again is not sent again.
	RemindersSent []string `json:"reminders_sent,omitempty"`
	Version       int64    `json:"version"`
}

// visit is the booked visit, for states saved before Visit existed: the hold it was
// confirmed from.
func (s State) visit() *Offer {
	switch {
	case s.AppointmentID == uuid.Nil:
		return nil
	case s.Visit != nil:
		return s.Visit
	case !s.Moving:
		return s.Hold
	}
	return nil
}

// thread is what Read needs to know of the conversation.
func (s State) thread() Thread {
	th := Thread{Booked: s.AppointmentID != uuid.Nil}
	if s.Stage == Offered || s.Stage == Holding {
		th.Options = make([]time.Time, len(s.Options))
		for i, o := range s.Options {
			th.Options[i] = o.Start
		}
	}
	return th
}

// Outgoing is an SMS the conversation decided to send; it is written to the outbox in the
// same transaction as the state that decided it.
type Outgoing struct {
	ClientMessageID string
	Body            string
	Kind            string    // auto_reply | reply | compliance | alert | person
	TriggerAt       time.Time // when the webhook behind an auto-reply arrived
	// To is the recipient when it is not the customer: the business's owner_phone for an
	// alert ("" for the customer).
	To string
}

// Received is a customer's SMS to keep for the business.
type Received struct {
	MessageSid string
	Body       string
}

// Commit is one step of a conversation: the new state, what came in, what goes out, and
// the webhook envelope it processed, written in one transaction.
type Commit struct {
	State       State
	Received    *Received
	Outgoing    []Outgoing
	EnvelopeKey string // "" when the step was not caused by a webhook
	// CorrelationID and TraceParent of the step are stored on every outbox row of
	// Outgoing, so the send logs the one and continues the trace of the other ("" for none).
	CorrelationID, TraceParent string
	// OptOutUnchanged says the caller's opt-out is what the store already holds, so the
	// opt-out list the outbox consults needs no write (most steps). False writes it.
	OptOutUnchanged bool
}

// Store is what a conversation actor needs of Postgres.
type Store interface {
	// Load returns the conversation of (endpoint, phone), or ErrNoConversation.
	Load(ctx context.Context, endpoint, phone string) (State, error)
	// Save writes c in one transaction; it fails with ErrStale if the stored version is not
	// c.State.Version-1 (another activation wrote first), and with ErrRepeated if
	// c.EnvelopeKey names an envelope already processed.
	Save(ctx context.Context, c Commit) error
}

var (
	ErrNoConversation = errors.New("no conversation yet")
	ErrStale          = errors.New("conversation changed by another activation")
	// ErrRepeated refuses a step whose envelope was processed before: a webhook handed to
	// the conversation twice (a re-dispatch racing the first dispatch). Nothing was written.
	ErrRepeated = errors.New("webhook already processed")
)

// Bookings is how a conversation reaches the fulfillment actors: by their messages, through
// resource.Bookings. It never reads fulfillment storage.
type Bookings interface {
	Availability(ctx context.Context, tenantID, serviceID, resourceID string, from, to time.Time, limit int) ([]resource.Slot, []string, error)
	Hold(ctx context.Context, tenantID string, req resource.HoldRequest) (resource.Claim, bool, error)
	Confirm(ctx context.Context, tenantID string, holdID uuid.UUID) (resource.Appointment, error)
	Release(ctx context.Context, tenantID string, holdID uuid.UUID) error
	Cancel(ctx context.Context, tenantID string, id uuid.UUID) (resource.Appointment, error)
	Reschedule(ctx context.Context, tenantID string, id uuid.UUID, start time.Time, key string) (resource.Appointment, error)
	ConfirmAttendance(ctx context.Context, tenantID string, id uuid.UUID) (resource.Appointment, error)
}

// Outbox sends what was committed.
type Outbox interface {
	Enqueue(clientMessageIDs ...string)
}

// Catalog gives the tenant's config.
type Catalog interface {
	Tenant(ctx context.Context, id string) (*tenant.Config, error)
}
