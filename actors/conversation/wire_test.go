package conversation

import (
	"errors"
	"fmt"
	"go/ast"
	gotoken "go/token"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"ringback/actors/conversation/conversationpb"
	"ringback/actors/resource"
	"ringback/actors/resource/resourcepb"
	"ringback/actors/wirepb"
	"ringback/internal/wiretest"
)

// hop sends msg across the wire and back through this package's codec.
func hop(t *testing.T, msg any) any {
	t.Helper()
	return wiretest.Hop(t, msg, ToWire, FromWire)
}

// wireState is a conversation with every field set.
func wireState() State {
	start := time.Date(2026, 3, 17, 14, 30, 0, 0, time.UTC)
	offer := func(h int) Offer {
		return Offer{
			ResourceID: "van-1", ServiceID: "drain-cleaning", Start: start.Add(time.Duration(h) * time.Hour), End: start.Add(time.Duration(h)*time.Hour + 90*time.Minute),
			QuoteMinor: 18900, Currency: "USD", HoldID: uuid.MustParse("0195a3c4-7e21-7c3a-9f10-2b8d4e6f7a81"),
			ExpiresAt: time.Date(2026, 3, 14, 9, 12, 45, 123456789, time.UTC),
		}
	}
	hold, visit := offer(2), offer(0)
	return State{
		ID: uuid.MustParse("0195a3c0-1111-7222-8333-944455556666"), TenantID: "acme-plumbing", Endpoint: "+15125550100", Phone: "+15125550199",
		Stage: Holding, Options: []Offer{offer(2), offer(4), offer(24)}, SearchFrom: start.Add(25 * time.Hour), Hold: &hold,
		AppointmentID: uuid.MustParse("0195a3c4-9999-7c3a-9f10-2b8d4e6f7a81"), Visit: &visit, Moving: true, CancelAsked: true,
		Caller:         Caller{OptedOut: true, OptOutConfirmed: true, LastAutoReply: time.Date(2026, 3, 14, 9, 2, 0, 0, time.UTC)},
		LastAckAt:      time.Date(2026, 3, 14, 9, 3, 0, 0, time.UTC),
		NeedsAttention: true, TakenOver: true, LastAlertAt: time.Date(2026, 3, 14, 9, 4, 0, 0, time.UTC),
		Deferred: &Deferred{
			At: time.Date(2026, 3, 15, 13, 0, 0, 0, time.UTC), ReceivedAt: time.Date(2026, 3, 15, 4, 12, 0, 0, time.UTC),
			EnvelopeKey: "pbx:call-8812", CorrelationID: "01JPB3Q7W8X9Y0Z1A2B3C4D5E6",
		},
		Reminded:      &Reminded{AppointmentID: uuid.MustParse("0195a3c4-9999-7c3a-9f10-2b8d4e6f7a81"), Version: 3, At: time.Date(2026, 3, 16, 14, 30, 0, 0, time.UTC)},
		RemindersSent: []string{"reminder:0195a3c4:24h", "reminder:0195a3c4:2h"},
		Version:       12,
	}
}

