package sync

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"ringback/actors"
	"ringback/actors/resource"
	"ringback/actors/sync/syncpb"
)

// wireCodec is the hosts' messages in their protobuf form, for a cluster.
var wireCodec actors.Codec = codec{}

type codec struct{}

// ToWire returns the protobuf form of a message a connection's host accepts from outside
// (or of its answer); an error for a message that never crosses nodes.
func (codec) ToWire(msg any) (proto.Message, error) {
	switch m := msg.(type) {
	case *Ensure:
		return &syncpb.Ensure{}, nil
	case *Retire:
		return &syncpb.Retire{}, nil
	case *kick:
		return &syncpb.Kick{}, nil
	case *VendorChange:
		return &syncpb.VendorChange{Key: m.Key, Kind: m.Kind, ItemId: m.ItemID, Deleted: m.Deleted}, nil
	case *readCalendars:
		return &syncpb.ReadCalendars{}, nil
	case *calendarsRead:
		return &syncpb.CalendarsRead{Err: resource.ErrorToWire(m.err)}, nil
	}
	return nil, fmt.Errorf("sync: %T has no wire form", msg)
}

// FromWire returns the Go message of a protobuf one.
func (codec) FromWire(m proto.Message) (any, error) {
	switch w := m.(type) {
	case *syncpb.Ensure:
		return &Ensure{}, nil
	case *syncpb.Retire:
		return &Retire{}, nil
	case *syncpb.Kick:
		return &kick{}, nil
	case *syncpb.VendorChange:
		return &VendorChange{Key: w.GetKey(), Kind: w.GetKind(), ItemID: w.GetItemId(), Deleted: w.GetDeleted()}, nil
	case *syncpb.ReadCalendars:
		return &readCalendars{}, nil
	case *syncpb.CalendarsRead:
		return &calendarsRead{err: resource.ErrorFromWire(w.GetErr())}, nil
	}
	return nil, fmt.Errorf("sync: no Go form for %T", m)
}
