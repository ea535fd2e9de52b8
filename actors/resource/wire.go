package resource

import (
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"ringback/actors/resource/resourcepb"
	"ringback/actors/wirepb"
)

// The wire form of the messages a resource actor accepts and answers, for the hop between
// cluster members: Proto.Actor's remote layer carries protobuf messages only and drops
// anything else (with nothing but a log line), so a resource grain on another node can be
// reached only with these. The actor itself keeps speaking the Go types of messages.go;
// the remote boundary converts with ToWire and FromWire.

// ToWire returns the protobuf form (package resourcepb, same type name) of msg, a pointer
// to one of the exported messages of messages.go. Any other type, a value instead of a
// pointer, and a nil pointer are errors: the actor's own messages (holdExpired, written)
// never leave its node.
//
// FromWire(ToWire(msg)) equals msg field by field, with two exceptions the wire cannot
// hold: times come back in UTC without a monotonic reading (the same instant: Equal holds),
// and an empty slice comes back nil. Errors come back as ErrorFromWire describes.
func ToWire(msg any) (proto.Message, error) {
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, fmt.Errorf("resource: a nil %T has no wire form", msg)
	}
	switch m := msg.(type) {
	case *PlaceHold:
		return &resourcepb.PlaceHold{Id: wirepb.UUID(m.ID), ServiceId: m.ServiceID, Start: wirepb.Time(m.Start), Customer: customerToWire(m.Customer)}, nil
	case *HoldResponse:
		return &resourcepb.HoldResponse{Hold: claimToWire(m.Hold), Replayed: m.Replayed, Error: ErrorToWire(m.Err)}, nil
	case *ReleaseHold:
		return &resourcepb.ReleaseHold{Id: wirepb.UUID(m.ID)}, nil
	case *ReleaseResponse:
		return &resourcepb.ReleaseResponse{Error: ErrorToWire(m.Err)}, nil
	case *ConfirmHold:
		return &resourcepb.ConfirmHold{Id: wirepb.UUID(m.ID)}, nil
	case *CancelAppointment:
		return &resourcepb.CancelAppointment{Id: wirepb.UUID(m.ID)}, nil
	case *RescheduleAppointment:
		return &resourcepb.RescheduleAppointment{Id: wirepb.UUID(m.ID), Start: wirepb.Time(m.Start), NewClaimId: wirepb.UUID(m.NewClaimID)}, nil
	case *ConfirmAttendance:
		return &resourcepb.ConfirmAttendance{Id: wirepb.UUID(m.ID)}, nil
	case *FlagUnconfirmed:
		return &resourcepb.FlagUnconfirmed{Id: wirepb.UUID(m.ID), Version: m.Version}, nil
	case *AppointmentResponse:
		return &resourcepb.AppointmentResponse{Appointment: appointmentToWire(m.Appointment), Error: ErrorToWire(m.Err)}, nil
	case *SlotsRequest:
		return &resourcepb.SlotsRequest{ServiceId: m.ServiceID, From: wirepb.Time(m.From), To: wirepb.Time(m.To), Limit: int64(m.Limit)}, nil
	case *SlotsResponse:
		w := &resourcepb.SlotsResponse{ResourceId: m.ResourceID, Duration: durationpb.New(m.Duration), Withheld: m.Withheld, Error: ErrorToWire(m.Err)}
		for _, s := range m.Slots {
			// Never nil, unlike wirepb.Time: a repeated field has no absent element, and the
			// zero time's Timestamp (0001-01-01) reads back as the zero time.
			w.Slots = append(w.Slots, timestamppb.New(s))
		}
		return w, nil
	case *BusyTimeImported:
		w := &resourcepb.BusyTimeImported{ReadAt: wirepb.Time(m.ReadAt)}
		for _, iv := range m.Busy {
			w.Busy = append(w.Busy, &resourcepb.Interval{Start: wirepb.Time(iv.Start), End: wirepb.Time(iv.End)})
		}
		return w, nil
	case *ConfigChanged:
		return &resourcepb.ConfigChanged{}, nil
	case *FlushRequest:
		return &resourcepb.FlushRequest{}, nil
	case *FlushResponse:
		return &resourcepb.FlushResponse{}, nil
	}
	return nil, fmt.Errorf("resource: %T has no wire form", msg)
}