// wireSamples is one realistic value of every message with a wire form, every field set
// (TestWireSamplesSetEveryField keeps it so): a field added to a message fails the tests
// until the sample and the codec carry it.
func wireSamples() []any {
	received := time.Date(2026, 3, 14, 9, 1, 30, 250000000, time.UTC)
	start := time.Date(2026, 3, 17, 14, 30, 0, 0, time.UTC)
	appt := uuid.MustParse("0195a3c4-9999-7c3a-9f10-2b8d4e6f7a81")
	return []any{
		&MissedCall{
			TenantID: "acme-plumbing", Endpoint: "+15125550100", Phone: "+15125550199", EnvelopeKey: "twilio-voice:CA5f1e", ReceivedAt: received,
			CorrelationID: "01JPB3Q7W8X9Y0Z1A2B3C4D5E6", TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		},
		&InboundSMS{
			TenantID: "acme-plumbing", Endpoint: "+15125550100", Phone: "+15125550199", EnvelopeKey: "twilio-sms:SM9a2b", MessageSid: "SM9a2b",
			Body: "yep 👍 the second one", ReceivedAt: received, CorrelationID: "01JPB3Q7W8X9Y0Z1A2B3C4D5E7", TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b8-01",
		},
		&CarrierOptOut{TenantID: "acme-plumbing"},
		&FlushRequest{},
		&FlushResponse{},
		&StateRequest{},
		&StateResponse{State: wireState()},
		&PersonReply{TenantID: "acme-plumbing", Body: "Hi Dana, the tech will bring a ladder.", Key: "form-7f3a"},
		&ConsoleAction{TenantID: "acme-plumbing", Action: "take_over"},
		&ConsoleResponse{Err: ErrOptedOut},
		&SendReminder{
			TenantID: "acme-plumbing", Key: "reminder:0195a3c4:24h", AppointmentID: appt, Version: 3, ResourceID: "van-1", ServiceID: "drain-cleaning",
			Start: start, End: start.Add(90 * time.Minute), QuoteMinor: 18900, Currency: "USD", Confirmed: true, ResourceName: "Marco",
		},
		&AlertUnconfirmed{
			TenantID: "acme-plumbing", Key: "deadline:0195a3c4", AppointmentID: appt, Start: start, QuoteMinor: 18900, Currency: "USD", ResourceName: "Marco",
		},
		&ReminderResponse{Sent: true, Reason: "opted_out", Err: resource.ErrGone},
		&VisitChanged{
			TenantID: "acme-plumbing", Key: "console-move-31", AppointmentID: appt, Cancelled: true, ResourceID: "van-2", ServiceID: "drain-cleaning",
			Start: start.Add(24 * time.Hour), End: start.Add(25*time.Hour + 30*time.Minute), QuoteMinor: 18900, Currency: "USD", Notify: true,
		},
	}
}

func TestWireRoundTrip(t *testing.T) {
	t.Parallel()
	for _, msg := range wireSamples() {
		t.Run(fmt.Sprintf("%T", msg), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, msg, hop(t, msg))
		})
	}
}

// TestWireSamplesSetEveryField keeps the round trip meaningful: a zero field would
// round-trip even if the codec forgot it.
func TestWireSamplesSetEveryField(t *testing.T) {
	t.Parallel()
	for _, msg := range wireSamples() {
		wiretest.RequireEveryFieldSet(t, msg)
	}
}

func TestWireTimes(t *testing.T) {
	t.Parallel()
	now := time.Now().In(time.FixedZone("CDT", -5*60*60)) // a location and a monotonic reading, neither of which crosses
	got := hop(t, &MissedCall{ReceivedAt: now}).(*MissedCall)
	require.True(t, got.ReceivedAt.Equal(now), "got %v, want %v", got.ReceivedAt, now)

	got = hop(t, &MissedCall{TenantID: "acme-plumbing"}).(*MissedCall)
	require.Equal(t, time.Time{}, got.ReceivedAt, "a zero time stays zero")

	st := hop(t, &StateResponse{State: State{SearchFrom: now}}).(*StateResponse).State
	require.True(t, st.SearchFrom.Equal(now), "got %v, want %v", st.SearchFrom, now)
	require.Equal(t, time.Time{}, st.LastAckAt)
}

func TestWireKeepsEmptyValues(t *testing.T) {
	t.Parallel()
	for _, msg := range []any{&MissedCall{}, &InboundSMS{}, &StateResponse{}, &SendReminder{}, &ReminderResponse{}, &VisitChanged{}, &ConsoleResponse{}} {
		require.Equal(t, msg, hop(t, msg), "%T", msg)
	}
}

