package conversation

import (
	"encoding/json"
	"fmt"
	"reflect"

	"google.golang.org/protobuf/proto"

	"ringback/actors/conversation/conversationpb"
	"ringback/actors/resource"
	"ringback/actors/wirepb"
)

// The wire form of the messages a conversation actor accepts and answers (actor.go and
// reminders.go), for the hop between cluster members: Proto.Actor's remote layer carries
// protobuf messages only and drops anything else, so a conversation grain on another node
// can be reached only with these. The actor itself keeps speaking the Go types; the remote
// boundary converts with ToWire and FromWire.

// ToWire returns the protobuf form (package conversationpb, same type name) of msg, a
// pointer to one of the exported messages of the actor. Any other type, a value instead
// of a pointer, and a nil pointer are errors: the actor's own messages (consoleEvent,
// quietEnded, resumed) never leave its node.
//
// FromWire(ToWire(msg)) equals msg field by field, with the exceptions the wire cannot
// hold: times come back in UTC without a monotonic reading (the same instant: Equal holds);
// StateResponse.State crosses as its JSON, so its times come back at the offset they were
// written with (UTC stays UTC) and its empty slices nil, exactly as a load from Postgres. Errors come back as errorFromWire describes.
func ToWire(msg any) (proto.Message, error) {
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Pointer && v.IsNil() {
		return nil, fmt.Errorf("conversation: a nil %T has no wire form", msg)
	}
	switch m := msg.(type) {
	case *MissedCall:
		return &conversationpb.MissedCall{
			TenantId: m.TenantID, Endpoint: m.Endpoint, Phone: m.Phone, EnvelopeKey: m.EnvelopeKey,
			ReceivedAt: wirepb.Time(m.ReceivedAt), CorrelationId: m.CorrelationID, TraceParent: m.TraceParent,
		}, nil
	case *InboundSMS:
		return &conversationpb.InboundSMS{
			TenantId: m.TenantID, Endpoint: m.Endpoint, Phone: m.Phone, EnvelopeKey: m.EnvelopeKey, MessageSid: m.MessageSid,
			Body: m.Body, ReceivedAt: wirepb.Time(m.ReceivedAt), CorrelationId: m.CorrelationID, TraceParent: m.TraceParent,
		}, nil
	case *CarrierOptOut:
		return &conversationpb.CarrierOptOut{TenantId: m.TenantID}, nil
	case *FlushRequest:
		return &conversationpb.FlushRequest{}, nil
	case *FlushResponse:
		return &conversationpb.FlushResponse{}, nil
	case *StateRequest:
		return &conversationpb.StateRequest{}, nil
	case *StateResponse:
		state, err := json.Marshal(m.State)
		if err != nil {
			return nil, fmt.Errorf("conversation: encode the state of %s: %w", m.State.ID, err)
		}
		return &conversationpb.StateResponse{StateJson: state}, nil
	case *PersonReply:
		return &conversationpb.PersonReply{TenantId: m.TenantID, Body: m.Body, Key: m.Key}, nil
	case *ConsoleAction:
		return &conversationpb.ConsoleAction{TenantId: m.TenantID, Action: m.Action}, nil
	case *ConsoleResponse:
		return &conversationpb.ConsoleResponse{Error: errorToWire(m.Err)}, nil
	case *SendReminder:
		return &conversationpb.SendReminder{
			TenantId: m.TenantID, Key: m.Key, AppointmentId: wirepb.UUID(m.AppointmentID), Version: m.Version,
			ResourceId: m.ResourceID, ServiceId: m.ServiceID, Start: wirepb.Time(m.Start), End: wirepb.Time(m.End),
			QuoteMinor: m.QuoteMinor, Currency: m.Currency, Confirmed: m.Confirmed, ResourceName: m.ResourceName,
		}, nil
	case *AlertUnconfirmed:
		return &conversationpb.AlertUnconfirmed{
			TenantId: m.TenantID, Key: m.Key, AppointmentId: wirepb.UUID(m.AppointmentID), Start: wirepb.Time(m.Start),
			QuoteMinor: m.QuoteMinor, Currency: m.Currency, ResourceName: m.ResourceName,
		}, nil
	case *ReminderResponse:
		return &conversationpb.ReminderResponse{Sent: m.Sent, Reason: m.Reason, Error: errorToWire(m.Err)}, nil
	case *VisitChanged:
		return &conversationpb.VisitChanged{
			TenantId: m.TenantID, Key: m.Key, AppointmentId: wirepb.UUID(m.AppointmentID), Cancelled: m.Cancelled,
			ResourceId: m.ResourceID, ServiceId: m.ServiceID, Start: wirepb.Time(m.Start), End: wirepb.Time(m.End),
			QuoteMinor: m.QuoteMinor, Currency: m.Currency, Notify: m.Notify,
		}, nil
	}
	return nil, fmt.Errorf("conversation: %T has no wire form", msg)
}

