package resource

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"ringback/actors/resource/resourcepb"
	"ringback/actors/wirepb"
	"ringback/internal/wiretest"
)

// hop sends msg across the wire and back through this package's codec.
func hop(t *testing.T, msg any) any {
	t.Helper()
	return wiretest.Hop(t, msg, ToWire, FromWire)
}

// wireSamples is one realistic value of every message with a wire form, every field set
// (TestWireSamplesSetEveryField keeps it so): a field added to a message fails the tests
// until the sample and the codec carry it.
func wireSamples() []any {
	start := time.Date(2026, 3, 17, 14, 30, 0, 0, time.UTC)
	cust := Customer{Phone: "+15125550199", Name: "Dana Whitfield", Endpoint: "+15125550100"}
	quote := Quote{AmountMinor: 18900, Currency: "USD"}
	holdID := uuid.MustParse("0195a3c4-7e21-7c3a-9f10-2b8d4e6f7a81")
	apptID := AppointmentID(holdID)
	claim := Claim{
		ID: holdID, TenantID: "acme-plumbing", ResourceID: "van-1", ServiceID: "drain-cleaning",
		Start: start, End: start.Add(90 * time.Minute), Status: Booked,
		ExpiresAt: time.Date(2026, 3, 14, 9, 12, 45, 123456789, time.UTC),
		Customer:  cust, Quote: quote, AppointmentID: apptID,
	}
	appt := Appointment{
		ID: apptID, TenantID: "acme-plumbing", ResourceID: "van-1", ServiceID: "drain-cleaning",
		ReservationID: holdID, ClaimID: uuid.MustParse("0195a3c5-0a11-7b2c-8d3e-4f5a6b7c8d9e"),
		Start: start, End: start.Add(90 * time.Minute), Status: "booked", Customer: cust, Quote: quote, Version: 3,
		ConfirmedAt:   time.Date(2026, 3, 16, 18, 2, 11, 500000000, time.UTC),
		UnconfirmedAt: time.Date(2026, 3, 17, 12, 30, 0, 0, time.UTC),
	}
	return []any{
		&PlaceHold{ID: holdID, ServiceID: "drain-cleaning", Start: start, Customer: cust},
		&HoldResponse{Hold: claim, Replayed: true, Err: &RuleError{Field: "start", Message: "outside business hours"}},
		&ReleaseHold{ID: holdID},
		&ReleaseResponse{Err: ErrAlreadyBooked},
		&ConfirmHold{ID: holdID},
		&CancelAppointment{ID: apptID},
		&RescheduleAppointment{ID: apptID, Start: start.Add(48 * time.Hour), NewClaimID: RescheduleClaimID("acme-plumbing", "resched-7")},
		&ConfirmAttendance{ID: apptID},
		&FlagUnconfirmed{ID: apptID, Version: 3},
		&AppointmentResponse{Appointment: appt, Err: ErrGone},
		&SlotsRequest{ServiceID: "drain-cleaning", From: start, To: start.Add(72 * time.Hour), Limit: 3},
		&SlotsResponse{
			ResourceID: "van-1", Slots: []time.Time{start, start.Add(2 * time.Hour), start.Add(24 * time.Hour)},
			Duration: 90 * time.Minute, Withheld: "calendar_stale",
			Err: errors.New("load resource van-1: connection refused"),
		},
		&BusyTimeImported{
			Busy:   []Interval{{Start: start, End: start.Add(time.Hour)}, {Start: start.Add(26 * time.Hour), End: start.Add(27*time.Hour + 30*time.Minute)}},
			ReadAt: time.Date(2026, 3, 17, 8, 0, 0, 987654321, time.UTC),
		},
		&ConfigChanged{},
		&FlushRequest{},
		&FlushResponse{},
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
	chicago := time.FixedZone("CDT", -5*60*60)
	now := time.Now().In(chicago) // a location and a monotonic reading, neither of which crosses
	got := hop(t, &SlotsResponse{Slots: []time.Time{{}, now}}).(*SlotsResponse)
	require.Equal(t, time.Time{}, got.Slots[0], "a zero slot stays zero")
	require.True(t, got.Slots[1].Equal(now), "got %v, want %v", got.Slots[1], now)
	require.Equal(t, time.UTC, got.Slots[1].Location())

	hold := hop(t, &HoldResponse{Hold: Claim{Start: now}}).(*HoldResponse)
	require.True(t, hold.Hold.Start.Equal(now))
	require.Equal(t, time.Time{}, hold.Hold.ExpiresAt, "a zero time stays zero")
	require.Equal(t, time.Time{}, hold.Hold.End)
}

func TestWireKeepsEmptyValues(t *testing.T) {
	t.Parallel()
	for _, msg := range []any{&PlaceHold{}, &HoldResponse{}, &AppointmentResponse{}, &SlotsResponse{}, &BusyTimeImported{}, &SlotsRequest{}} {
		require.Equal(t, msg, hop(t, msg), "%T", msg)
	}
}

func TestWireErrors(t *testing.T) {
	t.Parallel()
	rule := &RuleError{Field: "start", Message: "off the 30-minute slot grid"}
	for _, sentinel := range []error{ErrConflict, ErrGone, ErrNotFound, ErrAlreadyBooked, ErrKeyReused, ErrCalendarStale, ErrResourceRetired} {
		got := hop(t, &ReleaseResponse{Err: sentinel}).(*ReleaseResponse).Err
		require.Same(t, sentinel, got, "the receiver's own sentinel value")

		wrapped := fmt.Errorf("van-1: %w", sentinel)
		got = hop(t, &ReleaseResponse{Err: wrapped}).(*ReleaseResponse).Err
		require.ErrorIs(t, got, sentinel)
		require.Equal(t, wrapped.Error(), got.Error())
	}

	got := hop(t, &HoldResponse{Err: rule}).(*HoldResponse).Err
	var re *RuleError
	require.ErrorAs(t, got, &re)
	require.Equal(t, *rule, *re)

	got = hop(t, &HoldResponse{Err: fmt.Errorf("availability of van-1: %w", rule)}).(*HoldResponse).Err
	re = nil
	require.ErrorAs(t, got, &re)
	require.Equal(t, *rule, *re)
	require.Equal(t, "availability of van-1: start: off the 30-minute slot grid", got.Error())

	opaque := fmt.Errorf("commit hold: %w", errors.New("pq: deadlock detected"))
	got = hop(t, &AppointmentResponse{Err: opaque}).(*AppointmentResponse).Err
	require.EqualError(t, got, opaque.Error())
	for _, sentinel := range []error{ErrConflict, ErrGone, ErrNotFound, ErrAlreadyBooked, ErrKeyReused, ErrCalendarStale, ErrResourceRetired} {
		require.NotErrorIs(t, got, sentinel)
	}
	require.False(t, errors.As(got, &re))

	require.NoError(t, hop(t, &SlotsResponse{}).(*SlotsResponse).Err, "nil stays nil")
}

// TestWireErrorCodes pins the codes: they are the wire format, shared with other nodes
// of other builds, and must never change meaning.
func TestWireErrorCodes(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]wirepb.ErrorCode{
		ErrConflict: 2, ErrGone: 3, ErrNotFound: 4, ErrAlreadyBooked: 5, ErrKeyReused: 6, ErrCalendarStale: 7, ErrResourceRetired: 8,
		&RuleError{Field: "f", Message: "m"}: 1, errors.New("anything else"): 0,
	} {
		require.Equal(t, want, ErrorToWire(err).GetCode(), "%v", err)
	}
	require.Nil(t, ErrorToWire(nil))
	// A code this build does not know (a newer node's) keeps its text.
	require.EqualError(t, ErrorFromWire(&wirepb.Error{Code: 99, Message: "new kind of failure"}), "new kind of failure")
}

