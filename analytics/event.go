// Package analytics owns Ringback's domain event log: the closed set of event kinds and the
// data each carries (documented in docs/EVENTS.md), the Recorder the actors and adapters
// emit through, and the batching Writer that appends events to Postgres off the hot path.
// The log is for later ETL (booking success rate, auto-reply conversion); nothing in the
// engine reads it back to decide anything.
package analytics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Kind names what happened. The set is closed: Valid refuses any other value, and
// docs/EVENTS.md documents each one (a test keeps the two in step).
type Kind string

// The kinds, grouped by the part of the engine that emits them.
const (
	// Conversation side; Subject is the conversation id.
	MissedCallReceived  Kind = "missed_call.received"
	AutoReplySent       Kind = "auto_reply.sent"
	AutoReplySuppressed Kind = "auto_reply.suppressed"
	OptionsOffered      Kind = "options.offered"
	OptionChosen        Kind = "options.chosen"
	ConsentOptedOut     Kind = "consent.opted_out"
	ConsentOptedIn      Kind = "consent.opted_in"
	// Comms; Subject is the conversation id of the message.
	DeliveryStatus Kind = "delivery.status"
	// Fulfillment; Subject is the hold (reservation) id for hold.*, the appointment id
	// for appointment.*.
	HoldPlaced             Kind = "hold.placed"
	HoldReleased           Kind = "hold.released"
	HoldExpired            Kind = "hold.expired"
	AppointmentBooked      Kind = "appointment.booked"
	AppointmentCancelled   Kind = "appointment.cancelled"
	AppointmentRescheduled Kind = "appointment.rescheduled"
	// Integrations; Subject is the appointment id.
	SyncOutcome Kind = "sync.outcome"
)

// schema maps every kind to a zero value of its data type: the closed set, and what
// docs/EVENTS.md must describe.
var schema = map[Kind]any{
	MissedCallReceived:     MissedCallData{},
	AutoReplySent:          AutoReplySentData{},
	AutoReplySuppressed:    AutoReplySuppressedData{},
	OptionsOffered:         OptionsOfferedData{},
	OptionChosen:           OptionChosenData{},
	ConsentOptedOut:        ConsentData{},
	ConsentOptedIn:         ConsentData{},
	DeliveryStatus:         DeliveryStatusData{},
	HoldPlaced:             HoldPlacedData{},
	HoldReleased:           HoldEndedData{},
	HoldExpired:            HoldEndedData{},
	AppointmentBooked:      AppointmentBookedData{},
	AppointmentCancelled:   AppointmentCancelledData{},
	AppointmentRescheduled: AppointmentRescheduledData{},
	SyncOutcome:            SyncOutcomeData{},
}

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool {
	_, ok := schema[k]
	return ok
}

// Event is one entry of the log. Emitters fill TenantID, Kind, Subject and Data (one of the
// XData types below, by value); OccurredAt defaults to the recorder's clock. Seq is given
// by Postgres on append and is the export cursor. Its JSON form is the export's line format.
type Event struct {
	Seq        int64     `json:"seq"`
	TenantID   string    `json:"tenant_id"`
	Kind       Kind      `json:"kind"`
	OccurredAt time.Time `json:"occurred_at"`
	// Subject is what the event is about: a conversation, hold or appointment id (see Kind).
	Subject string `json:"subject"`
	// Data is the kind's XData value when recorded (the recorder owns it from then on), and
	// a json.RawMessage holding a JSON object when read back.
	Data any `json:"data"`
}

// ErrInvalid is why an event is refused: no tenant, an unknown kind, no subject, or data
// that is not a JSON object.
var ErrInvalid = errors.New("analytics: invalid event")

// Check reports whether e may be appended (everything except its data, which EncodeData
// checks).
func (e Event) Check() error {
	switch {
	case e.TenantID == "":
		return fmt.Errorf("%w: no tenant", ErrInvalid)
	case !e.Kind.Valid():
		return fmt.Errorf("%w: unknown kind %q", ErrInvalid, e.Kind)
	case e.Subject == "":
		return fmt.Errorf("%w: %s without a subject", ErrInvalid, e.Kind)
	}
	return nil
}

// EncodeData is the stored form of an event's data: a JSON object. nil is {}; raw JSON
// (json.RawMessage or []byte) is taken as it is; anything else is marshalled.
func EncodeData(data any) (json.RawMessage, error) {
	var raw []byte
	switch d := data.(type) {
	case nil:
		return json.RawMessage(`{}`), nil
	case json.RawMessage:
		raw = d
	case []byte:
		raw = d
	default:
		var err error
		if raw, err = json.Marshal(d); err != nil {
			return nil, fmt.Errorf("%w: data: %v", ErrInvalid, err)
		}
	}
	trimmed := bytes.TrimSpace(raw)
	if bytes.Equal(trimmed, []byte("null")) {
		return json.RawMessage(`{}`), nil
	}
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, fmt.Errorf("%w: data is not a JSON object", ErrInvalid)
	}
	return json.RawMessage(trimmed), nil
}

