package resource

import (
	"google.golang.org/protobuf/proto"

	"ringback/actors"
)

// wireCodec is the kind's protobuf form for a cluster (ToWire and FromWire).
var wireCodec actors.Codec = codec{}

type codec struct{}

func (codec) ToWire(msg any) (proto.Message, error) { return ToWire(msg) }
func (codec) FromWire(m proto.Message) (any, error) { return FromWire(m) }