// FromWire returns the message m is the wire form of: a pointer to the conversation
// message of the same name. Another type is an error, and so is a malformed UUID (not 16
// bytes) or state JSON.
func FromWire(m proto.Message) (any, error) {
	switch m := m.(type) {
	case *conversationpb.MissedCall:
		return &MissedCall{
			TenantID: m.GetTenantId(), Endpoint: m.GetEndpoint(), Phone: m.GetPhone(), EnvelopeKey: m.GetEnvelopeKey(),
			ReceivedAt: wirepb.AsTime(m.GetReceivedAt()), CorrelationID: m.GetCorrelationId(), TraceParent: m.GetTraceParent(),
		}, nil
	case *conversationpb.InboundSMS:
		return &InboundSMS{
			TenantID: m.GetTenantId(), Endpoint: m.GetEndpoint(), Phone: m.GetPhone(), EnvelopeKey: m.GetEnvelopeKey(), MessageSid: m.GetMessageSid(),
			Body: m.GetBody(), ReceivedAt: wirepb.AsTime(m.GetReceivedAt()), CorrelationID: m.GetCorrelationId(), TraceParent: m.GetTraceParent(),
		}, nil
	case *conversationpb.CarrierOptOut:
		return &CarrierOptOut{TenantID: m.GetTenantId()}, nil
	case *conversationpb.FlushRequest:
		return &FlushRequest{}, nil
	case *conversationpb.FlushResponse:
		return &FlushResponse{}, nil
	case *conversationpb.StateRequest:
		return &StateRequest{}, nil
	case *conversationpb.StateResponse:
		var st State
		if err := json.Unmarshal(m.GetStateJson(), &st); err != nil {
			return nil, fmt.Errorf("conversation: decode %T: %w", m, err)
		}
		return &StateResponse{State: st}, nil
	case *conversationpb.PersonReply:
		return &PersonReply{TenantID: m.GetTenantId(), Body: m.GetBody(), Key: m.GetKey()}, nil
	case *conversationpb.ConsoleAction:
		return &ConsoleAction{TenantID: m.GetTenantId(), Action: m.GetAction()}, nil
	case *conversationpb.ConsoleResponse:
		return &ConsoleResponse{Err: errorFromWire(m.GetError())}, nil
	case *conversationpb.SendReminder:
		id, err := wirepb.ParseUUID(m.GetAppointmentId())
		if err != nil {
			return nil, fmt.Errorf("conversation: decode %T: %w", m, err)
		}
		return &SendReminder{
			TenantID: m.GetTenantId(), Key: m.GetKey(), AppointmentID: id, Version: m.GetVersion(),
			ResourceID: m.GetResourceId(), ServiceID: m.GetServiceId(), Start: wirepb.AsTime(m.GetStart()), End: wirepb.AsTime(m.GetEnd()),
			QuoteMinor: m.GetQuoteMinor(), Currency: m.GetCurrency(), Confirmed: m.GetConfirmed(), ResourceName: m.GetResourceName(),
		}, nil
	case *conversationpb.AlertUnconfirmed:
		id, err := wirepb.ParseUUID(m.GetAppointmentId())
		if err != nil {
			return nil, fmt.Errorf("conversation: decode %T: %w", m, err)
		}
		return &AlertUnconfirmed{
			TenantID: m.GetTenantId(), Key: m.GetKey(), AppointmentID: id, Start: wirepb.AsTime(m.GetStart()),
			QuoteMinor: m.GetQuoteMinor(), Currency: m.GetCurrency(), ResourceName: m.GetResourceName(),
		}, nil
	case *conversationpb.ReminderResponse:
		return &ReminderResponse{Sent: m.GetSent(), Reason: m.GetReason(), Err: errorFromWire(m.GetError())}, nil
	case *conversationpb.VisitChanged:
		id, err := wirepb.ParseUUID(m.GetAppointmentId())
		if err != nil {
			return nil, fmt.Errorf("conversation: decode %T: %w", m, err)
		}
		return &VisitChanged{
			TenantID: m.GetTenantId(), Key: m.GetKey(), AppointmentID: id, Cancelled: m.GetCancelled(),
			ResourceID: m.GetResourceId(), ServiceID: m.GetServiceId(), Start: wirepb.AsTime(m.GetStart()), End: wirepb.AsTime(m.GetEnd()),
			QuoteMinor: m.GetQuoteMinor(), Currency: m.GetCurrency(), Notify: m.GetNotify(),
		}, nil
	}
	return nil, fmt.Errorf("conversation: %T is not the wire form of a conversation message", m)
}

// wireErrors are the sentinels that cross the wire as themselves.
var wireErrors = []wirepb.Known{
	{Code: wirepb.ErrorCode_ERROR_CODE_OPTED_OUT, Err: ErrOptedOut},
	{Code: wirepb.ErrorCode_ERROR_CODE_UNKNOWN_ACTION, Err: ErrUnknownAction},
	{Code: wirepb.ErrorCode_ERROR_CODE_STALE, Err: ErrStale},
	{Code: wirepb.ErrorCode_ERROR_CODE_REPEATED, Err: ErrRepeated},
	{Code: wirepb.ErrorCode_ERROR_CODE_NO_CONVERSATION, Err: ErrNoConversation},
}

// errorToWire is the wire form of err: the code of this package's sentinel err is, else
// resource.ErrorToWire's (a step can fail with a fulfillment error, a rule or anything).
func errorToWire(err error) *wirepb.Error {
	if code, ok := wirepb.CodeOf(err, wireErrors...); ok {
		return &wirepb.Error{Code: code, Message: err.Error()}
	}
	return resource.ErrorToWire(err)
}

// errorFromWire is the error e carries: this package's own sentinel value for its code
// (wrapped in the sender's text when it added context), else resource.ErrorFromWire's.
func errorFromWire(e *wirepb.Error) error {
	if err, ok := wirepb.Decode(e, wireErrors...); ok {
		return err
	}
	return resource.ErrorFromWire(e)
}
