package sync

import "ringback/actors"

// wireCodec is the kind's protobuf form (see wire.go); nil until it is written.
var wireCodec actors.Codec