// FromWire returns the message m is the wire form of: a pointer to the messages.go type of
// the same name. Another type is an error, and so is a malformed UUID (not 16 bytes).
func FromWire(m proto.Message) (any, error) {
	var d decoder
	var msg any
	switch m := m.(type) {
	case *resourcepb.PlaceHold:
		msg = &PlaceHold{ID: d.id(m.GetId()), ServiceID: m.GetServiceId(), Start: wirepb.AsTime(m.GetStart()), Customer: customerFromWire(m.GetCustomer())}
	case *resourcepb.HoldResponse:
		msg = &HoldResponse{Hold: d.claim(m.GetHold()), Replayed: m.GetReplayed(), Err: ErrorFromWire(m.GetError())}
	case *resourcepb.ReleaseHold:
		msg = &ReleaseHold{ID: d.id(m.GetId())}
	case *resourcepb.ReleaseResponse:
		msg = &ReleaseResponse{Err: ErrorFromWire(m.GetError())}
	case *resourcepb.ConfirmHold:
		msg = &ConfirmHold{ID: d.id(m.GetId())}
	case *resourcepb.CancelAppointment:
		msg = &CancelAppointment{ID: d.id(m.GetId())}
	case *resourcepb.RescheduleAppointment:
		msg = &RescheduleAppointment{ID: d.id(m.GetId()), Start: wirepb.AsTime(m.GetStart()), NewClaimID: d.id(m.GetNewClaimId())}
	case *resourcepb.ConfirmAttendance:
		msg = &ConfirmAttendance{ID: d.id(m.GetId())}
	case *resourcepb.FlagUnconfirmed:
		msg = &FlagUnconfirmed{ID: d.id(m.GetId()), Version: m.GetVersion()}
	case *resourcepb.AppointmentResponse:
		msg = &AppointmentResponse{Appointment: d.appointment(m.GetAppointment()), Err: ErrorFromWire(m.GetError())}
	case *resourcepb.SlotsRequest:
		msg = &SlotsRequest{ServiceID: m.GetServiceId(), From: wirepb.AsTime(m.GetFrom()), To: wirepb.AsTime(m.GetTo()), Limit: int(m.GetLimit())}
	case *resourcepb.SlotsResponse:
		r := &SlotsResponse{ResourceID: m.GetResourceId(), Duration: m.GetDuration().AsDuration(), Withheld: m.GetWithheld(), Err: ErrorFromWire(m.GetError())}
		if n := len(m.GetSlots()); n > 0 {
			r.Slots = make([]time.Time, n)
			for i, s := range m.GetSlots() {
				r.Slots[i] = wirepb.AsTime(s)
			}
		}
		msg = r
	case *resourcepb.BusyTimeImported:
		b := &BusyTimeImported{ReadAt: wirepb.AsTime(m.GetReadAt())}
		if n := len(m.GetBusy()); n > 0 {
			b.Busy = make([]Interval, n)
			for i, iv := range m.GetBusy() {
				b.Busy[i] = Interval{Start: wirepb.AsTime(iv.GetStart()), End: wirepb.AsTime(iv.GetEnd())}
			}
		}
		msg = b
	case *resourcepb.ConfigChanged:
		msg = &ConfigChanged{}
	case *resourcepb.FlushRequest:
		msg = &FlushRequest{}
	case *resourcepb.FlushResponse:
		msg = &FlushResponse{}
	default:
		return nil, fmt.Errorf("resource: %T is not the wire form of a resource message", m)
	}
	if d.err != nil {
		return nil, fmt.Errorf("resource: decode %T: %w", m, d.err)
	}
	return msg, nil
}

// wireErrors are the sentinels that cross the wire as themselves.
var wireErrors = []wirepb.Known{
	{Code: wirepb.ErrorCode_ERROR_CODE_CONFLICT, Err: ErrConflict},
	{Code: wirepb.ErrorCode_ERROR_CODE_GONE, Err: ErrGone},
	{Code: wirepb.ErrorCode_ERROR_CODE_NOT_FOUND, Err: ErrNotFound},
	{Code: wirepb.ErrorCode_ERROR_CODE_ALREADY_BOOKED, Err: ErrAlreadyBooked},
	{Code: wirepb.ErrorCode_ERROR_CODE_KEY_REUSED, Err: ErrKeyReused},
	{Code: wirepb.ErrorCode_ERROR_CODE_CALENDAR_STALE, Err: ErrCalendarStale},
	{Code: wirepb.ErrorCode_ERROR_CODE_RESOURCE_RETIRED, Err: ErrResourceRetired},
}

// ErrorToWire is the wire form of err: nil for nil; the code of a *RuleError (with its
// Field and Message) or of the package's sentinel err is (errors.Is), else an opaque code;
// always err's whole text. Other packages whose responses carry this package's errors
// (conversation) encode them with it.
func ErrorToWire(err error) *wirepb.Error {
	if err == nil {
		return nil
	}
	var rule *RuleError
	if errors.As(err, &rule) {
		return &wirepb.Error{Code: wirepb.ErrorCode_ERROR_CODE_RULE, Message: err.Error(), Field: rule.Field, Rule: rule.Message}
	}
	code, known := wirepb.CodeOf(err, wireErrors...)
	if !known && wirepb.Transient(err) {
		code = wirepb.ErrorCode_ERROR_CODE_UNAVAILABLE
	}
	return &wirepb.Error{Code: code, Message: err.Error()}
}