func TestToWireRefuses(t *testing.T) {
	t.Parallel()
	for _, msg := range []any{
		&holdExpired{id: uuid.New()},
		&written{},
		PlaceHold{}, // a value: messages are pointers
		(*PlaceHold)(nil),
		&Claim{},
		"PlaceHold",
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
		&resourcepb.Claim{}, // a part, not a message
		&resourcepb.ConfirmHold{Id: []byte{1, 2, 3}},
		&resourcepb.HoldResponse{Hold: &resourcepb.Claim{AppointmentId: make([]byte, 17)}},
		&wirepb.Error{},
	} {
		_, err := FromWire(m)
		require.Error(t, err, "%T", m)
	}
}

// TestEveryMessageHasAWireForm fails when a message is added to messages.go, or to what
// the actor dispatches, without a wire form: on a cluster it would be dropped silently.
func TestEveryMessageHasAWireForm(t *testing.T) {
	t.Parallel()
	var have []string
	for _, msg := range wireSamples() {
		have = append(have, reflect.TypeOf(msg).Elem().Name())
	}
	files := wiretest.ParsePackage(t)

	var declared []string
	for _, d := range files["messages.go"].Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
			for _, s := range g.Specs {
				if name := s.(*ast.TypeSpec).Name.Name; ast.IsExported(name) {
					declared = append(declared, name)
				}
			}
		}
	}
	require.NotEmpty(t, declared)
	for _, name := range declared {
		require.Contains(t, have, name, "messages.go declares %s, which has no wire sample (and maybe no ToWire case)", name)
	}

	dispatched := wiretest.SwitchedTypes(files, "Receive", "handle")
	require.Contains(t, dispatched, "PlaceHold", "the dispatch methods were not found")
	for _, name := range dispatched {
		require.Contains(t, have, name, "the actor dispatches %s, which has no wire sample (and maybe no ToWire case)", name)
	}
}

// Postgres unreachable inside a resource actor on another node still reads as "try
// again" where the request came from.
func TestTransientErrorsStayTransientAcrossNodes(t *testing.T) {
	t.Parallel()
	sent := fmt.Errorf("load acme/mike: %w", context.DeadlineExceeded)
	w := ErrorToWire(sent)
	require.Equal(t, wirepb.ErrorCode_ERROR_CODE_UNAVAILABLE, w.GetCode())
	got := ErrorFromWire(w)
	require.ErrorIs(t, got, wirepb.ErrUnavailable)
	require.EqualError(t, got, sent.Error())
	require.Equal(t, wirepb.ErrorCode_ERROR_CODE_CONFLICT, ErrorToWire(ErrConflict).GetCode(), "a known error keeps its own code")
}