func TestWireErrors(t *testing.T) {
	t.Parallel()
	sentinels := []error{
		ErrOptedOut, ErrUnknownAction, ErrStale, ErrRepeated, ErrNoConversation,
		// A step can fail with a fulfillment error: it crosses as resource's own value.
		resource.ErrConflict, resource.ErrGone, resource.ErrNotFound, resource.ErrAlreadyBooked,
		resource.ErrKeyReused, resource.ErrCalendarStale, resource.ErrResourceRetired,
	}
	for _, sentinel := range sentinels {
		got := hop(t, &ConsoleResponse{Err: sentinel}).(*ConsoleResponse).Err
		require.Same(t, sentinel, got, "the receiver's own sentinel value")

		wrapped := fmt.Errorf("save conversation: %w", sentinel)
		got = hop(t, &ReminderResponse{Err: wrapped}).(*ReminderResponse).Err
		require.ErrorIs(t, got, sentinel)
		require.Equal(t, wrapped.Error(), got.Error())
	}

	rule := &resource.RuleError{Field: "start", Message: "beyond the booking horizon"}
	got := hop(t, &ConsoleResponse{Err: fmt.Errorf("reschedule: %w", rule)}).(*ConsoleResponse).Err
	var re *resource.RuleError
	require.ErrorAs(t, got, &re)
	require.Equal(t, *rule, *re)

	opaque := errors.New("endpoint +15125550100 is no longer configured for tenant acme-plumbing")
	got = hop(t, &ReminderResponse{Err: opaque}).(*ReminderResponse).Err
	require.EqualError(t, got, opaque.Error())
	for _, sentinel := range sentinels {
		require.NotErrorIs(t, got, sentinel)
	}

	require.NoError(t, hop(t, &ConsoleResponse{}).(*ConsoleResponse).Err, "nil stays nil")
}

// TestWireErrorCodes pins the codes: they are the wire format, shared with other nodes
// of other builds, and must never change meaning.
func TestWireErrorCodes(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]wirepb.ErrorCode{
		ErrOptedOut: 20, ErrUnknownAction: 21, ErrStale: 22, ErrRepeated: 23, ErrNoConversation: 24,
		resource.ErrConflict: 2, errors.New("anything else"): 0,
	} {
		require.Equal(t, want, errorToWire(err).GetCode(), "%v", err)
	}
	require.Nil(t, errorToWire(nil))
}

func TestToWireRefuses(t *testing.T) {
	t.Parallel()
	for _, msg := range []any{
		&quietEnded{},
		&resumed{value: 1},
		&consoleEvent{tenantID: "acme-plumbing", msg: &PersonReply{}},
		MissedCall{}, // a value: messages are pointers
		(*MissedCall)(nil),
		&State{},
		&resource.PlaceHold{}, // another actor's message
		nil,
	} {
		_, err := ToWire(msg)
		require.Error(t, err, "%T", msg)
	}
}

func TestFromWireRefuses(t *testing.T) {
	t.Parallel()
	for _, m := range []proto.Message{
		wrapperspb.String("hello"),
		&resourcepb.FlushRequest{}, // the resource actor's, not ours
		&conversationpb.SendReminder{AppointmentId: []byte{1, 2, 3}},
		&conversationpb.AlertUnconfirmed{AppointmentId: make([]byte, 15)},
		&conversationpb.VisitChanged{AppointmentId: make([]byte, 32)},
		&conversationpb.StateResponse{StateJson: []byte(`{"id": 7}`)},
	} {
		_, err := FromWire(m)
		require.Error(t, err, "%T", m)
	}
}

// notMessages are the exported struct types of the message files that are not messages.
var notMessages = []string{"Actor", "Deps", "Reminded"}

// TestEveryMessageHasAWireForm fails when a message is added to the actor's files, or to
// what it dispatches, without a wire form: on a cluster it would be dropped silently.
func TestEveryMessageHasAWireForm(t *testing.T) {
	t.Parallel()
	var have []string
	for _, msg := range wireSamples() {
		have = append(have, reflect.TypeOf(msg).Elem().Name())
	}
	files := wiretest.ParsePackage(t)

	var declared []string
	for _, file := range []string{"actor.go", "reminders.go"} {
		for _, d := range files[file].Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == gotoken.TYPE {
				for _, s := range g.Specs {
					ts := s.(*ast.TypeSpec)
					if _, isStruct := ts.Type.(*ast.StructType); isStruct && ast.IsExported(ts.Name.Name) && !slices.Contains(notMessages, ts.Name.Name) {
						declared = append(declared, ts.Name.Name)
					}
				}
			}
		}
	}
	require.Contains(t, declared, "MissedCall", "the message files were not read")
	for _, name := range declared {
		require.Contains(t, have, name, "actor.go or reminders.go declares %s, which has no wire sample (and maybe no ToWire case); a type that is no message goes in notMessages", name)
	}

	dispatched := wiretest.SwitchedTypes(files, "Receive")
	require.Contains(t, dispatched, "MissedCall", "the dispatch method was not found")
	for _, name := range dispatched {
		require.Contains(t, have, name, "the actor dispatches %s, which has no wire sample (and maybe no ToWire case)", name)
	}
}