// ErrorFromWire is the error e carries: nil for nil; this package's own sentinel value
// for its code (ErrConflict itself, so == and errors.Is hold), a *RuleError with the same
// Field and Message, each wrapped in the sender's text when it added context; any other
// code is an opaque error with the sender's text.
func ErrorFromWire(e *wirepb.Error) error {
	if e == nil {
		return nil
	}
	if e.GetCode() == wirepb.ErrorCode_ERROR_CODE_RULE {
		return wirepb.Restore(e, &RuleError{Field: e.GetField(), Message: e.GetRule()})
	}
	if err, ok := wirepb.Decode(e, wireErrors...); ok {
		return err
	}
	if e.GetCode() == wirepb.ErrorCode_ERROR_CODE_UNAVAILABLE {
		return wirepb.Restore(e, wirepb.ErrUnavailable)
	}
	return wirepb.Opaque(e)
}

func customerToWire(c Customer) *resourcepb.Customer {
	return &resourcepb.Customer{Phone: c.Phone, Name: c.Name, Endpoint: c.Endpoint}
}

func customerFromWire(c *resourcepb.Customer) Customer {
	return Customer{Phone: c.GetPhone(), Name: c.GetName(), Endpoint: c.GetEndpoint()}
}

func quoteToWire(q Quote) *resourcepb.Quote {
	return &resourcepb.Quote{AmountMinor: q.AmountMinor, Currency: q.Currency}
}

func quoteFromWire(q *resourcepb.Quote) Quote {
	return Quote{AmountMinor: q.GetAmountMinor(), Currency: q.GetCurrency()}
}

func claimToWire(c Claim) *resourcepb.Claim {
	return &resourcepb.Claim{
		Id: wirepb.UUID(c.ID), TenantId: c.TenantID, ResourceId: c.ResourceID, ServiceId: c.ServiceID,
		Start: wirepb.Time(c.Start), End: wirepb.Time(c.End), Status: string(c.Status), ExpiresAt: wirepb.Time(c.ExpiresAt),
		Customer: customerToWire(c.Customer), Quote: quoteToWire(c.Quote), AppointmentId: wirepb.UUID(c.AppointmentID),
	}
}

func appointmentToWire(a Appointment) *resourcepb.Appointment {
	return &resourcepb.Appointment{
		Id: wirepb.UUID(a.ID), TenantId: a.TenantID, ResourceId: a.ResourceID, ServiceId: a.ServiceID,
		ReservationId: wirepb.UUID(a.ReservationID), ClaimId: wirepb.UUID(a.ClaimID),
		Start: wirepb.Time(a.Start), End: wirepb.Time(a.End), Status: a.Status,
		Customer: customerToWire(a.Customer), Quote: quoteToWire(a.Quote), Version: a.Version,
		ConfirmedAt: wirepb.Time(a.ConfirmedAt), UnconfirmedAt: wirepb.Time(a.UnconfirmedAt),
	}
}

// decoder keeps the first malformed field of a message being decoded, so each field
// reads as one expression.
type decoder struct{ err error }

func (d *decoder) id(b []byte) uuid.UUID {
	u, err := wirepb.ParseUUID(b)
	if err != nil && d.err == nil {
		d.err = err
	}
	return u
}

func (d *decoder) claim(c *resourcepb.Claim) Claim {
	return Claim{
		ID: d.id(c.GetId()), TenantID: c.GetTenantId(), ResourceID: c.GetResourceId(), ServiceID: c.GetServiceId(),
		Start: wirepb.AsTime(c.GetStart()), End: wirepb.AsTime(c.GetEnd()), Status: Status(c.GetStatus()), ExpiresAt: wirepb.AsTime(c.GetExpiresAt()),
		Customer: customerFromWire(c.GetCustomer()), Quote: quoteFromWire(c.GetQuote()), AppointmentID: d.id(c.GetAppointmentId()),
	}
}

func (d *decoder) appointment(a *resourcepb.Appointment) Appointment {
	return Appointment{
		ID: d.id(a.GetId()), TenantID: a.GetTenantId(), ResourceID: a.GetResourceId(), ServiceID: a.GetServiceId(),
		ReservationID: d.id(a.GetReservationId()), ClaimID: d.id(a.GetClaimId()),
		Start: wirepb.AsTime(a.GetStart()), End: wirepb.AsTime(a.GetEnd()), Status: a.GetStatus(),
		Customer: customerFromWire(a.GetCustomer()), Quote: quoteFromWire(a.GetQuote()), Version: a.GetVersion(),
		ConfirmedAt: wirepb.AsTime(a.GetConfirmedAt()), UnconfirmedAt: wirepb.AsTime(a.GetUnconfirmedAt()),
	}
}