// Suppression reasons of auto_reply.suppressed.
const (
	ReasonOptedOut           = "opted_out"            // the caller opted out of this endpoint
	ReasonCooldown           = "cooldown"             // an auto-reply went to the caller inside auto_reply_cooldown
	ReasonQuietHoursDeferred = "quiet_hours_deferred" // deferred to the end of quiet hours (Until); decided again then
	ReasonNoService          = "no_service"           // the endpoint's default service is not configured
)

// MissedCallData is the data of missed_call.received.
type MissedCallData struct {
	Endpoint string `json:"endpoint"` // the business number called
	Source   string `json:"source"`   // twilio | pbx
}

// AutoReplySentData is the data of auto_reply.sent: the auto-reply was committed to the
// outbox (its delivery is reported by delivery.status).
type AutoReplySentData struct {
	Endpoint        string    `json:"endpoint"`
	ClientMessageID string    `json:"client_message_id"`
	Options         int       `json:"options"`        // slots offered; 0 is the no-slots text
	Deferred        bool      `json:"deferred"`       // sent when quiet hours ended
	MissedCallAt    time.Time `json:"missed_call_at"` // when the missed-call webhook arrived
}

// AutoReplySuppressedData is the data of auto_reply.suppressed.
type AutoReplySuppressedData struct {
	Endpoint string    `json:"endpoint"`
	Reason   string    `json:"reason"`         // one of the Reason constants
	Until    time.Time `json:"until,omitzero"` // quiet_hours_deferred: when it is decided again
}

// OfferedSlot is one numbered option of options.offered.
type OfferedSlot struct {
	ResourceID string    `json:"resource_id"`
	StartsAt   time.Time `json:"starts_at"`
	QuoteMinor int64     `json:"quote_minor"`
	Currency   string    `json:"currency"`
}

// OptionsOfferedData is the data of options.offered.
type OptionsOfferedData struct {
	Via       string        `json:"via"` // auto_reply | reply
	ServiceID string        `json:"service_id"`
	Count     int           `json:"count"`
	Slots     []OfferedSlot `json:"slots"`
}

// OptionChosenData is the data of options.chosen: the customer picked an option and the
// hold on it was placed. HoldID links the conversation to hold.* and appointment.booked.
type OptionChosenData struct {
	Option     int       `json:"option"` // the number the customer replied with
	HoldID     string    `json:"hold_id"`
	ResourceID string    `json:"resource_id"`
	ServiceID  string    `json:"service_id"`
	StartsAt   time.Time `json:"starts_at"`
}

// ConsentData is the data of consent.opted_out and consent.opted_in.
type ConsentData struct {
	Endpoint string `json:"endpoint"`
	Source   string `json:"source"` // sms (the customer's keyword) | carrier (the provider refused a send, 21610)
}

// DeliveryStatusData is the data of delivery.status.
type DeliveryStatusData struct {
	ClientMessageID string `json:"client_message_id"`
	MessageKind     string `json:"message_kind"` // auto_reply | reply | compliance
	Status          string `json:"status"`       // queued | sent | delivered | undelivered | failed | suppressed | sandbox | …
	ErrorCode       int    `json:"error_code,omitempty"`
}

// HoldPlacedData is the data of hold.placed.
type HoldPlacedData struct {
	ResourceID string    `json:"resource_id"`
	ServiceID  string    `json:"service_id"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	QuoteMinor int64     `json:"quote_minor"`
	Currency   string    `json:"currency"`
}

// HoldEndedData is the data of hold.released and hold.expired.
type HoldEndedData struct {
	ResourceID string `json:"resource_id"`
}

// AppointmentBookedData is the data of appointment.booked.
type AppointmentBookedData struct {
	ReservationID string    `json:"reservation_id"` // the hold it was booked from (a hold.placed subject)
	ResourceID    string    `json:"resource_id"`
	ServiceID     string    `json:"service_id"`
	StartsAt      time.Time `json:"starts_at"`
	EndsAt        time.Time `json:"ends_at"`
	QuoteMinor    int64     `json:"quote_minor"`
	Currency      string    `json:"currency"`
}

// AppointmentCancelledData is the data of appointment.cancelled.
type AppointmentCancelledData struct {
	ResourceID string    `json:"resource_id"`
	StartsAt   time.Time `json:"starts_at"`
}

// AppointmentRescheduledData is the data of appointment.rescheduled.
type AppointmentRescheduledData struct {
	ResourceID   string    `json:"resource_id"`
	FromStartsAt time.Time `json:"from_starts_at"`
	StartsAt     time.Time `json:"starts_at"`
	EndsAt       time.Time `json:"ends_at"`
}

// SyncOutcomeData is the data of sync.outcome: one attempt of one vendor sync job.
type SyncOutcomeData struct {
	ConnectionID string `json:"connection_id"`
	Provider     string `json:"provider"` // google | jobber
	Action       string `json:"action"`   // create | update | delete
	Outcome      string `json:"outcome"`  // ok | retry | failed
	Attempt      int    `json:"attempt"`  // 1 for the first
	Error        string `json:"error,omitempty"`
}
