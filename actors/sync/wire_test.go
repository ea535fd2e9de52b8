package sync

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	"ringback/actors/resource"
)

// Every message a host accepts from outside, and its answer, crosses a remote hop as the
// remote layer carries it (marshalled, found by name, unmarshalled) and comes back equal.
func TestHostMessagesRoundTripTheWire(t *testing.T) {
	t.Parallel()
	for _, msg := range []any{
		&Ensure{}, &Retire{}, &kick{}, &readCalendars{},
		&VendorChange{Key: "VISIT_UPDATE|Z2lk|2026-03-02T10:00:00Z", Kind: "VISIT_UPDATE", ItemID: "Z2lk", Deleted: true},
		&calendarsRead{}, &calendarsRead{err: errors.New("google: free/busy: 503")},
	} {
		w, err := wireCodec.ToWire(msg)
		require.NoError(t, err, "%T", msg)
		raw, err := proto.Marshal(w)
		require.NoError(t, err)
		mt, err := protoregistry.GlobalTypes.FindMessageByName(w.ProtoReflect().Descriptor().FullName())
		require.NoError(t, err)
		back := mt.New().Interface()
		require.NoError(t, proto.Unmarshal(raw, back))
		got, err := wireCodec.FromWire(back)
		require.NoError(t, err)
		if cr, ok := msg.(*calendarsRead); ok && cr.err != nil {
			require.EqualError(t, got.(*calendarsRead).err, cr.err.Error())
			continue
		}
		require.Equal(t, msg, got)
	}
	cr, err := wireCodec.ToWire(&calendarsRead{err: resource.ErrCalendarStale})
	require.NoError(t, err)
	got, err := wireCodec.FromWire(cr)
	require.NoError(t, err)
	require.ErrorIs(t, got.(*calendarsRead).err, resource.ErrCalendarStale)

	_, err = wireCodec.ToWire(&settleRequest{})
	require.Error(t, err, "a local-only message has no wire form")
}
